// SPDX-License-Identifier: BSD-2-Clause
//
// Snapshots of guests/hello under KVM: a restored machine goes on from
// where the snapshot was (its tick count, its sleep in HLT, its echo) while
// the original runs on apart; damaged, foreign or mismatched snapshots are
// refused with the reason.
#include <gtest/gtest.h>

#include <stdlib.h>
#include <unistd.h>

#include <cstring>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <fstream>
#include <regex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "guest_images.h"
#include "runtime_test.h"

namespace vmruntime::runtime_test {
namespace {

using runtime::MachineState;
using runtime::Outcome;
using runtime::SnapshotDefect;
namespace fs = std::filesystem;

std::span<const uint8_t> bytes_of(const std::string& s)
{
    return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// The numbers of the "tick N" lines in `console`, complete lines only.
std::vector<uint64_t> tick_lines(const std::string& console)
{
    static const std::regex line("tick (\\d+)\r\n");
    std::vector<uint64_t> ticks;
    for (std::sregex_iterator it(console.begin(), console.end(), line), end; it != end; ++it) {
        ticks.push_back(std::stoull((*it)[1]));
    }
    return ticks;
}

// The memory file the snapshot in `dir` names (there is one at a time).
fs::path memory_file(const fs::path& dir)
{
    for (const auto& entry : fs::directory_iterator(dir)) {
        if (entry.path().filename().string().rfind("memory-", 0) == 0) {
            return entry.path();
        }
    }
    return dir / "no memory file";
}

class SnapshotTest : public RuntimeTest {
protected:
    void SetUp() override
    {
        RuntimeTest::SetUp();
        char temp[] = "/tmp/vmruntime-snapshot-XXXXXX";
        ASSERT_NE(mkdtemp(temp), nullptr);
        dir_ = temp;
    }
    void TearDown() override { fs::remove_all(dir_); }

    // Pauses `m` and snapshots it into dir_/name; the console then, which
    // the snapshot's guest has printed.
    std::string snapshot(runtime::Machine& m, const std::string& name)
    {
        std::string error;
        EXPECT_EQ(m.pause(std::chrono::steady_clock::now() + 10s), Outcome::Done);
        EXPECT_EQ(m.snapshot(dir_ + "/" + name, &error), Outcome::Done) << error;
        return console_text(m.console());
    }

    std::unique_ptr<runtime::Machine> restore(const runtime::MachineSpec& spec, const std::string& name,
                                              SnapshotDefect* defect, std::string* error)
    {
        return runtime::Machine::restore(spec, dir_ + "/" + name, layer_, error, defect);
    }

    std::string dir_;
};

// The copy's console goes on where the original's was at the snapshot: the
// ticks it prints continue the original's, none repeated, none skipped.
TEST_F(SnapshotTest, RestoredGuestGoesOnTickingAndEchoesApartFromTheOriginal)
{
    const auto spec = hello_spec("original", "hz=200");
    auto original = boot(spec);
    ASSERT_TRUE(original);
    ASSERT_TRUE(wait_for_text(original->console(), "tick 200\r\n", 20s)) << console_text(original->console());
    const std::string before = snapshot(*original, "ticking");
    ASSERT_TRUE(original->resume());

    auto copy_spec = spec;
    copy_spec.name = "copy";
    std::string error;
    SnapshotDefect defect{};
    auto copy = restore(copy_spec, "ticking", &defect, &error);
    ASSERT_TRUE(copy) << error;
    EXPECT_EQ(defect, SnapshotDefect::None);
    ASSERT_TRUE(copy->start());
    const uint64_t last = tick_lines(before).back();
    ASSERT_TRUE(wait_for_text(copy->console(), "tick " + std::to_string(last + 400) + "\r\n", 20s))
        << console_text(copy->console());
    const std::string after = console_text(copy->console());
    EXPECT_EQ(after.find("vmruntime hello guest"), std::string::npos) << "the copy booted again:\n" << after;
    std::vector<uint64_t> ticks = tick_lines(before + after);
    for (size_t i = 1; i < ticks.size(); i++) {
        EXPECT_EQ(ticks[i], ticks[i - 1] + 200) << before << "| snapshot |" << after;
    }

    EXPECT_EQ(copy->console_input(bytes_of("COPY")), 4u);
    ASSERT_TRUE(wait_until([&] { return upper_case_only(console_text(copy->console())) == "COPY"; }, 10s))
        << console_text(copy->console());
    EXPECT_EQ(original->console_input(bytes_of("ORIG")), 4u);
    ASSERT_TRUE(wait_until([&] { return upper_case_only(console_text(original->console())) == "ORIG"; }, 10s))
        << console_text(original->console());
    EXPECT_EQ(upper_case_only(console_text(copy->console())), "COPY");
    EXPECT_EQ(original->status().state, MachineState::Running);
    EXPECT_EQ(copy->status().state, MachineState::Running);
}

// A guest asleep in HLT stays asleep in its copy until an interrupt wakes
// it: a restore (or a pause) is not an interrupt.
TEST_F(SnapshotTest, GuestHaltedAtTheSnapshotSleepsUntilItsInput)
{
    auto spec = hello_spec("sleeper", "idle exit=5");
    auto original = boot(spec);
    ASSERT_TRUE(original);
    ASSERT_TRUE(wait_for_text(original->console(), "rtc ", 10s));
    std::this_thread::sleep_for(100ms);  // into its HLT
    snapshot(*original, "idle");
    std::string error;
    nvmm_x64_state saved{};
    ASSERT_EQ(original->get_state(0, NVMM_X64_STATE_ALL, &saved, &error), Outcome::Done) << error;
    original->stop();

    auto copy = restore(spec, "idle", nullptr, &error);
    ASSERT_TRUE(copy) << error;
    ASSERT_TRUE(copy->start(true));
    EXPECT_EQ(copy->status().state, MachineState::Paused);
    nvmm_x64_state restored{};
    ASSERT_EQ(copy->get_state(0, NVMM_X64_STATE_ALL, &restored, &error), Outcome::Done) << error;
    EXPECT_EQ(std::memcmp(restored.gprs, saved.gprs, sizeof saved.gprs), 0);
    EXPECT_EQ(std::memcmp(restored.crs, saved.crs, sizeof saved.crs), 0);
    EXPECT_EQ(std::memcmp(restored.segs, saved.segs, sizeof saved.segs), 0);
    EXPECT_EQ(std::memcmp(&restored.fpu, &saved.fpu, sizeof saved.fpu), 0);
    ASSERT_TRUE(copy->resume());
    std::this_thread::sleep_for(200ms);
    EXPECT_EQ(console_text(copy->console()), "");
    const auto asleep = copy->exit_counters();
    EXPECT_EQ(asleep.io + asleep.halted, 0u) << "the copy ran out of its HLT";
    EXPECT_EQ(copy->console_input(bytes_of("Zq")), 2u);
    ASSERT_TRUE(copy->wait(10s)) << describe(copy->status());
    EXPECT_EQ(copy->status().exit_status, 5u) << describe(copy->status());
    EXPECT_EQ(console_text(copy->console()), "Zq\r\nbye\r\n");
}

// The state names the memory written with it: saving again into the same
// directory leaves one pair, the new one.
TEST_F(SnapshotTest, SavingAgainReplacesThePairWhole)
{
    auto m = boot(hello_spec("twice", "idle"));
    ASSERT_TRUE(m);
    ASSERT_TRUE(wait_for_text(m->console(), "rtc ", 10s));
    snapshot(*m, "s");
    const fs::path first = memory_file(dir_ + "/s");
    ASSERT_TRUE(m->resume());
    snapshot(*m, "s");
    const fs::path second = memory_file(dir_ + "/s");
    EXPECT_NE(first, second);
    EXPECT_FALSE(fs::exists(first));
    size_t files = 0;
    for ([[maybe_unused]] const auto& entry : fs::directory_iterator(dir_ + "/s")) {
        files++;
    }
    EXPECT_EQ(files, 2u) << "state and one memory file";
    std::string error;
    EXPECT_TRUE(restore(hello_spec("again", "idle"), "s", nullptr, &error)) << error;
}

TEST_F(SnapshotTest, OnlyAPausedMachineIsSaved)
{
    auto m = boot(hello_spec("running", "hz=100"));
    ASSERT_TRUE(m);
    std::string error;
    EXPECT_EQ(m->snapshot(dir_ + "/s", &error), Outcome::Refused);
    EXPECT_NE(error.find("paused"), std::string::npos) << error;
    EXPECT_FALSE(fs::exists(dir_ + "/s"));
}

std::vector<uint8_t> file_bytes(const fs::path& file)
{
    std::ifstream in(file, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// What the mapping at `start` costs, from /proc/self/smaps: its resident
// pages, and those of them that are the process's own (written, so copied).
struct MappingCost {
    uint64_t rss_kib = 0;
    uint64_t anonymous_kib = 0;
};

MappingCost mapping_cost(const void* start)
{
    char head[32];
    std::snprintf(head, sizeof head, "%lx-", reinterpret_cast<unsigned long>(start));
    std::ifstream smaps("/proc/self/smaps");
    MappingCost cost;
    bool inside = false;
    for (std::string line; std::getline(smaps, line);) {
        if (line.find('-') < line.find(' ') && line.find(':') > line.find(' ')) {
            inside = line.rfind(head, 0) == 0;  // a mapping's first line
        } else if (inside && line.rfind("Rss:", 0) == 0) {
            cost.rss_kib = std::stoull(line.substr(4));
        } else if (inside && line.rfind("Anonymous:", 0) == 0) {
            cost.anonymous_kib = std::stoull(line.substr(10));
        }
    }
    return cost;
}

// The guest sleeps in HLT at the snapshot, so right after a reset nothing
// runs until input comes: RAM and registers must be the snapshot's exactly,
// whether the machine was running or paused.  In between, an echo writes
// the guest's receive ring and stack.
TEST_F(SnapshotTest, ResetReturnsMemoryAndRegistersToTheSnapshotEveryTime)
{
    auto spec = hello_spec("resettable", "idle");
    auto original = boot(spec);
    ASSERT_TRUE(original);
    ASSERT_TRUE(wait_for_text(original->console(), "rtc ", 10s));
    std::this_thread::sleep_for(100ms);
    snapshot(*original, "idle");
    original->stop();
    const std::vector<uint8_t> memory = file_bytes(memory_file(dir_ + "/idle"));
    ASSERT_EQ(memory.size(), spec.memory_bytes);

    std::string error;
    auto m = restore(spec, "idle", nullptr, &error);
    ASSERT_TRUE(m) << error;
    ASSERT_TRUE(m->start(true));
    nvmm_x64_state saved{};
    ASSERT_EQ(m->get_state(0, NVMM_X64_STATE_ALL, &saved, &error), Outcome::Done) << error;
    ASSERT_TRUE(m->resume());

    const int resets = kUnderTsan ? 500 : 10000;
    uint64_t pages = 0, total = 0;
    for (int i = 0; i < resets; i++) {
        const bool paused = i % 10 == 0;
        ASSERT_TRUE(!paused || m->pause() == Outcome::Done) << i;
        ASSERT_EQ(m->reset(&error, std::chrono::steady_clock::now() + 10s, &pages), Outcome::Done) << i << error;
        ASSERT_EQ(m->status().state, paused ? MachineState::Paused : MachineState::Running) << i;
        ASSERT_TRUE(i == 0 || pages > 0) << "the echo before reset " << i << " wrote nothing";
        total += pages;
        ASSERT_EQ(std::memcmp(m->ram(), memory.data(), memory.size()), 0) << "RAM differs after reset " << i;
        nvmm_x64_state now{};
        ASSERT_EQ(m->get_state(0, NVMM_X64_STATE_ALL, &now, &error), Outcome::Done) << error;
        ASSERT_EQ(std::memcmp(now.gprs, saved.gprs, sizeof saved.gprs), 0) << "registers differ after reset " << i;
        ASSERT_EQ(std::memcmp(now.segs, saved.segs, sizeof saved.segs), 0) << i;
        ASSERT_TRUE(!paused || m->resume()) << i;
        const uint64_t before = m->console().end_offset();
        ASSERT_EQ(m->console_input(bytes_of("R")), 1u);
        ASSERT_TRUE(wait_until([&] { return m->console().end_offset() > before; }, 10s)) << "no echo after reset " << i;
    }
    std::printf("%d resets, %.1f pages restored per reset\n", resets, static_cast<double>(total) / resets);
    EXPECT_EQ(m->status().state, MachineState::Running) << describe(m->status());
}

TEST_F(SnapshotTest, OnlyARestoredMachineCanBeReset)
{
    auto m = boot(hello_spec("booted", "idle"));
    ASSERT_TRUE(m);
    std::string error;
    EXPECT_EQ(m->reset(&error), Outcome::Refused);
    EXPECT_NE(error.find("not restored from a snapshot"), std::string::npos) << error;
}

// Clones share the snapshot's memory until they write it: a snapshot of a
// guest whose RAM is full costs each clone only the pages it writes (its
// RAM mapping's anonymous pages) and those it reads.
TEST_F(SnapshotTest, ClonesRunApartAndShareTheSnapshotsMemory)
{
    auto spec = hello_spec("template", "idle");
    spec.memory_bytes = 32 << 20;
    auto original = boot(spec);
    ASSERT_TRUE(original);
    ASSERT_TRUE(wait_for_text(original->console(), "rtc ", 10s));
    std::memset(original->ram() + (8 << 20), 0x5a, 24 << 20);  // above the guest: as if it had filled its RAM
    snapshot(*original, "full");
    original->stop();

    const size_t clones = kUnderTsan ? 20 : 100;
    std::vector<std::unique_ptr<runtime::Machine>> fleet;
    for (size_t i = 0; i < clones; i++) {
        auto clone_spec = spec;
        clone_spec.name = "clone-" + std::to_string(i);
        std::string error;
        fleet.push_back(restore(clone_spec, "full", nullptr, &error));
        ASSERT_TRUE(fleet.back()) << error;
        ASSERT_TRUE(fleet.back()->start());
    }
    for (size_t i = 0; i < clones; i++) {
        const std::string letter(1, static_cast<char>('A' + i % 26));
        ASSERT_EQ(fleet[i]->console_input(bytes_of(letter)), 1u);
    }
    for (size_t i = 0; i < clones; i++) {
        const std::string letter(1, static_cast<char>('A' + i % 26));
        ASSERT_TRUE(wait_until([&] { return upper_case_only(console_text(fleet[i]->console())) == letter; }, 10s))
            << "clone " << i << ": " << console_text(fleet[i]->console());
    }
    MappingCost total;
    for (const auto& clone : fleet) {
        const MappingCost cost = mapping_cost(clone->ram());
        EXPECT_LT(cost.rss_kib, 1024u) << "a clone mapped the snapshot's memory it did not touch";
        EXPECT_LT(cost.anonymous_kib, 256u) << "a clone copied memory it did not write";
        total.rss_kib += cost.rss_kib;
        total.anonymous_kib += cost.anonymous_kib;
    }
    std::printf("%zu clones of a 32 MiB machine with 24 MiB written: RAM resident %lu KiB, written %lu KiB each\n",
                clones, static_cast<unsigned long>(total.rss_kib / clones),
                static_cast<unsigned long>(total.anonymous_kib / clones));
    EXPECT_GT(total.anonymous_kib, 0u) << "the echoes wrote to the clones' memory";
    EXPECT_EQ(fleet[0]->ram()[24 << 20], 0x5a);
}

void rewrite(const fs::path& file, const std::function<void(std::string&)>& change)
{
    std::ifstream in(file, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    in.close();
    change(bytes);
    std::ofstream(file, std::ios::binary | std::ios::trunc) << bytes;
}

TEST_F(SnapshotTest, DamagedForeignOrMismatchedSnapshotsAreRefused)
{
    const auto spec = hello_spec("source", "hz=100");
    auto m = boot(spec);
    ASSERT_TRUE(m);
    ASSERT_TRUE(wait_for_text(m->console(), "rtc ", 10s));
    snapshot(*m, "good");
    m->stop();

    struct Case {
        const char* name;
        SnapshotDefect defect;
        std::function<void(const fs::path&)> damage;
        const char* says;
    };
    auto state = [](auto change) { return [=](const fs::path& d) { rewrite(d / "state", change); }; };
    const std::vector<Case> cases = {
        {"flipped", SnapshotDefect::Corrupt, state([](std::string& b) { b[b.size() / 2] ^= 1; }), "checksum"},
        {"truncated", SnapshotDefect::Corrupt, state([](std::string& b) { b.resize(b.size() - 9); }), "checksum"},
        {"empty", SnapshotDefect::Foreign, state([](std::string& b) { b.clear(); }), "magic"},
        {"foreign", SnapshotDefect::Foreign, state([](std::string& b) { b[0] = 'X'; }), "magic"},
        {"future", SnapshotDefect::Foreign, state([](std::string& b) { b[8] = 2; }), "version 2"},
        {"short-memory", SnapshotDefect::Corrupt,
         [](const fs::path& d) { fs::resize_file(memory_file(d), fs::file_size(memory_file(d)) - 4096); }, "size"},
        {"no-memory", SnapshotDefect::Missing, [](const fs::path& d) { fs::remove(memory_file(d)); }, "memory-"},
        {"memory-renamed", SnapshotDefect::Missing,
         [](const fs::path& d) { fs::rename(memory_file(d), d / "memory-0123456789abcdef"); }, "memory-"},
        {"no-state", SnapshotDefect::Missing, [](const fs::path& d) { fs::remove(d / "state"); }, "state"},
    };
    for (const Case& c : cases) {
        fs::copy(dir_ + "/good", dir_ + "/" + c.name);
        c.damage(dir_ + "/" + c.name);
        std::string error;
        SnapshotDefect defect{};
        EXPECT_FALSE(restore(spec, c.name, &defect, &error)) << c.name;
        EXPECT_EQ(defect, c.defect) << c.name << ": " << error;
        EXPECT_NE(error.find(c.says), std::string::npos) << c.name << ": " << error;
    }

    std::string error;
    SnapshotDefect defect{};
    auto bigger = spec;
    bigger.memory_bytes *= 2;
    EXPECT_FALSE(restore(bigger, "good", &defect, &error));
    EXPECT_EQ(defect, SnapshotDefect::Mismatch) << error;
    EXPECT_FALSE(restore(spec, "absent", &defect, &error));
    EXPECT_EQ(defect, SnapshotDefect::Missing) << error;
    auto copy = restore(spec, "good", &defect, &error);
    EXPECT_TRUE(copy) << error;
}

}  // namespace
}  // namespace vmruntime::runtime_test
