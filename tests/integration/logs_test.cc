// SPDX-License-Identifier: BSD-2-Clause
//
// vmctl logs through a real vmruntimed: the console history the daemon
// keeps in its state directory, line by line with the time of each, its
// last lines, after the machine stopped, across runs and daemon restarts,
// followed live until the machine is deleted, bounded on disk with its
// newest lines kept, and gone with the machine.  And what detaching from
// `vmctl run --rm` says.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "daemon.h"

extern "C" const uint8_t uart_flood_begin[], uart_flood_end[];

namespace vmruntime::testing {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr uint64_t kLogFileBytes = 1 << 20;

// The names of process `pid`'s threads.
std::vector<std::string> thread_names(pid_t pid)
{
    std::vector<std::string> names;
    std::error_code ec;
    for (const auto& task : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
        std::ifstream comm(task.path() / "comm");
        std::string name;
        std::getline(comm, name);
        names.push_back(name);
    }
    return names;
}

std::string slurp(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

size_t count(const std::string& text, const std::string& what)
{
    size_t n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) {
        n++;
    }
    return n;
}

// The lines of `text`, each with its '\n', the last one even without.
std::vector<std::string> split_lines(const std::string& text)
{
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        lines.push_back(line + (in.eof() ? "" : "\n"));
    }
    return lines;
}

int64_t now_ns()
{
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

class LogsTest : public DaemonFixture {
protected:
    // Creates and starts `name` from guests/hello, and waits for its banner.
    // Idle by default: it prints nothing but what it is sent.
    void run_hello(const std::string& name, const std::string& cmdline = "idle")
    {
        auto created = vmctl({"create", name, HELLO_ELF, "--memory", "8", "--cmdline", cmdline});
        ASSERT_EQ(created.exit_code, 0) << created.err;
        start(name);
    }

    void start(const std::string& name)
    {
        auto started = vmctl({"start", name});
        ASSERT_EQ(started.exit_code, 0) << started.err;
        ASSERT_NE(console(name, kBanner).find(kBanner), std::string::npos);
    }

    // Powers the machine off at once.
    void stop(const std::string& name)
    {
        v1::StopResponse stopped;
        ASSERT_TRUE(call_by_name(*stub_, &v1::Machines::Stub::Stop, name, &stopped, 30s).ok());
    }

    // Has the guest echo `text` and waits until its console shows it.
    void type(const std::string& name, const std::string& text)
    {
        ASSERT_NE(console(name, text, text).find(text), std::string::npos);
    }

    CommandResult logs(std::vector<std::string> args) const
    {
        args.insert(args.begin(), "logs");
        return vmctl(args);
    }

    std::string log_dir() const { return daemon_.state_dir() + "/logs"; }
};

TEST_F(LogsTest, HistoryHoldsTheOutputLineByLine)
{
    run_hello("h");
    type("h", "first\r\nsecond\r\n");
    auto all = logs({"h"});
    ASSERT_EQ(all.exit_code, 0) << all.err;
    EXPECT_EQ(all.out.rfind(kBanner, 0), 0u) << all.out;
    EXPECT_TRUE(all.out.ends_with("\r\nfirst\r\nsecond\r\n")) << "just echoed, so still in the ring: " << all.out;

    // A line the guest has not ended, like a shell prompt, is there too.
    type("h", "prompt> ");
    EXPECT_TRUE(logs({"h"}).out.ends_with("second\r\nprompt> ")) << logs({"h"}).out;
    EXPECT_EQ(logs({"h", "--tail", "1"}).out, "prompt> ");
    EXPECT_EQ(logs({"h", "--tail", "2"}).out, "second\r\nprompt> ");
    EXPECT_EQ(logs({"h", "--tail", "0"}).out, "");
    EXPECT_EQ(logs({"h", "--tail", "all"}).out, logs({"h"}).out);
    EXPECT_EQ(logs({"h", "--tail", "1000"}).out, logs({"h"}).out);

    auto threads = thread_names(daemon_.pid());
    EXPECT_EQ(std::count(threads.begin(), threads.end(), "console-log"), 1) << "one writer, named for its job";
}

TEST_F(LogsTest, TimestampsAreRfc3339AndInOrder)
{
    const int64_t started = now_ns();
    run_hello("t", "hz=100");
    ASSERT_NE(console("t", "tick 300").find("tick 300"), std::string::npos);
    auto plain = logs({"t"});
    auto stamped = logs({"t", "--timestamps"});
    ASSERT_EQ(stamped.exit_code, 0) << stamped.err;
    const std::regex stamp("^([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2})\\.([0-9]{9})Z ");
    std::string unstamped;
    int64_t last = 0;
    size_t lines = 0;
    for (const auto& line : split_lines(stamped.out)) {
        std::smatch m;
        ASSERT_TRUE(std::regex_search(line, m, stamp)) << "not RFC 3339 UTC with nanoseconds: " << line;
        std::tm tm{};
        ASSERT_NE(strptime(m[1].str().c_str(), "%Y-%m-%dT%H:%M:%S", &tm), nullptr) << line;
        const int64_t ns = static_cast<int64_t>(timegm(&tm)) * 1000000000 + std::stoll(m[2].str());
        EXPECT_GE(ns, last) << "times go back at: " << line;
        EXPECT_GE(ns, started - 1000000000) << line;
        EXPECT_LE(ns, now_ns()) << line;
        last = ns;
        unstamped += line.substr(31);
        lines++;
    }
    EXPECT_GE(lines, 5u) << stamped.out;
    EXPECT_EQ(unstamped.substr(0, plain.out.size()), plain.out) << "the same lines, stamped";

    auto json_line = vmctl({"--json", "logs", "t", "--tail", "1"});
    ASSERT_EQ(json_line.exit_code, 0) << json_line.err;
    EXPECT_TRUE(std::regex_match(json_line.out,
                                 std::regex("\\{\"time\":\"20[0-9-]{8}T[0-9:]{8}\\.[0-9]{9}Z\",\"time_ns\":[1-9][0-9]*,"
                                            "\"text\":\"tick [0-9]+\\\\u000d\\\\u000a\"\\}\n")))
        << json_line.out;
}

// JSON is UTF-8 text: what a guest prints that is not UTF-8 becomes
// U+FFFD, and the rest goes through as it is.
TEST_F(LogsTest, JsonStaysUtf8WhateverTheGuestPrints)
{
    run_hello("u");
    type("u", "caf\xc3\xa9 \xff\xc3( \xed\xa0\x80 \xf0\x9f\x99\x82\r\n");
    auto json = vmctl({"--json", "logs", "u", "--tail", "1"});
    ASSERT_EQ(json.exit_code, 0) << json.err;
    EXPECT_NE(json.out.find("\"text\":\"caf\xc3\xa9 \\ufffd\\ufffd( \\ufffd\\ufffd\\ufffd \xf0\x9f\x99\x82\\u000d\\u000a\"}"),
              std::string::npos)
        << json.out;
}

TEST_F(LogsTest, HistoryOutlivesTheRunAndTheDaemon)
{
    auto never = vmctl({"create", "never", HELLO_ELF, "--memory", "8"});
    ASSERT_EQ(never.exit_code, 0) << never.err;
    auto empty = logs({"never"});
    EXPECT_EQ(empty.exit_code, 0) << "a machine that never ran has an empty history: " << empty.err;
    EXPECT_EQ(empty.out, "");

    run_hello("p");
    type("p", "run one\r\nbye> ");
    stop("p");
    const std::string first_run = logs({"p"}).out;
    EXPECT_TRUE(first_run.ends_with("run one\r\nbye> ")) << first_run;

    ASSERT_EQ(daemon_.stop(), 0);
    ASSERT_TRUE(daemon_.start()) << daemon_.log();
    connect();
    EXPECT_EQ(logs({"p"}).out, first_run) << "the history is in the state directory";
    EXPECT_EQ(logs({"p", "--tail", "2"}).out, "run one\r\nbye> ");

    start("p");
    type("p", "run two\r\n");
    const std::string both = logs({"p"}).out;
    EXPECT_EQ(both.rfind(first_run, 0), 0u) << "each run's output after the one before: " << both;
    EXPECT_EQ(count(both, kBanner), 2u) << both;
    EXPECT_NE(both.find("bye> \n" + std::string(kBanner)), std::string::npos)
        << "a run starts on a line of its own: " << both;
    EXPECT_TRUE(both.ends_with("run two\r\n")) << both;
}

TEST_F(LogsTest, FollowPrintsLinesAsTheyComeUntilTheMachineIsDeleted)
{
    run_hello("f");
    const std::string out = file("follow.out");
    std::ostringstream command;
    command << "timeout 60 " << VMCTL_PATH << " --socket " << daemon_.socket() << " logs -f f > " << out
            << "; echo $? > " << out << ".rc";
    std::thread follower([&] { run_command({"/bin/sh", "-c", command.str()}); });
    auto wait_for = [&](const std::string& what, size_t times) {
        const auto deadline = Clock::now() + 30s;
        while (count(slurp(out), what) < times && Clock::now() < deadline) {
            std::this_thread::sleep_for(20ms);
        }
        return count(slurp(out), what) >= times;
    };
    EXPECT_TRUE(wait_for(kBanner, 1)) << "the history first: " << slurp(out);
    type("f", "live line\r\n");
    EXPECT_TRUE(wait_for("live line\r\n", 1)) << slurp(out);

    // A stopped machine started again is followed on.
    stop("f");
    start("f");
    EXPECT_TRUE(wait_for(kBanner, 2)) << slurp(out);

    ASSERT_TRUE(force_delete(*stub_, "f").ok());
    follower.join();
    EXPECT_EQ(slurp(out + ".rc"), "0\n") << "logs -f ends, and well, when the machine is deleted";
    const std::string followed = slurp(out);
    EXPECT_LT(followed.find(kBanner), followed.find("live line")) << followed;
    EXPECT_LT(followed.find("live line"), followed.rfind(kBanner)) << followed;
}

// The guest floods its console past twice the bound: what is left on disk
// is the two newest files, each within the bound, and what logs prints
// ends with the newest output.
TEST_F(LogsTest, HistoryIsBoundedAndKeepsTheNewestOutput)
{
    v1::MachineSpec spec;
    spec.set_name("flood");
    spec.set_memory_mib(16);
    spec.set_image_bytes(std::string(uart_flood_begin, uart_flood_end));
    spec.set_loader(v1::LOADER_KIND_FLAT_LONG);
    grpc::ClientContext cc;
    v1::CreateRequest create;
    *create.mutable_spec() = spec;
    v1::CreateResponse created;
    ASSERT_TRUE(stub_->Create(&cc, create, &created).ok());
    v1::StartResponse started;
    ASSERT_TRUE(call_by_name(*stub_, &v1::Machines::Stub::Start, "flood", &started, 30s).ok());

    const uint64_t target = 2 * kLogFileBytes + kLogFileBytes / 4;
    const auto begin = Clock::now();
    uint64_t written = 0;
    while (written < target && Clock::now() < begin + 150s) {
        std::this_thread::sleep_for(200ms);
        v1::StatsResponse stats;
        ASSERT_TRUE(call_by_name(*stub_, &v1::Machines::Stub::Stats, "flood", &stats, 30s).ok());
        written = stats.console_bytes();
    }
    stop("flood");
    v1::StatsResponse stats;
    ASSERT_TRUE(call_by_name(*stub_, &v1::Machines::Stub::Stats, "flood", &stats, 30s).ok());
    written = stats.console_bytes();
    std::cout << "the flood wrote " << written << " bytes in "
              << std::chrono::duration<double>(Clock::now() - begin).count() << " s\n";
    ASSERT_GE(written, target) << "the flood did not get past twice the bound in time";

    std::vector<std::string> files;
    for (const auto& entry : std::filesystem::directory_iterator(log_dir())) {
        files.push_back(entry.path().filename().string());
        EXPECT_LE(entry.file_size(), kLogFileBytes) << entry.path();
    }
    std::sort(files.begin(), files.end());
    EXPECT_EQ(files, (std::vector<std::string>{"flood.log", "flood.log.1"}));

    auto history = logs({"flood"});
    ASSERT_EQ(history.exit_code, 0) << history.err;
    EXPECT_LE(history.out.size(), 2 * kLogFileBytes);
    EXPECT_GE(history.out.size(), kLogFileBytes) << "the older file is kept as well";
    EXPECT_EQ(history.out.find("[vmruntimed:"), std::string::npos) << "the writer kept up: nothing was lost";

    // The newest output, from the console ring: the history ends with it.
    grpc::ClientContext console_cc;
    console_cc.set_deadline(std::chrono::system_clock::now() + 30s);
    auto stream = stub_->Console(&console_cc);
    v1::ConsoleRequest first;
    first.set_name("flood");
    first.set_from_offset(written - 64 * 1024);
    ASSERT_TRUE(stream->Write(first));
    std::string newest;
    v1::ConsoleResponse resp;
    while (stream->Read(&resp)) {
        newest += resp.data();
    }
    stream->Finish();
    ASSERT_EQ(newest.size(), 64u * 1024);
    EXPECT_TRUE(history.out.ends_with(newest)) << "the newest output is kept";
    EXPECT_EQ(logs({"flood", "--tail", "1"}).out, split_lines(newest).back());
}

TEST_F(LogsTest, DeleteRemovesTheLogAndBadRequestsAreRefused)
{
    run_hello("d");
    stop("d");
    EXPECT_NE(logs({"d"}).out.find(kBanner), std::string::npos);
    EXPECT_TRUE(std::filesystem::exists(log_dir() + "/d.log"));
    ASSERT_EQ(vmctl({"rm", "d"}).exit_code, 0);
    EXPECT_FALSE(std::filesystem::exists(log_dir() + "/d.log")) << "the log goes with the machine";
    EXPECT_FALSE(std::filesystem::exists(log_dir() + "/d.log.1"));
    auto gone = logs({"d"});
    EXPECT_EQ(gone.exit_code, 1);
    EXPECT_NE(gone.err.find("NOT_FOUND"), std::string::npos) << gone.err;

    auto bad_tail = logs({"x", "--tail", "ten"});
    EXPECT_EQ(bad_tail.exit_code, 2);
    EXPECT_NE(bad_tail.err.find("--tail"), std::string::npos) << bad_tail.err;

    grpc::ClientContext cc;
    v1::LogsRequest nameless;
    auto reader = stub_->Logs(&cc, nameless);
    v1::LogsResponse resp;
    EXPECT_FALSE(reader->Read(&resp));
    EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(LogsTest, DetachingFromRunRmSaysTheMachineWasDeleted)
{
    std::ostringstream command;
    command << "printf '\\035' | " << VMCTL_PATH << " --socket " << daemon_.socket() << " run " << HELLO_ELF
            << " --name r --memory 8 --cmdline idle --rm";
    auto run = run_command({"/bin/sh", "-c", command.str()});
    EXPECT_EQ(run.exit_code, 1) << "the guest's work went with the machine: " << run.err;
    EXPECT_NE(run.err.find("vmctl: detached; machine r was deleted"), std::string::npos) << run.err;
    EXPECT_EQ(vmctl({"get", "r"}).exit_code, 1) << "deleted";
}

}  // namespace
}  // namespace vmruntime::testing
