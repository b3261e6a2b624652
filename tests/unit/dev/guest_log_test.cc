// SPDX-License-Identifier: BSD-2-Clause
//
// GuestLog: lines name the machine, and a guest's lines are held to a
// rate, the suppressed ones counted and reported.
#include "vmruntime/dev/guest_log.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "captured_log.h"
#include "fakes.h"

namespace vmruntime::dev {
namespace {

using namespace std::chrono_literals;

TEST(GuestLog, LinesNameTheMachine)
{
    testing::CapturedLog captured(base::LogLevel::kWarn);
    testing::FakeClock clock;
    GuestLog log("web-1", clock);
    log.warn("io_bus", "port ", 42);
    ASSERT_EQ(captured.lines().size(), 1u);
    EXPECT_NE(captured.lines()[0].find("WARN [io_bus] machine 'web-1': port 42"), std::string::npos)
        << captured.lines()[0];
}

TEST(GuestLog, AFloodIsHeldToTheRateAndCounted)
{
    testing::CapturedLog captured(base::LogLevel::kWarn);
    testing::FakeClock clock;
    GuestLog log("flood", clock);
    for (int i = 0; i < 1000; i++) {
        log.warn("dev", "line ", i);
    }
    ASSERT_EQ(captured.lines().size(), GuestLog::kBurst);
    EXPECT_NE(captured.lines().back().find("line 19"), std::string::npos);
    EXPECT_EQ(log.suppressed(), 1000u - GuestLog::kBurst);

    // A minute refills the bucket at kPerMinute; the first line through
    // says what was lost.
    clock.advance(1min);
    captured.clear();
    for (int i = 0; i < 1000; i++) {
        log.warn("dev", "again ", i);
    }
    ASSERT_EQ(captured.lines().size(), 1u + GuestLog::kBurst);
    EXPECT_NE(captured.lines()[0].find("machine 'flood': 980 lines suppressed"), std::string::npos)
        << captured.lines()[0];
    EXPECT_NE(captured.lines()[1].find("again 0"), std::string::npos) << captured.lines()[1];

    // One second gives one line.
    clock.advance(1s);
    captured.clear();
    log.warn("dev", "later");
    log.warn("dev", "too soon");
    ASSERT_EQ(captured.lines().size(), 2u);
    EXPECT_NE(captured.lines()[1].find("later"), std::string::npos);
}

TEST(GuestLog, LongNamesAreCut)
{
    testing::CapturedLog captured(base::LogLevel::kWarn);
    testing::FakeClock clock;
    GuestLog log(std::string(10000, 'n'), clock);
    log.warn("dev", "x");
    ASSERT_EQ(captured.lines().size(), 1u);
    EXPECT_NE(captured.lines()[0].find("machine '" + std::string(64, 'n') + "': x"), std::string::npos);
    EXPECT_LT(captured.lines()[0].size(), 200u);
}

}  // namespace
}  // namespace vmruntime::dev
