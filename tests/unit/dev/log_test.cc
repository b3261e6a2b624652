// SPDX-License-Identifier: BSD-2-Clause
//
// The log line format, level filtering and the sink, including lines from
// several threads arriving whole.
#include "vmruntime/base/log.h"
#include "vmruntime/base/stderr_queue.h"
#include "captured_log.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <mutex>
#include <regex>
#include <string>
#include <thread>
#include <vector>

namespace vmruntime::base {
namespace {

using dev::testing::CapturedLog;

TEST(Log, FormatsUtcTimestampWithMilliseconds)
{
    using namespace std::chrono;
    // 2026-11-25T10:00:00Z is 1795600800 s after the epoch.
    const system_clock::time_point t{seconds{1795600800} + milliseconds{123} + microseconds{999}};
    EXPECT_EQ(format_log_line(t, LogLevel::kWarn, "uart", "hello"),
              "2026-11-25T10:00:00.123Z WARN [uart] hello");
    EXPECT_EQ(format_log_line(system_clock::time_point{seconds{5}}, LogLevel::kDebug, "x", ""),
              "1970-01-01T00:00:05.000Z DEBUG [x] ");
}

TEST(Log, LevelNames)
{
    EXPECT_EQ(log_level_name(LogLevel::kDebug), "DEBUG");
    EXPECT_EQ(log_level_name(LogLevel::kInfo), "INFO");
    EXPECT_EQ(log_level_name(LogLevel::kWarn), "WARN");
    EXPECT_EQ(log_level_name(LogLevel::kError), "ERROR");
}

TEST(Log, FormatsArgumentsWithStreams)
{
    CapturedLog log(LogLevel::kDebug);
    log_info("io_bus", "port ", hex(0x3f8), " size ", 4, " ok=", true);
    const auto lines = log.lines();
    ASSERT_EQ(lines.size(), 1u);
    const std::regex line(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO \[io_bus\] port 0x3f8 size 4 ok=1)");
    EXPECT_TRUE(std::regex_match(lines[0], line)) << lines[0];
}

TEST(Log, DropsMessagesBelowTheMinimumLevel)
{
    CapturedLog log(LogLevel::kWarn);
    log_debug("t", "d");
    log_info("t", "i");
    log_warn("t", "w");
    log_error("t", "e");
    const auto lines = log.lines();
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_NE(lines[0].find(" WARN [t] w"), std::string::npos);
    EXPECT_NE(lines[1].find(" ERROR [t] e"), std::string::npos);
    EXPECT_FALSE(log_enabled(LogLevel::kInfo));
    EXPECT_TRUE(log_enabled(LogLevel::kError));
}

struct CountsFormatting {
    int* count;
};

std::ostream& operator<<(std::ostream& os, const CountsFormatting& c)
{
    ++*c.count;
    return os << "formatted";
}

// Arguments are not even formatted when their level is off.
TEST(Log, DoesNotFormatDisabledMessages)
{
    CapturedLog log(LogLevel::kInfo);
    int formatted = 0;
    log_debug("t", CountsFormatting{&formatted});
    EXPECT_EQ(formatted, 0);
    EXPECT_TRUE(log.lines().empty());
    log_info("t", CountsFormatting{&formatted});
    EXPECT_EQ(formatted, 1);
    ASSERT_EQ(log.lines().size(), 1u);
    EXPECT_NE(log.lines()[0].find("[t] formatted"), std::string::npos);
}

TEST(Log, HexFormatting)
{
    EXPECT_EQ(hex(0), "0x0");
    EXPECT_EQ(hex(0x3f8), "0x3f8");
    EXPECT_EQ(hex(0xffffffffffffffffull), "0xffffffffffffffff");
}

TEST(Log, LinesFromManyThreadsArriveWhole)
{
    CapturedLog log(LogLevel::kInfo);
    constexpr int kThreads = 4;
    constexpr int kLines = 200;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([t] {
            for (int i = 0; i < kLines; ++i) {
                log_info("thread", "t=", t, " i=", i, " end");
            }
        });
    }
    for (auto& th : threads) {
        th.join();
    }
    const auto lines = log.lines();
    ASSERT_EQ(lines.size(), size_t{kThreads * kLines});
    const std::regex line(R"(.*Z INFO \[thread\] t=\d i=\d+ end)");
    for (const auto& l : lines) {
        ASSERT_TRUE(std::regex_match(l, line)) << l;
    }
}

TEST(Log, EmptySinkRestoresStderr)
{
    const LogLevel old = log_level();
    set_log_level(LogLevel::kInfo);
    LogSink previous = set_log_sink([](std::string_view) {});
    LogSink mine = set_log_sink(nullptr);
    EXPECT_TRUE(static_cast<bool>(mine));
    testing::internal::CaptureStderr();
    log_warn("stderr", "to stderr");
    EXPECT_TRUE(flush_log());
    const std::string err = testing::internal::GetCapturedStderr();
    set_log_sink(std::move(previous));
    set_log_level(old);
    EXPECT_NE(err.find(" WARN [stderr] to stderr\n"), std::string::npos) << err;
}

// Stderr is a pipe nobody reads: the loggers go on (the writer thread is
// the only one stuck), lines past the queue's bound are dropped and
// counted, and once the pipe is read again a line says how many.
TEST(Log, AStderrNobodyReadsBlocksNoLogger)
{
    using namespace std::chrono_literals;
    const LogLevel old_level = log_level();
    set_log_level(LogLevel::kInfo);
    int pipe_fds[2];
    ASSERT_EQ(::pipe2(pipe_fds, O_CLOEXEC), 0);
    const int saved_stderr = ::dup(STDERR_FILENO);
    ASSERT_GE(saved_stderr, 0);
    ::dup2(pipe_fds[1], STDERR_FILENO);
    const uint64_t dropped_before = log_lines_dropped();

    // Four times what the pipe and the queue hold together.
    const std::string padding(200, 'x');
    const size_t lines = 4 * (StderrQueue::kMaxQueuedBytes + (64 << 10)) / padding.size();
    auto logger = std::async(std::launch::async, [&] {
        for (size_t i = 0; i < lines; i++) {
            log_info("flood", i, ' ', padding);
        }
    });
    const bool returned = logger.wait_for(20s) == std::future_status::ready;
    const uint64_t dropped = log_lines_dropped() - dropped_before;

    // Drain the pipe to its end, keeping the line that counts the drops.
    std::string report;
    std::thread reader([&] {
        std::string window;
        char buf[65536];
        ssize_t n;
        while ((n = ::read(pipe_fds[0], buf, sizeof buf)) > 0) {
            window.append(buf, static_cast<size_t>(n));
            if (size_t at = window.find("lines dropped"); at != std::string::npos && report.empty()) {
                const size_t from = window.rfind('\n', at);
                report = window.substr(from == std::string::npos ? 0 : from + 1,
                                       window.find('\n', at) - (from == std::string::npos ? 0 : from + 1));
            }
            if (window.size() > 8192) {
                window.erase(0, window.size() - 4096);
            }
        }
    });
    const bool flushed = flush_log(20s);
    ::dup2(saved_stderr, STDERR_FILENO);
    ::close(saved_stderr);
    ::close(pipe_fds[1]);  // the reader's EOF, now that the writer is idle
    reader.join();
    ::close(pipe_fds[0]);
    set_log_level(old_level);

    ASSERT_TRUE(returned) << "a logger waited for a stderr nobody reads";
    logger.get();
    EXPECT_GT(dropped, 0u);
    EXPECT_LT(dropped, lines);
    ASSERT_TRUE(flushed);
    EXPECT_NE(report.find(" WARN [log] " + std::to_string(dropped) + " lines dropped"), std::string::npos)
        << report;
}

}  // namespace
}  // namespace vmruntime::base
