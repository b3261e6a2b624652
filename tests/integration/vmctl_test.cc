// SPDX-License-Identifier: BSD-2-Clause
//
// vmctl as people and scripts read it, through a real vmruntimed: states
// and loaders as words, sizes and uptimes for people, JSON with numbers
// that jq can compute with and one object per line, flushed as it comes;
// list filters, the aliases docker users type, and --version.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "daemon.h"

namespace vmruntime::testing {
namespace {

class VmctlTest : public DaemonFixture {
protected:
    // Creates machine `name` from guests/hello.
    void create(const std::string& name, const std::string& cmdline = "")
    {
        auto created = vmctl({"create", name, HELLO_ELF, "--memory", "8", "--cmdline", cmdline});
        ASSERT_EQ(created.exit_code, 0) << created.err;
    }
};

size_t lines(const std::string& text)
{
    return static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
}

TEST_F(VmctlTest, VersionAndHelpExitZero)
{
    auto version = vmctl({"--version"});
    EXPECT_EQ(version.exit_code, 0);
    EXPECT_TRUE(std::regex_match(version.out, std::regex("vmctl [0-9]+\\.[0-9]+\\.[0-9]+\n"))) << version.out;
    auto daemon_version = run_command({VMRUNTIMED_PATH, "--version"});
    EXPECT_EQ(daemon_version.exit_code, 0);
    EXPECT_EQ(daemon_version.out.rfind("vmruntimed ", 0), 0u) << daemon_version.out;
    auto daemon_help = run_command({VMRUNTIMED_PATH, "--help"});
    EXPECT_EQ(daemon_help.exit_code, 0);
    EXPECT_EQ(daemon_help.out.rfind("usage: vmruntimed", 0), 0u) << daemon_help.out;
}

TEST_F(VmctlTest, MachinesAreShownInWordsAndJsonNumbers)
{
    create("c");
    auto shown = vmctl({"get", "c"});
    ASSERT_EQ(shown.exit_code, 0) << shown.err;
    EXPECT_NE(shown.out.find("state:    created\n"), std::string::npos) << shown.out;
    EXPECT_NE(shown.out.find("loader:   elf\n"), std::string::npos) << "found in the file: " << shown.out;
    EXPECT_NE(shown.out.find("memory:   8.0 MiB\n"), std::string::npos) << shown.out;
    EXPECT_NE(shown.out.find("uptime:   0s\n"), std::string::npos) << shown.out;
    EXPECT_TRUE(std::regex_search(shown.out, std::regex("image:    /.*hello.elf, [0-9.]+ KiB\n"))) << shown.out;
    EXPECT_EQ(vmctl({"inspect", "c"}).out, shown.out) << "inspect is get";

    auto json = vmctl({"--json", "get", "c"});
    ASSERT_EQ(json.exit_code, 0) << json.err;
    EXPECT_EQ(lines(json.out), 1u) << json.out;
    EXPECT_NE(json.out.find("\"state\":\"created\""), std::string::npos) << json.out;
    EXPECT_NE(json.out.find("\"loader\":\"elf\""), std::string::npos) << json.out;
    EXPECT_NE(json.out.find("\"on_reboot\":\"stop\""), std::string::npos) << json.out;
    EXPECT_NE(json.out.find("\"memory_mib\":8,"), std::string::npos) << json.out;
    EXPECT_TRUE(std::regex_search(json.out, std::regex("\"image_size\":[1-9][0-9]*,"))) << "a number: " << json.out;
    EXPECT_NE(json.out.find("\"uptime_ns\":0,"), std::string::npos) << json.out;

    create("d");
    ASSERT_EQ(vmctl({"start", "d"}).exit_code, 0);
    auto stopped = vmctl({"--json", "stop", "d", "--timeout", "0"});
    ASSERT_EQ(stopped.exit_code, 0) << stopped.err;
    EXPECT_EQ(lines(stopped.out), 1u) << stopped.out;
    EXPECT_NE(stopped.out.find("\"state\":\"stopped\""), std::string::npos) << stopped.out;
    EXPECT_NE(stopped.out.find("\"forced\":true"), std::string::npos) << "the same shape, plus forced: "
                                                                       << stopped.out;
    EXPECT_TRUE(std::regex_search(stopped.out, std::regex("\"uptime_ns\":[1-9][0-9]*,"))) << stopped.out;
}

TEST_F(VmctlTest, ListFiltersByNameAndState)
{
    create("web-1");
    create("web-2");
    create("db");
    ASSERT_EQ(vmctl({"start", "web-2"}).exit_code, 0);

    EXPECT_EQ(vmctl({"ls", "-q"}).out, "db\nweb-1\nweb-2\n");
    EXPECT_EQ(vmctl({"list", "web-*", "-q"}).out, "web-1\nweb-2\n");
    EXPECT_EQ(vmctl({"ps", "--state", "running", "-q"}).out, "web-2\n");
    EXPECT_EQ(vmctl({"list", "--state", "running", "--state", "created", "d*", "-q"}).out, "db\n");
    auto bad = vmctl({"list", "--state", "asleep"});
    EXPECT_EQ(bad.exit_code, 2);
    EXPECT_NE(bad.err.find("created, running"), std::string::npos) << bad.err;

    auto table = vmctl({"list", "web-*"});
    EXPECT_EQ(lines(table.out), 3u) << table.out;
    EXPECT_TRUE(std::regex_search(table.out, std::regex("web-2 +running +1 +8\\.0 MiB +[0-9]+s"))) << table.out;

    auto json = vmctl({"--json", "list"});
    EXPECT_EQ(lines(json.out), 3u) << "one machine per line: " << json.out;
    EXPECT_EQ(json.out.find("\"machines\""), std::string::npos) << json.out;

    EXPECT_EQ(vmctl({"rm", "web-1"}).exit_code, 0);
    EXPECT_EQ(vmctl({"get", "web-1"}).exit_code, 1) << "rm is delete";
}

// `vmctl --json watch | jq` must see each event as it happens, not when
// vmctl's stdout buffer fills: the first line reaches a pipe while vmctl
// still waits for the next event.
TEST_F(VmctlTest, WatchEventsReachAPipeOneLineAtATime)
{
    create("w");
    const std::string first_event = file("first-event");
    std::ostringstream pipeline;
    pipeline << "timeout 60 " << VMCTL_PATH << " --socket " << daemon_.socket() << " --json watch w | head -n 1 > "
             << first_event;
    std::thread watcher([&] { run_command({"/bin/sh", "-c", pipeline.str()}); });
    std::string first;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (first.empty() && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        std::ifstream in(first_event);
        std::getline(in, first);
    }
    // An event more, so that vmctl writes again and meets the closed pipe.
    EXPECT_EQ(vmctl({"delete", "w"}).exit_code, 0);
    watcher.join();
    EXPECT_NE(first.find("\"name\":\"w\""), std::string::npos) << "nothing came out before vmctl ended: " << first;
    EXPECT_NE(first.find("\"state\":\"created\""), std::string::npos) << first;
    EXPECT_TRUE(std::regex_search(first, std::regex("\"time\":\"20[0-9-]{8}T[0-9:]{8}\\.[0-9]{3}Z\""))) << first;
}

TEST_F(VmctlTest, ConsoleSaysHowToDetach)
{
    auto run = vmctl({"run", HELLO_ELF, "--name", "r", "--cmdline", "hz=100 ticks=2 exit=0", "--rm"});
    EXPECT_EQ(run.exit_code, 0) << run.err;
    EXPECT_NE(run.err.find("Escape character is ^]"), std::string::npos) << run.err;
}

TEST_F(VmctlTest, MemoryTakesUnitsAndNothingIsNotADefault)
{
    auto big = vmctl({"create", "big", HELLO_ELF, "--memory", "2G"});
    ASSERT_EQ(big.exit_code, 0) << big.err;
    EXPECT_NE(big.out.find("memory:   2.0 GiB\n"), std::string::npos) << big.out;
    auto mid = vmctl({"create", "mid", HELLO_ELF, "--memory", "512m"});
    ASSERT_EQ(mid.exit_code, 0) << mid.err;
    EXPECT_NE(mid.out.find("memory:   512.0 MiB\n"), std::string::npos) << mid.out;
    for (const auto& bad : std::vector<std::vector<std::string>>{{"--memory", "0"}, {"--memory", "12X"},
                                                                 {"--memory", "G"}, {"--vcpus", "0"}}) {
        auto refused = vmctl({"create", "bad", HELLO_ELF, bad[0], bad[1]});
        EXPECT_EQ(refused.exit_code, 2) << bad[0] << " " << bad[1];
        EXPECT_NE(refused.err.find(bad[0]), std::string::npos) << refused.err;
    }
    EXPECT_EQ(vmctl({"get", "bad"}).exit_code, 1) << "nothing was created";
}

}  // namespace
}  // namespace vmruntime::testing
