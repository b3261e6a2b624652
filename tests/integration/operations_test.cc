// SPDX-License-Identifier: BSD-2-Clause
//
// The daemon as its operator sees it, through a real vmruntimed: one log
// line for each change of a machine's state (a guest's power-off with its
// status, a crash with its reason), a line for every RPC at debug and only
// for failures at info, lines with their syslog priority and no timestamp
// when stderr is journald's, and --socket-group letting a group's members,
// and nobody else, use vmctl.
#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "daemon.h"
#include "vmruntime/v1/vmruntime.grpc.pb.h"

extern "C" const uint8_t unemulatable_begin[], unemulatable_end[];

namespace vmruntime::testing {
namespace {

namespace v1 = vmruntime::v1;
using namespace std::chrono_literals;

constexpr uid_t kUser = 61234;  // a local user with no name and no rights here
constexpr auto kLogWait = 10s;

std::vector<std::string> lines_of(const std::string& text)
{
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        lines.push_back(line);
    }
    return lines;
}

// The messages of the [machine] lines about machine `name`, in order.
std::vector<std::string> state_lines(const std::string& log, const std::string& name)
{
    std::vector<std::string> found;
    const std::string tag = "[machine] " + name + ": ";
    for (const std::string& line : lines_of(log)) {
        if (size_t at = line.find(tag); at != std::string::npos) {
            found.push_back(line.substr(at + tag.size()));
        }
    }
    return found;
}

// A group other than root's that the test may hand to the daemon.
bool some_group(std::string* name, gid_t* gid)
{
    for (const char* candidate : {"users", "nogroup"}) {
        if (const group* g = ::getgrnam(candidate)) {
            *name = candidate;
            *gid = g->gr_gid;
            return true;
        }
    }
    return false;
}

class OperationsTest : public DaemonFixture {
protected:
    // The daemon's log from byte `from` on, once `needle` is in it (or
    // after kLogWait: the daemon writes its log from a thread of its own).
    std::string log_with(const std::string& needle, size_t from = 0)
    {
        const auto deadline = std::chrono::steady_clock::now() + kLogWait;
        for (;;) {
            const std::string log = daemon_.log();
            const std::string tail = log.substr(std::min(from, log.size()));
            if (tail.find(needle) != std::string::npos || std::chrono::steady_clock::now() > deadline) {
                return tail;
            }
            std::this_thread::sleep_for(20ms);
        }
    }

    v1::MachineState wait_until_ended(const std::string& name)
    {
        const auto deadline = std::chrono::steady_clock::now() + kGuestTimeout;
        for (;;) {
            v1::GetResponse got;
            const grpc::Status status = call_by_name(*stub_, &v1::Machines::Stub::Get, name, &got, 10s);
            const v1::MachineState state = got.machine().state();
            if (!status.ok() || state == v1::MACHINE_STATE_STOPPED || state == v1::MACHINE_STATE_CRASHED ||
                std::chrono::steady_clock::now() > deadline) {
                return state;
            }
            std::this_thread::sleep_for(20ms);
        }
    }

    // A machine whose only instruction the host cannot run.
    void create_crasher(const std::string& name)
    {
        grpc::ClientContext cc;
        cc.set_deadline(std::chrono::system_clock::now() + 20s);
        v1::CreateRequest req;
        req.mutable_spec()->set_name(name);
        req.mutable_spec()->set_memory_mib(16);
        req.mutable_spec()->set_image_bytes(std::string(unemulatable_begin, unemulatable_end));
        req.mutable_spec()->set_loader(v1::LOADER_KIND_FLAT_LONG);
        v1::CreateResponse resp;
        ASSERT_TRUE(stub_->Create(&cc, req, &resp).ok());
    }

    // Restarts the daemon with `args`; the log it writes from then on
    // starts at the returned offset.
    size_t restart(const std::vector<std::string>& args)
    {
        EXPECT_EQ(daemon_.stop(), 0);
        const size_t from = daemon_.log().size();
        EXPECT_TRUE(daemon_.start(args)) << daemon_.log();
        connect();
        return from;
    }

    void expect_ok(const std::vector<std::string>& args)
    {
        const CommandResult r = vmctl(args);
        EXPECT_EQ(r.exit_code, 0) << "vmctl " << args[0] << ": " << r.err;
    }
};

TEST_F(OperationsTest, EveryStateChangeIsOneLine)
{
    expect_ok({"create", "web-1", HELLO_ELF, "--cmdline", "hz=100"});
    expect_ok({"start", "web-1"});
    expect_ok({"pause", "web-1"});
    expect_ok({"resume", "web-1"});
    expect_ok({"stop", "web-1", "--timeout", "0"});
    expect_ok({"delete", "web-1"});
    expect_ok({"create", "off", HELLO_ELF, "--vcpus", "2", "--memory", "8", "--cmdline", "hz=100 ticks=5 exit=3"});
    expect_ok({"start", "off"});
    EXPECT_EQ(wait_until_ended("off"), v1::MACHINE_STATE_STOPPED);
    create_crasher("crash");
    expect_ok({"start", "crash"});
    EXPECT_EQ(wait_until_ended("crash"), v1::MACHINE_STATE_CRASHED);

    const std::string log = log_with("[machine] crash: crashed");
    const std::vector<std::string> web = state_lines(log, "web-1");
    ASSERT_EQ(web.size(), 6u) << log;
    EXPECT_EQ(web[0], "created (16 MiB, 1 vCPU, elf)");
    EXPECT_EQ(web[1], "running");
    EXPECT_EQ(web[2], "paused");
    EXPECT_EQ(web[3], "running");
    EXPECT_EQ(web[4], "stopped: stopped by request: no power-off within 0 ms");
    EXPECT_EQ(web[5], "deleted");
    const std::vector<std::string> off = state_lines(log, "off");
    EXPECT_EQ(off, (std::vector<std::string>{"created (8 MiB, 2 vCPUs, elf)", "running",
                                             "stopped: guest powered off with status 3"}))
        << log;
    const std::vector<std::string> crash = state_lines(log, "crash");
    ASSERT_EQ(crash.size(), 3u) << log;
    EXPECT_EQ(crash[0], "created (16 MiB, 1 vCPU, flat-long)");
    const std::regex crashed("crashed: vcpu 0: the host cannot run the guest .* at rip 0x[0-9a-f]+ .*");
    EXPECT_TRUE(std::regex_match(crash[2], crashed)) << crash[2];

    // No other line tells of the same changes.
    for (const std::string& line : lines_of(log)) {
        for (const char* told : {"machine web-1", "machine off", "machine crash"}) {
            EXPECT_EQ(line.find(told), std::string::npos) << line;
        }
    }
}

TEST_F(OperationsTest, DebugLogsEveryRpcAndInfoOnlyFailures)
{
    // The fixture's daemon logs at debug.
    expect_ok({"create", "dbg", HELLO_ELF});
    expect_ok({"list"});
    EXPECT_EQ(vmctl({"get", "nope"}).exit_code, 1);
    std::string log = log_with("[rpc] Get 'nope'");
    const std::regex create_ok(R"(Z DEBUG \[rpc\] Create 'dbg' from uid \d+: OK in \d+\.\d ms\n)");
    EXPECT_TRUE(std::regex_search(log, create_ok)) << log;
    EXPECT_TRUE(std::regex_search(log, std::regex(R"(Z DEBUG \[rpc\] List from uid \d+: OK in \d+\.\d ms\n)"))) << log;
    const std::regex get_failed(R"(Z INFO \[rpc\] Get 'nope' from uid \d+: NOT_FOUND in \d+\.\d ms: )"
                                R"(no machine named 'nope' \(vmctl list shows the machines\)\n)");
    EXPECT_TRUE(std::regex_search(log, get_failed)) << log;

    const size_t from = restart({"--log-level", "info"});
    expect_ok({"list"});
    EXPECT_EQ(vmctl({"get", "nope"}).exit_code, 1);
    log = log_with("[rpc] Get 'nope'", from);
    EXPECT_TRUE(std::regex_search(log, get_failed)) << log;
    EXPECT_EQ(log.find(" DEBUG "), std::string::npos) << log;
    EXPECT_EQ(log.find("[rpc] List"), std::string::npos) << log;

    const CommandResult bad = run_command({VMRUNTIMED_PATH, "--socket", file("other.sock"), "--log-level", "verbose"});
    EXPECT_EQ(bad.exit_code, 2);
    EXPECT_NE(bad.err.find("vmruntimed: unknown log level 'verbose': give debug, info, warn or error\n"),
              std::string::npos)
        << bad.err;
}

// systemd names the stream it gives a service as stderr in $JOURNAL_STREAM;
// only that stream gets journald's lines.
TEST_F(OperationsTest, JournaldLinesCarryTheirPriorityAndNoTimestamp)
{
    ASSERT_EQ(daemon_.stop(), 0);
    struct stat log_file {};
    ASSERT_EQ(::stat(file("daemon.log").c_str(), &log_file), 0);
    const std::string stream = std::to_string(log_file.st_dev) + ":" + std::to_string(log_file.st_ino);
    daemon_.set_env("JOURNAL_STREAM", stream);
    const size_t from = daemon_.log().size();
    ASSERT_TRUE(daemon_.start()) << daemon_.log();
    connect();
    expect_ok({"list"});
    EXPECT_EQ(vmctl({"get", "nope"}).exit_code, 1);
    create_crasher("crash");
    expect_ok({"start", "crash"});

    const std::string log = log_with("crash: crashed", from);
    const std::vector<std::string> lines = lines_of(log);
    auto starts_a_line = [&](const std::string& prefix) {
        return std::any_of(lines.begin(), lines.end(), [&](const std::string& l) { return l.rfind(prefix, 0) == 0; });
    };
    EXPECT_TRUE(starts_a_line("<6>[vmruntimed] serving on ")) << log;
    EXPECT_TRUE(starts_a_line("<7>[rpc] List from uid ")) << log;
    EXPECT_TRUE(starts_a_line("<6>[rpc] Get 'nope' from uid ")) << log;
    EXPECT_TRUE(starts_a_line("<6>[machine] crash: running")) << log;
    EXPECT_TRUE(starts_a_line("<4>[machine] crash: crashed: ")) << log;
    const std::regex timestamp(R"(^\d{4}-\d\d-\d\dT)");
    for (const std::string& line : lines) {
        EXPECT_FALSE(std::regex_search(line, timestamp)) << line;
    }

    // Another stream is not the journal.
    daemon_.set_env("JOURNAL_STREAM", stream + "1");
    const size_t plain_from = restart({});
    EXPECT_TRUE(std::regex_search(log_with("serving on", plain_from),
                                  std::regex(R"(\d{4}-\d\d-\d\dT[0-9:.]+Z INFO \[vmruntimed\] serving on )")));
}

TEST_F(OperationsTest, SocketGroupOwnsTheSocketAndTheDirectoriesItMakes)
{
    std::string group_name;
    gid_t gid = 0;
    if (!some_group(&group_name, &gid)) {
        GTEST_SKIP() << "*** no group 'users' or 'nogroup' here: --socket-group tests SKIPPED ***";
    }
    const CommandResult unknown =
        run_command({VMRUNTIMED_PATH, "--socket", file("other.sock"), "--socket-group", "no-such-group-here"});
    EXPECT_EQ(unknown.exit_code, 2);
    EXPECT_NE(unknown.err.find("vmruntimed: --socket-group: unknown group 'no-such-group-here'"), std::string::npos)
        << unknown.err;

    // In a directory it did not make, only the socket is the group's.
    struct stat dir {};
    ASSERT_EQ(::stat(daemon_.dir().c_str(), &dir), 0);
    size_t from = restart({"--socket-group", group_name});
    struct stat sock {};
    ASSERT_EQ(::stat(daemon_.socket().c_str(), &sock), 0);
    EXPECT_EQ(sock.st_gid, gid);
    EXPECT_EQ(sock.st_mode & 07777, 0660u);
    struct stat dir_after {};
    ASSERT_EQ(::stat(daemon_.dir().c_str(), &dir_after), 0);
    EXPECT_EQ(dir_after.st_mode, dir.st_mode) << "a directory the daemon did not make is left alone";
    EXPECT_EQ(dir_after.st_gid, dir.st_gid);
    const std::string warning = "group " + std::to_string(gid) + " cannot reach " + daemon_.dir();
    EXPECT_NE(log_with(warning, from).find(warning), std::string::npos);

    // The directories it makes are the group's, 0750; by number too.
    ASSERT_EQ(::chmod(daemon_.dir().c_str(), 0711), 0);
    daemon_.set_socket(file("run/vmruntime/sock"));
    from = restart({"--socket-group", std::to_string(gid)});
    for (const std::string& made : {file("run"), file("run/vmruntime")}) {
        struct stat st {};
        ASSERT_EQ(::stat(made.c_str(), &st), 0) << made;
        EXPECT_EQ(st.st_gid, gid) << made;
        EXPECT_EQ(st.st_mode & 07777, 0750u) << made;
    }
    ASSERT_EQ(::stat(daemon_.socket().c_str(), &sock), 0);
    EXPECT_EQ(sock.st_gid, gid);
    EXPECT_EQ(sock.st_mode & 07777, 0660u);
    // The warning would come before this line.
    EXPECT_EQ(log_with("serving on", from).find("cannot reach"), std::string::npos);
    expect_ok({"list"});
}

TEST_F(OperationsTest, SocketGroupMembersUseVmctlAndOthersCannot)
{
    if (::geteuid() != 0) {
        GTEST_SKIP() << "*** not root: cannot run vmctl as another user; --socket-group access test SKIPPED ***";
    }
    std::string group_name;
    gid_t gid = 0;
    if (!some_group(&group_name, &gid)) {
        GTEST_SKIP() << "*** no group 'users' or 'nogroup' here: --socket-group tests SKIPPED ***";
    }
    // kUser passes the test's directory, and then only the group may go on.
    ASSERT_EQ(::chmod(daemon_.dir().c_str(), 0711), 0);
    daemon_.set_socket(file("run/sock"));
    restart({"--socket-group", group_name});
    auto as_user = [&](const std::string& groups) {
        return run_command({"/usr/bin/setpriv", "--reuid=" + std::to_string(kUser),
                            "--regid=" + std::to_string(kUser), groups, VMCTL_PATH, "--socket", daemon_.socket(),
                            "list"});
    };
    const CommandResult member = as_user("--groups=" + std::to_string(gid));
    EXPECT_EQ(member.exit_code, 0) << member.err;
    const CommandResult outsider = as_user("--clear-groups");
    EXPECT_EQ(outsider.exit_code, 1) << outsider.out;
    EXPECT_NE(outsider.err.find("Permission denied"), std::string::npos) << outsider.err;
}

}  // namespace
}  // namespace vmruntime::testing
