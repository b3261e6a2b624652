// SPDX-License-Identifier: BSD-2-Clause
//
// The POST code latch and the debug-exit port.
#include "vmruntime/dev/debug_port.h"

#include <gtest/gtest.h>

#include <span>
#include <string>
#include <vector>

#include "vmruntime/base/log.h"
#include "vmruntime/dev/device_state.h"

namespace vmruntime::dev {
namespace {

TEST(PostCodePort, KeepsAndReturnsTheLastByte)
{
    PostCodePort post;
    EXPECT_EQ(post.read(0, 1), 0x00u);
    post.write(0, 1, 0x12);
    post.write(0, 1, 0x34);
    EXPECT_EQ(post.last(), 0x34);
    EXPECT_EQ(post.read(0, 1), 0x34u);
    EXPECT_EQ(post.writes(), 2u);
}

TEST(PostCodePort, IgnoresOtherWidths)
{
    PostCodePort post;
    post.write(0, 1, 0x55);
    post.write(0, 2, 0xaaaa);
    post.write(0, 4, 0xaaaaaaaa);
    EXPECT_EQ(post.last(), 0x55);
    EXPECT_EQ(post.read(0, 2), 0xffffu);
    EXPECT_EQ(post.writes(), 1u);
}

TEST(PostCodePort, LogsChangesAtDebugLevel)
{
    std::vector<std::string> lines;
    const base::LogLevel old_level = base::log_level();
    base::set_log_level(base::LogLevel::kDebug);
    base::LogSink old_sink = base::set_log_sink([&](std::string_view l) { lines.emplace_back(l); });

    PostCodePort post;
    post.write(0, 1, 0xab);
    post.write(0, 1, 0xab);  // Linux's I/O delay: same byte, no new line
    post.write(0, 1, 0x00);

    base::set_log_sink(std::move(old_sink));
    base::set_log_level(old_level);
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_NE(lines[0].find("DEBUG [post] POST code 0xab"), std::string::npos) << lines[0];
    EXPECT_NE(lines[1].find("POST code 0x0"), std::string::npos) << lines[1];
}

// Every byte is a POST code, so only a short state can be refused.  The
// write count is a host statistic: the copy starts its own.
TEST(PostCodePort, SnapshotRoundTripKeepsTheLastCode)
{
    PostCodePort post;
    post.write(0, 1, 0x42);
    StateWriter state;
    post.save(state);

    PostCodePort copy;
    StateReader in(state.bytes());
    ASSERT_TRUE(copy.restore(in));
    EXPECT_TRUE(in.done());
    EXPECT_EQ(copy.read(0, 1), 0x42u);
    EXPECT_EQ(copy.writes(), 0u);

    PostCodePort truncated;
    StateReader empty(std::span(state.bytes()).first(0));
    EXPECT_FALSE(truncated.restore(empty));
}

TEST(DebugExitPort, PowersOffWithTheValueWritten)
{
    std::vector<uint32_t> statuses;
    DebugExitPort exit_port([&](uint32_t s) { statuses.push_back(s); });
    exit_port.write(0, 1, 0x2a);
    exit_port.write(0, 2, 0xbeef);
    exit_port.write(0, 4, 0xdeadbeef);
    exit_port.write(0, 1, 0x1ff);  // only the access width counts
    EXPECT_EQ(statuses, (std::vector<uint32_t>{0x2a, 0xbeef, 0xdeadbeef, 0xff}));
}

TEST(DebugExitPort, IgnoresReadsOddWidthsAndOtherOffsets)
{
    int calls = 0;
    DebugExitPort exit_port([&](uint32_t) { ++calls; });
    EXPECT_EQ(exit_port.read(0, 1), 0xffu);
    EXPECT_EQ(exit_port.read(0, 4), 0xffffffffu);
    exit_port.write(0, 3, 1);
    exit_port.write(1, 1, 1);
    EXPECT_EQ(calls, 0);
}

}  // namespace
}  // namespace vmruntime::dev
