// SPDX-License-Identifier: BSD-2-Clause
//
// Registers read and written while the guest runs: Machine::get_state and
// set_state are served on the vCPU's own thread at its next exit, so they
// must work on a guest that makes no exits of its own (guests/reg_watch.S,
// a counting loop) as well as on one that sleeps in HLT (guests/hello).
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <optional>
#include <string>
#include <thread>

#include "guest_images.h"
#include "runtime_test.h"
#include "vmruntime/runtime/state_rules.h"

GUEST_IMAGE(reg_watch);

namespace vmruntime::runtime_test {
namespace {

using runtime::Machine;
using runtime::MachineState;

using StateTest = RuntimeTest;

AddressRange reg_watch_range()
{
    return {kFlatLoadAddress, kFlatLoadAddress + (reg_watch_end - reg_watch_begin)};
}

nvmm_x64_state read_gprs(Machine& m)
{
    nvmm_x64_state state{};
    std::string error;
    EXPECT_EQ(m.get_state(0, NVMM_X64_STATE_GPRS, &state, &error), runtime::Outcome::Done) << error;
    return state;
}

// Waits until the guest's loop counter has moved past `after`.
uint64_t counter_past(Machine& m, uint64_t after)
{
    uint64_t rbx = 0;
    wait_until([&] { return (rbx = read_gprs(m).gprs[NVMM_X64_GPR_RBX]) > after; }, 10s);
    return rbx;
}

TEST_F(StateTest, ReadsRegistersOfARunningGuest)
{
    auto m = boot(flat_spec("reg-read", GUEST_BYTES(reg_watch)));
    ASSERT_TRUE(m);
    uint64_t first = counter_past(*m, 0);
    ASSERT_GT(first, 0u) << "the guest's counter never moved";
    uint64_t second = counter_past(*m, first);
    EXPECT_GT(second, first);
    for (int i = 0; i < 100; i++) {
        auto state = read_gprs(*m);
        ASSERT_TRUE(reg_watch_range().contains(state.gprs[NVMM_X64_GPR_RIP]))
            << std::hex << state.gprs[NVMM_X64_GPR_RIP];
        EXPECT_EQ(state.gprs[NVMM_X64_GPR_R12], 0u);
    }
    EXPECT_EQ(m->status().state, MachineState::Running);
    EXPECT_GT(m->exit_counters().stopped, 0u);  // the kicks that served the reads
    m->stop();
    EXPECT_EQ(m->status().state, MachineState::Stopped);
    EXPECT_EQ(m->status().reason, "stopped by request");
}

TEST_F(StateTest, RegisterWrittenWhileRunningReachesTheGuest)
{
    auto m = boot(flat_spec("reg-write", GUEST_BYTES(reg_watch)));
    ASSERT_TRUE(m);
    ASSERT_GT(counter_past(*m, 0), 0u);
    auto state = read_gprs(*m);
    state.gprs[NVMM_X64_GPR_R12] = 0xC0DE5EED;
    std::string error;
    ASSERT_EQ(m->set_state(0, NVMM_X64_STATE_GPRS, state, &error), runtime::Outcome::Done) << error;
    ASSERT_TRUE(m->wait(10s)) << describe(m->status());
    EXPECT_EQ(m->status().state, MachineState::Stopped);
    EXPECT_EQ(m->status().exit_status, 0xC0DE5EEDu) << describe(m->status());
}

TEST_F(StateTest, RegisterWrittenWhilePausedReachesTheGuestAfterResume)
{
    auto m = boot(flat_spec("reg-paused", GUEST_BYTES(reg_watch)));
    ASSERT_TRUE(m);
    ASSERT_GT(counter_past(*m, 0), 0u);
    ASSERT_EQ(m->pause(), runtime::Outcome::Done);
    auto paused = read_gprs(*m);
    EXPECT_EQ(read_gprs(*m).gprs[NVMM_X64_GPR_RBX], paused.gprs[NVMM_X64_GPR_RBX])
        << "the counter moved while paused";
    paused.gprs[NVMM_X64_GPR_R12] = 0x1234;
    std::string error;
    ASSERT_EQ(m->set_state(0, NVMM_X64_STATE_GPRS, paused, &error), runtime::Outcome::Done) << error;
    EXPECT_EQ(read_gprs(*m).gprs[NVMM_X64_GPR_R12], 0x1234u);
    EXPECT_EQ(m->status().state, MachineState::Paused);
    ASSERT_TRUE(m->resume());
    ASSERT_TRUE(m->wait(10s)) << describe(m->status());
    EXPECT_EQ(m->status().exit_status, 0x1234u) << describe(m->status());
}

TEST_F(StateTest, ReadsRegistersOfAHaltedGuest)
{
    auto m = boot(hello_spec("hello-regs", "hz=100 exit=2"));
    ASSERT_TRUE(m);
    ASSERT_TRUE(wait_until([&] { return m->exit_counters().halted > 10; }, 10s));
    auto code = elf_code_range(hello_image());
    ASSERT_TRUE(code);
    for (int i = 0; i < 100; i++) {
        auto state = read_gprs(*m);
        ASSERT_TRUE(code->contains(state.gprs[NVMM_X64_GPR_RIP]))
            << std::hex << state.gprs[NVMM_X64_GPR_RIP];
    }
    nvmm_x64_state state{};
    std::string error;
    ASSERT_EQ(m->get_state(0, NVMM_X64_STATE_SEGS | NVMM_X64_STATE_CRS, &state, &error), runtime::Outcome::Done) << error;
    EXPECT_TRUE(state.segs[NVMM_X64_SEG_CS].attrib.l) << "hello runs in 64-bit mode";
    EXPECT_NE(state.crs[NVMM_X64_CR_CR0] & (1ULL << 31), 0u) << "paging is on";
    m->stop();
}

// Another thread may ask for registers the moment the machine says it
// runs, before start() has returned.
TEST_F(StateTest, ReadsRegistersFromAnotherThreadDuringStart)
{
    for (int round = 0; round < 20; round++) {
        auto m = create(flat_spec("reg-start", GUEST_BYTES(reg_watch)));
        ASSERT_TRUE(m);
        std::atomic<bool> read{false};
        std::string error;
        std::thread reader([&] {
            nvmm_x64_state state{};
            while (m->status().state == MachineState::Created) {
            }
            read = m->get_state(0, NVMM_X64_STATE_GPRS, &state, &error) == runtime::Outcome::Done;
        });
        ASSERT_TRUE(m->start());
        reader.join();
        EXPECT_TRUE(read) << "round " << round << ": " << error;
        m->stop();
    }
}

// Registers KVM would refuse to run from, beyond what libnvmm corrects, are
// refused when written, the field at fault named, and nothing is written:
// the guest runs on, as it does after a write of good ones, and of ones
// libnvmm corrects (reserved bits of CR0, CR4 and DR7, XCR0 without x87).
TEST_F(StateTest, RegistersTheHostCannotRunAreRefusedAndNothingIsWritten)
{
    auto m = boot(flat_spec("reg-rules", GUEST_BYTES(reg_watch)));
    ASSERT_TRUE(m);
    ASSERT_GT(counter_past(*m, 0), 0u);
    ASSERT_EQ(m->pause(), runtime::Outcome::Done);
    nvmm_x64_state good{};
    std::string error;
    ASSERT_EQ(m->get_state(0, NVMM_X64_STATE_ALL, &good, &error), runtime::Outcome::Done) << error;
    ASSERT_EQ(runtime::unrunnable(good), std::nullopt) << "the guest's own state";

    struct Bad {
        const char* why;
        uint64_t flags;
        std::function<void(nvmm_x64_state&)> spoil;
    };
    const Bad bad[] = {
        {"cr0 sets PG without PE", NVMM_X64_STATE_CRS, [](auto& s) { s.crs[NVMM_X64_CR_CR0] &= ~1ULL; }},
        {"cr4 lacks PAE", NVMM_X64_STATE_CRS, [](auto& s) { s.crs[NVMM_X64_CR_CR4] &= ~(1ULL << 5); }},
        {"efer sets reserved bit 1", NVMM_X64_STATE_MSRS, [](auto& s) { s.msrs[NVMM_X64_MSR_EFER] |= 2; }},
        {"efer lacks LMA", NVMM_X64_STATE_MSRS, [](auto& s) { s.msrs[NVMM_X64_MSR_EFER] &= ~(1ULL << 10); }},
        {"efer sets LMA outside long mode", NVMM_X64_STATE_MSRS,
         [](auto& s) { s.msrs[NVMM_X64_MSR_EFER] &= ~(1ULL << 8); }},
    };
    for (const Bad& b : bad) {
        nvmm_x64_state state = good;
        b.spoil(state);
        state.gprs[NVMM_X64_GPR_R12] = 0xBAD;
        ASSERT_EQ(m->set_state(0, b.flags | NVMM_X64_STATE_GPRS, state, &error), runtime::Outcome::Invalid) << b.why;
        EXPECT_NE(error.find(b.why), std::string::npos) << error;
    }
    EXPECT_NE(read_gprs(*m).gprs[NVMM_X64_GPR_R12], 0xBADu) << "a refused write wrote something";

    nvmm_x64_state corrected = good;
    corrected.crs[NVMM_X64_CR_CR0] |= 1ULL << 40;
    corrected.crs[NVMM_X64_CR_CR4] |= 1ULL << 15;
    corrected.crs[NVMM_X64_CR_XCR0] = 0;
    corrected.drs[NVMM_X64_DR_DR7] |= 1ULL << 40;
    ASSERT_EQ(m->set_state(0, NVMM_X64_STATE_CRS | NVMM_X64_STATE_DRS, corrected, &error), runtime::Outcome::Done)
        << error;
    good.gprs[NVMM_X64_GPR_R12] = 0x600D;
    ASSERT_EQ(m->set_state(0, NVMM_X64_STATE_ALL, good, &error), runtime::Outcome::Done) << error;
    ASSERT_TRUE(m->resume());
    ASSERT_TRUE(m->wait(10s)) << describe(m->status());
    EXPECT_EQ(m->status().exit_status, 0x600Du) << describe(m->status());
}

}  // namespace
}  // namespace vmruntime::runtime_test
