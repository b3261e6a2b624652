// SPDX-License-Identifier: BSD-2-Clause
//
// CMOS RTC driven the way Linux's mc146818 library and rtc-cmos driver do:
// index then data, BCD and binary, 12/24 hour, setting the time under SET
// and the divider reset, UIP, and the IRQ 8 events.
#include "vmruntime/dev/cmos_rtc.h"

#include <gtest/gtest.h>

#include <utility>
#include <vector>

#include "tests/unit/dev/fakes.h"
#include "vmruntime/dev/device_state.h"

namespace vmruntime::dev {
namespace {

using namespace std::chrono_literals;
using testing::FakeClock;
using testing::FakeIrqLine;
using testing::FakeTimer;

class RtcTest : public ::testing::Test {
protected:
    uint8_t reg(uint8_t index)
    {
        rtc_.write(0, 1, index);
        return static_cast<uint8_t>(rtc_.read(1, 1));
    }
    void set(uint8_t index, uint8_t value)
    {
        rtc_.write(0, 1, index);
        rtc_.write(1, 1, value);
    }
    void set_wall(int64_t unix_seconds, std::chrono::nanoseconds extra = 0ns)
    {
        clock_.set_wall(std::chrono::system_clock::time_point{
            std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::seconds{unix_seconds} + extra)});
    }

    FakeClock clock_;  // 2024-03-15 12:34:56 UTC, a Friday
    FakeTimer timer_{clock_};
    FakeIrqLine irq_;
    CmosRtc rtc_{clock_, timer_, irq_};
};

TEST_F(RtcTest, PowerOnStatusRegisters)
{
    EXPECT_EQ(reg(RTC_REG_A), 0x26);  // 32.768 kHz, 1024 Hz rate, UIP clear
    EXPECT_EQ(reg(RTC_REG_B), RTC_24H);
    EXPECT_EQ(reg(RTC_REG_C), 0x00);
    EXPECT_EQ(reg(RTC_REG_D), RTC_VRT);
    EXPECT_FALSE(timer_.armed());
}

TEST_F(RtcTest, ReadsTheWallClockInBcd)
{
    EXPECT_EQ(reg(RTC_SECONDS), 0x56);
    EXPECT_EQ(reg(RTC_MINUTES), 0x34);
    EXPECT_EQ(reg(RTC_HOURS), 0x12);
    EXPECT_EQ(reg(RTC_DAY_OF_WEEK), 0x06);  // Friday; Sunday is 1
    EXPECT_EQ(reg(RTC_DAY_OF_MONTH), 0x15);
    EXPECT_EQ(reg(RTC_MONTH), 0x03);
    EXPECT_EQ(reg(RTC_YEAR), 0x24);
    EXPECT_EQ(reg(RTC_CENTURY), 0x20);
}

TEST_F(RtcTest, ReadsTheWallClockInBinary)
{
    set(RTC_REG_B, RTC_24H | RTC_DM_BINARY);
    EXPECT_EQ(reg(RTC_SECONDS), 56);
    EXPECT_EQ(reg(RTC_MINUTES), 34);
    EXPECT_EQ(reg(RTC_HOURS), 12);
    EXPECT_EQ(reg(RTC_DAY_OF_MONTH), 15);
    EXPECT_EQ(reg(RTC_MONTH), 3);
    EXPECT_EQ(reg(RTC_YEAR), 24);
    EXPECT_EQ(reg(RTC_CENTURY), 20);
}

TEST_F(RtcTest, TwelveHourModeSetsThePmBit)
{
    set(RTC_REG_B, 0);  // BCD, 12-hour
    EXPECT_EQ(reg(RTC_HOURS), 0x92);  // 12 PM
    set_wall(1710462600);             // 2024-03-15 00:30:00: 12 AM
    EXPECT_EQ(reg(RTC_HOURS), 0x12);
    set_wall(1710460800 + 23 * 3600);  // 23:00
    EXPECT_EQ(reg(RTC_HOURS), 0x91);
    set(RTC_REG_B, RTC_DM_BINARY);
    EXPECT_EQ(reg(RTC_HOURS), 0x8b);  // 11 PM in binary
    set_wall(1710460800 + 9 * 3600);  // 09:00
    EXPECT_EQ(reg(RTC_HOURS), 9);
}

TEST_F(RtcTest, TimeFollowsTheClock)
{
    clock_.advance(1s);
    EXPECT_EQ(reg(RTC_SECONDS), 0x57);
    clock_.advance(4s);  // 12:35:01
    EXPECT_EQ(reg(RTC_SECONDS), 0x01);
    EXPECT_EQ(reg(RTC_MINUTES), 0x35);
}

TEST_F(RtcTest, UipIsSetOnlyJustBeforeAnUpdate)
{
    set_wall(1710506096, 999'800us);
    EXPECT_EQ(reg(RTC_REG_A) & RTC_UIP, RTC_UIP);
    set_wall(1710506096, 999'700us);
    EXPECT_EQ(reg(RTC_REG_A) & RTC_UIP, 0);
    set_wall(1710506096, 500ms);
    EXPECT_EQ(reg(RTC_REG_A) & RTC_UIP, 0);
    set_wall(1710506096, 999'900us);
    set(RTC_REG_B, RTC_24H | RTC_SET);  // no updates, so never in progress
    EXPECT_EQ(reg(RTC_REG_A) & RTC_UIP, 0);
}

TEST_F(RtcTest, UipCannotBeWrittenAndTheRestOfAIsKept)
{
    set(RTC_REG_A, RTC_UIP | RTC_REF_CLCK_32KHZ | 0x0f);
    EXPECT_EQ(reg(RTC_REG_A), RTC_REF_CLCK_32KHZ | 0x0f);
}

// mc146818_set_time(): SET, divider reset, year..seconds, then restore B
// and A.  The new time then runs on from the wall clock.
TEST_F(RtcTest, LinuxSetTimeSequence)
{
    const uint8_t save_control = reg(RTC_REG_B);
    set(RTC_REG_B, save_control | RTC_SET);
    const uint8_t save_freq_select = reg(RTC_REG_A);
    set(RTC_REG_A, save_freq_select | RTC_DIV_RESET2);
    set(RTC_YEAR, 0x30);
    set(RTC_MONTH, 0x01);
    set(RTC_DAY_OF_MONTH, 0x02);
    set(RTC_HOURS, 0x03);
    set(RTC_MINUTES, 0x04);
    set(RTC_SECONDS, 0x05);
    clock_.advance(3s);  // stopped: nothing moves
    EXPECT_EQ(reg(RTC_SECONDS), 0x05);
    set(RTC_REG_B, save_control);
    set(RTC_REG_A, save_freq_select);

    EXPECT_EQ(reg(RTC_SECONDS), 0x05);
    clock_.advance(2s);
    EXPECT_EQ(reg(RTC_SECONDS), 0x07);
    EXPECT_EQ(reg(RTC_MINUTES), 0x04);
    EXPECT_EQ(reg(RTC_HOURS), 0x03);
    EXPECT_EQ(reg(RTC_DAY_OF_MONTH), 0x02);
    EXPECT_EQ(reg(RTC_MONTH), 0x01);
    EXPECT_EQ(reg(RTC_YEAR), 0x30);
    EXPECT_EQ(reg(RTC_CENTURY), 0x20);
    EXPECT_EQ(reg(RTC_DAY_OF_WEEK), 0x04);  // 2030-01-02 is a Wednesday
}

TEST_F(RtcTest, SetFreezesTheTimeBytesAndKeepsWhatIsWritten)
{
    set(RTC_REG_B, RTC_24H | RTC_SET);
    clock_.advance(10s);
    EXPECT_EQ(reg(RTC_SECONDS), 0x56);
    set(RTC_MINUTES, 0x59);
    EXPECT_EQ(reg(RTC_MINUTES), 0x59);
    EXPECT_EQ(reg(RTC_SECONDS), 0x56);
    set(RTC_REG_B, RTC_24H);
    EXPECT_EQ(reg(RTC_MINUTES), 0x59);
    clock_.advance(4s);
    EXPECT_EQ(reg(RTC_SECONDS), 0x00);
    EXPECT_EQ(reg(RTC_MINUTES), 0x00);
    EXPECT_EQ(reg(RTC_HOURS), 0x13);
}

TEST_F(RtcTest, WritesWhileRunningTakeEffectAtOnce)
{
    set(RTC_MINUTES, 0x00);
    EXPECT_EQ(reg(RTC_MINUTES), 0x00);
    EXPECT_EQ(reg(RTC_SECONDS), 0x56);
    set(RTC_CENTURY, 0x21);
    EXPECT_EQ(reg(RTC_CENTURY), 0x21);
    EXPECT_EQ(reg(RTC_YEAR), 0x24);
    clock_.advance(4s);
    EXPECT_EQ(reg(RTC_MINUTES), 0x01);
    EXPECT_EQ(reg(RTC_SECONDS), 0x00);
}

TEST_F(RtcTest, DayOfMonthPastTheMonthEndRollsOver)
{
    set(RTC_REG_B, RTC_24H | RTC_SET);
    set(RTC_MONTH, 0x02);
    set(RTC_DAY_OF_MONTH, 0x31);  // 2024 is a leap year: Feb 31 = Mar 2
    set(RTC_REG_B, RTC_24H);
    EXPECT_EQ(reg(RTC_MONTH), 0x03);
    EXPECT_EQ(reg(RTC_DAY_OF_MONTH), 0x02);
}

TEST_F(RtcTest, TwelveHourWritesAreDecoded)
{
    set(RTC_REG_B, RTC_SET);      // BCD, 12-hour
    set(RTC_HOURS, 0x80 | 0x12);  // 12 PM
    set(RTC_REG_B, 0);
    set(RTC_REG_B, RTC_24H);  // switching modes while running re-encodes
    EXPECT_EQ(reg(RTC_HOURS), 0x12);
    set(RTC_REG_B, RTC_SET);
    set(RTC_HOURS, 0x12);  // 12 AM
    set(RTC_REG_B, 0);
    set(RTC_REG_B, RTC_24H);
    EXPECT_EQ(reg(RTC_HOURS), 0x00);
    set(RTC_REG_B, RTC_SET);
    set(RTC_HOURS, 0x80 | 0x07);  // 7 PM
    set(RTC_REG_B, 0);
    set(RTC_REG_B, RTC_24H);
    EXPECT_EQ(reg(RTC_HOURS), 0x19);
}

TEST_F(RtcTest, DividerResetStopsTheClock)
{
    set(RTC_REG_A, RTC_DIV_RESET2 | 0x06);
    clock_.advance(10s);
    EXPECT_EQ(reg(RTC_SECONDS), 0x56);
    set(RTC_REG_A, RTC_REF_CLCK_32KHZ | 0x06);
    EXPECT_EQ(reg(RTC_SECONDS), 0x56);
    clock_.advance(1s);
    EXPECT_EQ(reg(RTC_SECONDS), 0x57);
}

TEST_F(RtcTest, UpdateEndedInterrupt)
{
    set(RTC_REG_B, RTC_24H | RTC_UIE);
    ASSERT_TRUE(timer_.armed());
    clock_.advance(999ms);
    EXPECT_FALSE(irq_.level());
    clock_.advance(1ms);
    EXPECT_TRUE(irq_.level());
    EXPECT_EQ(reg(RTC_SECONDS), 0x57);
    EXPECT_EQ(reg(RTC_REG_C), RTC_IRQF | RTC_UF);
    EXPECT_FALSE(irq_.level());
    EXPECT_EQ(reg(RTC_REG_C), 0x00);  // read clears
    clock_.advance(1s);
    EXPECT_TRUE(irq_.level());
    EXPECT_EQ(irq_.rising_edges(), 2u);
}

TEST_F(RtcTest, SetClearsUieAndStopsUpdates)
{
    set(RTC_REG_B, RTC_24H | RTC_UIE);
    set(RTC_REG_B, RTC_24H | RTC_UIE | RTC_SET);
    EXPECT_EQ(reg(RTC_REG_B), RTC_24H | RTC_SET);
    EXPECT_FALSE(timer_.armed());
    clock_.advance(3s);
    EXPECT_FALSE(irq_.level());
    EXPECT_EQ(reg(RTC_REG_C), 0x00);
}

TEST_F(RtcTest, AlarmInterrupt)
{
    set(RTC_HOURS_ALARM, 0x12);
    set(RTC_MINUTES_ALARM, 0x35);
    set(RTC_SECONDS_ALARM, 0x00);
    set(RTC_REG_B, RTC_24H | RTC_AIE);
    clock_.advance(3s);  // 12:34:59
    EXPECT_FALSE(irq_.level());
    EXPECT_EQ(reg(RTC_REG_C), RTC_UF);  // updates happen, but UIE is off: no IRQF
    clock_.advance(1s);                 // 12:35:00
    EXPECT_TRUE(irq_.level());
    EXPECT_EQ(reg(RTC_REG_C), RTC_IRQF | RTC_AF | RTC_UF);
    EXPECT_FALSE(irq_.level());
    clock_.advance(1s);
    EXPECT_FALSE(irq_.level());
    EXPECT_EQ(reg(RTC_REG_C), RTC_UF);
}

TEST_F(RtcTest, AlarmDontCareBytesMatchEverySecond)
{
    set(RTC_HOURS_ALARM, 0xc0);
    set(RTC_MINUTES_ALARM, 0xff);
    set(RTC_SECONDS_ALARM, 0x58);
    set(RTC_REG_B, RTC_24H | RTC_AIE);
    clock_.advance(1s);
    EXPECT_FALSE(irq_.level());
    clock_.advance(1s);  // :58
    EXPECT_TRUE(irq_.level());
}

TEST_F(RtcTest, PeriodicInterrupt)
{
    set(RTC_REG_A, RTC_REF_CLCK_32KHZ | 0x0f);  // 2 Hz
    set(RTC_REG_B, RTC_24H | RTC_PIE);
    clock_.advance(499ms);
    EXPECT_FALSE(irq_.level());
    clock_.advance(1ms);
    EXPECT_TRUE(irq_.level());
    EXPECT_EQ(reg(RTC_REG_C), RTC_IRQF | RTC_PF);
    clock_.advance(500ms);
    EXPECT_TRUE(irq_.level());

    set(RTC_REG_A, RTC_REF_CLCK_32KHZ | 0x06);  // 1024 Hz
    reg(RTC_REG_C);
    EXPECT_EQ(timer_.deadline(), clock_.monotonic() + 976'562ns);
    set(RTC_REG_B, RTC_24H);
    EXPECT_FALSE(timer_.armed());
}

TEST_F(RtcTest, ALateTimerSkipsMissedEvents)
{
    set(RTC_REG_B, RTC_24H | RTC_UIE);
    clock_.advance_late(3500ms);
    clock_.fire_due();
    EXPECT_EQ(timer_.fire_count(), 1u);
    EXPECT_EQ(timer_.deadline(), clock_.monotonic() + 500ms);
}

TEST_F(RtcTest, IndexBit7IsTheNmiMask)
{
    rtc_.write(0, 1, 0x80 | RTC_REG_D);
    EXPECT_TRUE(rtc_.nmi_masked());
    EXPECT_EQ(rtc_.read(1, 1), RTC_VRT);
    rtc_.write(0, 1, RTC_REG_D);
    EXPECT_FALSE(rtc_.nmi_masked());
}

TEST_F(RtcTest, CmosRamHoldsBytes)
{
    for (unsigned i = 0x0e; i < 0x80; ++i) {
        if (i != RTC_CENTURY) {
            set(static_cast<uint8_t>(i), static_cast<uint8_t>(i ^ 0xa5));
        }
    }
    for (unsigned i = 0x0e; i < 0x80; ++i) {
        if (i != RTC_CENTURY) {
            ASSERT_EQ(reg(static_cast<uint8_t>(i)), i ^ 0xa5) << i;
        }
    }
    set(RTC_SECONDS_ALARM, 0x42);
    EXPECT_EQ(reg(RTC_SECONDS_ALARM), 0x42);
}

TEST_F(RtcTest, ReadOnlyRegistersIgnoreWrites)
{
    set(RTC_REG_D, 0x00);
    EXPECT_EQ(reg(RTC_REG_D), RTC_VRT);
    set(RTC_REG_C, 0xff);
    EXPECT_EQ(reg(RTC_REG_C), 0x00);
}

TEST_F(RtcTest, IndexPortIsWriteOnlyAndOtherWidthsFloat)
{
    EXPECT_EQ(rtc_.read(0, 1), 0xffu);
    EXPECT_EQ(rtc_.read(1, 2), 0xffffu);
    rtc_.write(0, 1, 0x40);
    rtc_.write(1, 2, 0x1234);  // ignored
    EXPECT_EQ(reg(0x40), 0x00);
}

// Snapshots.  The restored RTC gets fresh fakes whose monotonic clock
// reads differently; only the wall clock is carried over, as a host's is.
struct RtcRig {
    FakeClock clock;
    FakeTimer timer{clock};
    FakeIrqLine irq;
    CmosRtc rtc{clock, timer, irq};
};

// The register the index already selects, then every register and RAM byte
// (C among them, which clears it), and the IRQ level around them.
std::vector<int> observe(CmosRtc& rtc, const FakeIrqLine& irq)
{
    std::vector<int> seen{static_cast<int>(rtc.read(1, 1)), rtc.nmi_masked(), irq.level()};
    for (unsigned index = 0; index < kCmosRegisters; ++index) {
        rtc.write(0, 1, index);
        seen.push_back(static_cast<int>(rtc.read(1, 1)));
    }
    seen.push_back(irq.level());
    return seen;
}

constexpr size_t kSeenRegC = 3 + RTC_REG_C;
constexpr uint8_t kAlarmAny = 0xc0;  // an alarm byte of 11xxxxxx matches every value

// Everything at once: RAM, an offset, an alarm, UIE and a 2 Hz periodic
// interrupt pending with flags up, NMI masked, and a RAM index selected.
std::vector<uint8_t> busy_rtc(CmosRtc& rtc, FakeClock& clock)
{
    auto set = [&](uint8_t index, uint8_t value) {
        rtc.write(0, 1, index);
        rtc.write(1, 1, value);
    };
    set(0x20, 0xab);
    set(0x7f, 0x5a);
    set(RTC_MINUTES, 0x40);  // six minutes ahead of the wall clock
    set(RTC_HOURS_ALARM, kAlarmAny);
    set(RTC_MINUTES_ALARM, kAlarmAny);
    set(RTC_SECONDS_ALARM, 0x58);
    set(RTC_REG_A, RTC_REF_CLCK_32KHZ | 0x0f);
    set(RTC_REG_B, RTC_24H | RTC_PIE | RTC_AIE | RTC_UIE);
    clock.advance(1250ms);  // :57.25, PF and UF up
    rtc.write(0, 1, 0x80 | 0x20);
    StateWriter state;
    rtc.save(state);
    return state.bytes();
}

bool restores(std::span<const uint8_t> bytes)
{
    RtcRig rig;
    StateReader in(bytes);
    const bool ok = rig.rtc.restore(in);
    EXPECT_EQ(rig.timer.armed(), ok);
    return ok;
}

TEST_F(RtcTest, SnapshotRoundTripKeepsRegistersRamTimeAndEventPhase)
{
    const std::vector<uint8_t> state = busy_rtc(rtc_, clock_);
    ASSERT_TRUE(irq_.level());
    RtcRig rig;
    rig.clock.advance(7ms);
    rig.clock.set_wall(clock_.wall());
    StateReader in(state);
    ASSERT_TRUE(rig.rtc.restore(in));
    EXPECT_TRUE(in.done());
    EXPECT_TRUE(rig.irq.level());  // driven by the restore, before any access
    ASSERT_TRUE(rig.timer.deadline());
    EXPECT_EQ(*rig.timer.deadline() - rig.clock.monotonic(), *timer_.deadline() - clock_.monotonic());

    const std::vector<int> want = observe(rtc_, irq_);
    ASSERT_EQ(want[0], 0xab);
    ASSERT_EQ(want[kSeenRegC], RTC_IRQF | RTC_PF | RTC_UF);
    EXPECT_EQ(observe(rig.rtc, rig.irq), want);
    for (int step = 1; step <= 8; ++step) {  // periodic ticks, updates, the alarm at :58
        clock_.advance(250ms);
        rig.clock.advance(250ms);
        const std::vector<int> later = observe(rtc_, irq_);
        EXPECT_EQ(observe(rig.rtc, rig.irq), later) << step;
        EXPECT_EQ(later[kSeenRegC] & RTC_PF, step % 2 ? RTC_PF : 0) << step;
        EXPECT_EQ(later[kSeenRegC] & RTC_AF, step == 3 ? RTC_AF : 0) << step;
    }
}

TEST_F(RtcTest, SnapshotRestoreDrivesTheLineEvenLow)
{
    StateWriter state;
    rtc_.save(state);
    RtcRig rig;
    rig.irq.set_level(true);  // the wire as some earlier state left it
    StateReader in(state.bytes());
    ASSERT_TRUE(rig.rtc.restore(in));
    EXPECT_FALSE(rig.irq.level());
    EXPECT_FALSE(rig.timer.armed());
}

TEST_F(RtcTest, SnapshotRestoreRefusesTruncatedAndImpossibleStates)
{
    const std::vector<uint8_t> state = busy_rtc(rtc_, clock_);
    ASSERT_TRUE(restores(state));
    for (size_t n = 0; n < state.size(); ++n) {
        EXPECT_FALSE(restores(std::span(state).first(n))) << n;
    }
    constexpr size_t kIndex = 0, kRegA = 2, kRegC = 4, kRamRegD = 13 + RTC_REG_D;
    const size_t periodic_pending = state.size() - 9, periodic_low = state.size() - 8;
    const std::vector<std::pair<size_t, uint8_t>> impossible = {
        {kIndex, 0x80},  {kRegA, RTC_UIP | 0x2f}, {kRegC, RTC_IRQF}, {kRamRegD, 1},
        {periodic_pending, 0},                    // PIE set but no periodic event
        {periodic_low + 4, 0x01},                 // due 4.5 s ahead at 2 Hz
    };
    for (auto [at, value] : impossible) {
        std::vector<uint8_t> bad = state;
        bad[at] = value;
        EXPECT_FALSE(restores(bad)) << at << " = " << int{value};
    }
}

}  // namespace
}  // namespace vmruntime::dev
