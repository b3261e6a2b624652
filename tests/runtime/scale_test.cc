// SPDX-License-Identifier: BSD-2-Clause
//
// Two hundred guests/hello machines in one process: all of them tick to
// their end, and while they all sleep in HLT (no PIT, waiting for UART
// input) the process costs next to no CPU.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "guest_images.h"
#include "runtime_test.h"

namespace vmruntime::runtime_test {
namespace {

using runtime::Machine;
using runtime::MachineState;

constexpr int kMachines = 200;
constexpr double kMaxIdleCpuShare = 0.05;  // of one core
constexpr auto kIdleWindow = 2s;

double process_cpu_seconds()
{
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    auto seconds = [](const timeval& tv) { return static_cast<double>(tv.tv_sec) + tv.tv_usec / 1e6; };
    return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

class ScaleTest : public RuntimeTest {
protected:
    // Boots kMachines machines; machine i gets `cmdline` and exit=i.
    void boot_all(const std::string& cmdline)
    {
        for (int i = 0; i < kMachines; i++) {
            std::string name = "m" + std::to_string(i);
            auto m = boot(hello_spec(name, cmdline + " exit=" + std::to_string(i)));
            ASSERT_TRUE(m) << "machine " << i;
            machines_.push_back(std::move(m));
        }
    }

    void expect_all_powered_off(std::chrono::seconds timeout)
    {
        auto deadline = std::chrono::steady_clock::now() + timeout;
        for (int i = 0; i < kMachines; i++) {
            Machine& m = *machines_[i];
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            ASSERT_TRUE(m.wait(std::max(left, std::chrono::milliseconds(1))))
                << "machine " << i << ": " << describe(m.status());
            EXPECT_EQ(m.status().state, MachineState::Stopped) << "machine " << i;
            EXPECT_EQ(m.status().exit_status, static_cast<uint32_t>(i)) << describe(m.status());
        }
    }

    std::vector<std::unique_ptr<Machine>> machines_;
};

TEST_F(ScaleTest, TwoHundredMachinesTickToTheirEnd)
{
    auto begin = std::chrono::steady_clock::now();
    boot_all("ticks=100 hz=100");
    expect_all_powered_off(90s);
    std::chrono::duration<double> took = std::chrono::steady_clock::now() - begin;
    for (int i = 0; i < kMachines; i++) {
        EXPECT_NE(console_text(machines_[i]->console()).find("done 100 ticks"), std::string::npos)
            << "machine " << i;
        EXPECT_GE(machines_[i]->exit_counters().interrupts, 100u) << "machine " << i;
    }
    std::printf("%d machines booted and ticked 100 times at 100 Hz in %.2f s\n", kMachines, took.count());
}

TEST_F(ScaleTest, TwoHundredIdleMachinesCostUnderFivePercentOfACore)
{
    boot_all("idle");
    // The first HLT comes after the guest's set-up: from then on it only
    // waits for input.
    for (int i = 0; i < kMachines; i++) {
        Machine& m = *machines_[i];
        ASSERT_TRUE(wait_until([&] { return m.exit_counters().halted > 0; }, 60s)) << "machine " << i;
    }
    uint64_t exits_before = 0;
    for (auto& m : machines_) {
        exits_before += m->exit_counters().io + m->exit_counters().halted;
    }
    double cpu_before = process_cpu_seconds();
    auto wall_before = std::chrono::steady_clock::now();
    std::this_thread::sleep_for(kIdleWindow);
    double cpu = process_cpu_seconds() - cpu_before;
    std::chrono::duration<double> wall = std::chrono::steady_clock::now() - wall_before;
    uint64_t exits_after = 0;
    for (auto& m : machines_) {
        exits_after += m->exit_counters().io + m->exit_counters().halted;
    }
    double share = cpu / wall.count();
    std::printf("%d idle machines: %.3f s CPU in %.3f s = %.2f %% of one core, %llu exits\n", kMachines,
                cpu, wall.count(), share * 100, static_cast<unsigned long long>(exits_after - exits_before));
    EXPECT_LT(share, kMaxIdleCpuShare);
    EXPECT_EQ(exits_after, exits_before) << "an idle guest should not exit at all";

    const uint8_t q = 'q';
    for (auto& m : machines_) {
        EXPECT_EQ(m->console_input({&q, 1}), 1u);
    }
    expect_all_powered_off(60s);
}

}  // namespace
}  // namespace vmruntime::runtime_test
