// SPDX-License-Identifier: BSD-2-Clause
#include "runtime_test.h"

#include <sys/stat.h>

#include <cstdio>
#include <thread>

#include "guest_images.h"

namespace vmruntime::runtime_test {

void RuntimeTest::SetUp()
{
    struct stat st;
    if (stat("/dev/kvm", &st) == -1) {
        std::fprintf(stderr, "\n*** /dev/kvm is absent: SKIPPING every runtime test ***\n\n");
        GTEST_SKIP() << "/dev/kvm is absent: no guest can run";
    }
    ASSERT_FALSE(hello_image().empty()) << "cannot read " << VMRUNTIME_HELLO_ELF;
}

std::unique_ptr<runtime::Machine> RuntimeTest::create(const runtime::MachineSpec& spec)
{
    std::string error;
    auto machine = runtime::Machine::create(spec, layer_, &error);
    if (!machine) {
        ADD_FAILURE() << "creating machine " << spec.name << ": " << error;
    }
    return machine;
}

std::unique_ptr<runtime::Machine> RuntimeTest::boot(const runtime::MachineSpec& spec)
{
    auto machine = create(spec);
    if (machine && !machine->start()) {
        ADD_FAILURE() << "machine " << spec.name << " did not start";
        return nullptr;
    }
    return machine;
}

std::string console_text(const dev::ConsoleRing& ring)
{
    std::string text;
    uint64_t offset = ring.begin_offset();
    for (uint64_t end = ring.end_offset(); offset < end;) {
        auto chunk = ring.read(offset, end - offset);
        text.append(chunk.bytes.begin(), chunk.bytes.end());
        offset = chunk.offset + chunk.bytes.size();
    }
    return text;
}

bool wait_for_text(const dev::ConsoleRing& ring, std::string_view text,
                   std::chrono::milliseconds timeout)
{
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        uint64_t end = ring.end_offset();
        if (console_text(ring).find(text) != std::string::npos) {
            return true;
        }
        auto now = std::chrono::steady_clock::now();
        if (now >= deadline) {
            return false;
        }
        ring.wait_for(end, deadline - now);
    }
}

bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds timeout)
{
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
        if (std::chrono::steady_clock::now() >= deadline) {
            return false;
        }
        std::this_thread::sleep_for(1ms);
    }
    return true;
}

std::string describe(const runtime::MachineStatus& status)
{
    return std::string(runtime::to_string(status.state)) + " (status " +
           std::to_string(status.exit_status) + ", \"" + status.reason + "\")";
}

std::string upper_case_only(std::string_view text)
{
    std::string letters;
    for (char c : text) {
        if (c >= 'A' && c <= 'Z') {
            letters += c;
        }
    }
    return letters;
}

bool Typist::type(size_t n)
{
    std::string letters;
    for (size_t i = 0; i < n; i++) {
        letters += static_cast<char>('A' + typed_.size() % 26);
        typed_ += letters.back();
    }
    auto bytes = std::span(reinterpret_cast<const uint8_t*>(letters.data()), letters.size());
    return machine_.console_input(bytes) == n;
}

bool Typist::wait_for_room(std::chrono::milliseconds timeout)
{
    return wait_until([&] { return typed_.size() - echo().size() <= kBacklog; }, timeout);
}

bool Typist::wait_for_echo(std::chrono::milliseconds timeout)
{
    return wait_until([&] { return echo().size() >= typed_.size(); }, timeout);
}

std::string Typist::echo() const
{
    return upper_case_only(console_text(machine_.console()));
}

}  // namespace vmruntime::runtime_test
