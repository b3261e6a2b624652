// SPDX-License-Identifier: BSD-2-Clause
//
// A machine's life cycle as docker users expect it, through vmctl and a
// real vmruntimed: stop asks the guest first (Ctrl-Alt-Del, which
// guests/hello answers by powering off) and powers off after its timeout,
// kill does at once, delete refuses a running machine unless forced,
// restart, autostart with the daemon, run -d, and the checks create makes.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "daemon.h"

namespace vmruntime::testing {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr const char* kShutdownLine = "ctrl-alt-del: powering off";

class LifecycleTest : public DaemonFixture {
protected:
    // Machine `name` from guests/hello, started, its banner seen (so its
    // keyboard interrupt is on).
    void run_hello(const std::string& name, const std::vector<std::string>& extra = {})
    {
        std::vector<std::string> args = {"create", name, HELLO_ELF, "--memory", "8", "--cmdline", "exit=5"};
        args.insert(args.end(), extra.begin(), extra.end());
        auto created = vmctl(args);
        ASSERT_EQ(created.exit_code, 0) << created.err;
        auto started = vmctl({"start", name});
        ASSERT_EQ(started.exit_code, 0) << started.err;
        ASSERT_NE(console(name, kBanner).find(kBanner), std::string::npos);
    }

    v1::MachineInfo get(const std::string& name)
    {
        v1::GetResponse resp;
        EXPECT_TRUE(call_by_name(*stub_, &v1::Machines::Stub::Get, name, &resp, 30s).ok()) << name;
        return resp.machine();
    }

    // Polls until `name` is in `state`, for at most `timeout`.
    bool wait_for_state(const std::string& name, v1::MachineState state, std::chrono::seconds timeout)
    {
        for (auto end = Clock::now() + timeout; Clock::now() < end; std::this_thread::sleep_for(50ms)) {
            if (get(name).state() == state) {
                return true;
            }
        }
        return false;
    }
};

TEST_F(LifecycleTest, StopAsksTheGuestToShutDownFirst)
{
    run_hello("polite");
    const auto asked = Clock::now();
    auto stopped = vmctl({"stop", "polite"});
    const auto took = Clock::now() - asked;
    ASSERT_EQ(stopped.exit_code, 0) << stopped.err;
    EXPECT_NE(stopped.out.find("state:    stopped"), std::string::npos) << stopped.out;
    EXPECT_EQ(stopped.out.find("forced"), std::string::npos) << "the guest shut down by itself: " << stopped.out;
    EXPECT_LT(took, 5s) << "not the 10 s timeout";
    const v1::MachineInfo info = get("polite");
    EXPECT_EQ(info.exit_status(), 5u) << info.reason();
    EXPECT_NE(console("polite", kShutdownLine).find(kShutdownLine), std::string::npos);
}

TEST_F(LifecycleTest, StopPowersOffAPausedGuestAtOnce)
{
    run_hello("asleep");
    ASSERT_EQ(vmctl({"pause", "asleep"}).exit_code, 0);
    const auto asked = Clock::now();
    auto stopped = vmctl({"--json", "stop", "asleep"});
    EXPECT_LT(Clock::now() - asked, 5s);
    ASSERT_EQ(stopped.exit_code, 0) << stopped.err;
    EXPECT_NE(stopped.out.find("\"forced\":true"), std::string::npos) << stopped.out;
    EXPECT_EQ(console("asleep", kShutdownLine).find(kShutdownLine), std::string::npos);
}

TEST_F(LifecycleTest, KillPowersOffWithoutAsking)
{
    run_hello("rude");
    auto killed = vmctl({"kill", "rude"});
    ASSERT_EQ(killed.exit_code, 0) << killed.err;
    EXPECT_NE(killed.out.find("state:    stopped"), std::string::npos) << killed.out;
    EXPECT_EQ(get("rude").exit_status(), 0u) << "powered off by the daemon, not by the guest's exit=5";
    EXPECT_EQ(console("rude", kShutdownLine).find(kShutdownLine), std::string::npos) << "it was not asked";
    auto again = vmctl({"kill", "rude"});
    EXPECT_EQ(again.exit_code, 1);
    EXPECT_NE(again.err.find("FAILED_PRECONDITION"), std::string::npos) << again.err;
}

TEST_F(LifecycleTest, DeleteRefusesARunningMachineUnlessForced)
{
    ASSERT_EQ(vmctl({"create", "idle", HELLO_ELF, "--memory", "8"}).exit_code, 0);
    EXPECT_EQ(vmctl({"rm", "idle"}).exit_code, 0) << "a machine never started needs no force";

    run_hello("busy");
    auto refused = vmctl({"rm", "busy"});
    EXPECT_EQ(refused.exit_code, 1);
    EXPECT_NE(refused.err.find("it is running (stop it first, or force the delete)"), std::string::npos)
        << refused.err;
    EXPECT_EQ(get("busy").state(), v1::MACHINE_STATE_RUNNING) << "the refusal changed nothing";
    ASSERT_EQ(vmctl({"pause", "busy"}).exit_code, 0);
    EXPECT_EQ(vmctl({"delete", "busy"}).exit_code, 1) << "paused counts as running";
    EXPECT_EQ(vmctl({"rm", "-f", "busy"}).exit_code, 0);
    EXPECT_EQ(vmctl({"get", "busy"}).exit_code, 1);

    run_hello("done");
    ASSERT_EQ(vmctl({"stop", "done"}).exit_code, 0);
    EXPECT_EQ(vmctl({"delete", "done"}).exit_code, 0) << "a stopped machine needs no force";
}

TEST_F(LifecycleTest, RestartShutsDownThenStartsAfresh)
{
    run_hello("again");
    auto restarted = vmctl({"restart", "again", "--timeout", "5s"});
    ASSERT_EQ(restarted.exit_code, 0) << restarted.err;
    EXPECT_NE(restarted.out.find("state:    running"), std::string::npos) << restarted.out;
    EXPECT_LT(get("again").uptime_ns(), uint64_t{5'000'000'000});
    EXPECT_NE(console("again", kBanner).find(kBanner), std::string::npos) << "a fresh boot";

    ASSERT_EQ(vmctl({"kill", "again"}).exit_code, 0);
    auto from_stopped = vmctl({"restart", "again"});
    ASSERT_EQ(from_stopped.exit_code, 0) << from_stopped.err;
    EXPECT_EQ(get("again").state(), v1::MACHINE_STATE_RUNNING) << "a stopped machine is simply started";
    EXPECT_EQ(vmctl({"restart", "ghost"}).exit_code, 1);
}

TEST_F(LifecycleTest, StopTimeoutsAreDurations)
{
    run_hello("t");
    for (const char* bad : {"11m", "ten", "5h", "-1"}) {
        auto refused = vmctl({"stop", "t", "--timeout", bad});
        EXPECT_EQ(refused.exit_code, 2) << bad;
        EXPECT_NE(refused.err.find("--timeout takes a duration"), std::string::npos) << refused.err;
    }
    EXPECT_EQ(get("t").state(), v1::MACHINE_STATE_RUNNING);
    auto stopped = vmctl({"--json", "stop", "t", "--timeout", "0"});
    EXPECT_NE(stopped.out.find("\"forced\":true"), std::string::npos) << "0 does not wait: " << stopped.out;
}

TEST_F(LifecycleTest, AutostartMachinesStartWithTheDaemon)
{
    ASSERT_EQ(vmctl({"create", "boot", HELLO_ELF, "--memory", "8", "--autostart"}).exit_code, 0);
    ASSERT_EQ(vmctl({"create", "manual", HELLO_ELF, "--memory", "8"}).exit_code, 0);
    EXPECT_NE(vmctl({"--json", "get", "boot"}).out.find("\"autostart\":true"), std::string::npos);
    EXPECT_EQ(get("boot").state(), v1::MACHINE_STATE_CREATED) << "create alone starts nothing";

    EXPECT_EQ(daemon_.stop(), 0);
    ASSERT_TRUE(daemon_.start()) << daemon_.log();
    connect();
    EXPECT_TRUE(wait_for_state("boot", v1::MACHINE_STATE_RUNNING, 30s)) << daemon_.log();
    EXPECT_NE(console("boot", kBanner).find(kBanner), std::string::npos);
    EXPECT_EQ(get("manual").state(), v1::MACHINE_STATE_STOPPED);
}

TEST_F(LifecycleTest, RunDetachedStartsTheMachineAndReturns)
{
    auto ran = vmctl({"run", HELLO_ELF, "--name", "bg", "-d", "--memory", "8"});
    ASSERT_EQ(ran.exit_code, 0) << ran.err;
    EXPECT_NE(ran.out.find("state:    running"), std::string::npos) << ran.out;
    EXPECT_EQ(ran.out.find(kBanner), std::string::npos) << "no console attached: " << ran.out;
    EXPECT_NE(console("bg", kBanner).find(kBanner), std::string::npos);
    auto both = vmctl({"run", HELLO_ELF, "--name", "bg2", "--detach", "--rm"});
    EXPECT_EQ(both.exit_code, 2) << both.err;
    EXPECT_EQ(vmctl({"get", "bg2"}).exit_code, 1) << "nothing was created";
}

TEST_F(LifecycleTest, CpusTheHostLacksAreRefused)
{
    auto refused = vmctl({"create", "pinned", HELLO_ELF, "--cpus", "0,1000"});
    EXPECT_EQ(refused.exit_code, 1);
    EXPECT_NE(refused.err.find("host CPU 1000 is not one this daemon may use"), std::string::npos) << refused.err;
    EXPECT_EQ(vmctl({"get", "pinned"}).exit_code, 1) << "nothing was created";
}

}  // namespace
}  // namespace vmruntime::testing
