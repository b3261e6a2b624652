// SPDX-License-Identifier: BSD-2-Clause
//
// 8254 PIT and port 0x61: driven by port offset the way Linux's i8253
// clockevent (mode 2 periodic, mode 0 one-shot) and its TSC calibration
// (counter 2 in mode 0, gated and watched through port 0x61) drive them,
// checked against the 8254 datasheet with a hand-stepped clock.
#include "vmruntime/dev/pit8254.h"

#include <gtest/gtest.h>

#include <functional>
#include <span>
#include <utility>
#include <vector>

#include "tests/unit/dev/fakes.h"
#include "vmruntime/dev/device_state.h"
#include "vmruntime/dev/port61.h"

namespace vmruntime::dev {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using std::chrono::seconds;
using testing::FakeClock;
using testing::FakeIrqLine;
using testing::FakeTimer;

constexpr uint16_t kControl = 3;
constexpr uint16_t kHz100Divisor = 11932;  // Linux's LATCH for HZ=100

// When tick `n` after a load at time 0 happens: ceil(n / 1.193182 MHz).
nanoseconds tick_time(uint64_t n)
{
    return nanoseconds((n * 1'000'000'000 + kPitFrequencyHz - 1) / kPitFrequencyHz);
}

class Pit8254Test : public ::testing::Test {
protected:
    void program(uint16_t counter, uint8_t control, uint16_t count)
    {
        pit_.write(kControl, 1, control);
        pit_.write(counter, 1, count & 0xff);
        pit_.write(counter, 1, count >> 8);
    }
    // Absolute: tick `n` of a count loaded at time 0.
    void advance_to_tick(uint64_t n) { clock_.advance(tick_time(n) - clock_.monotonic()); }
    // Relative: `n` more ticks of a count loaded now.
    void advance_ticks(uint64_t n) { clock_.advance(tick_time(n)); }
    uint16_t read16(uint16_t counter)
    {
        uint16_t lsb = static_cast<uint16_t>(pit_.read(counter, 1));
        return static_cast<uint16_t>(lsb | pit_.read(counter, 1) << 8);
    }
    uint16_t latched(uint16_t counter)
    {
        pit_.write(kControl, 1, static_cast<uint8_t>(counter << PIT_CW_SC_SHIFT));
        return read16(counter);
    }
    uint8_t status(uint16_t counter)
    {
        pit_.write(kControl, 1, static_cast<uint8_t>(0xe0 | PIT_RB_CNT0 << counter));
        return static_cast<uint8_t>(pit_.read(counter, 1));
    }
    bool out2() { return port61_.read(0, 1) & PORT61_TIM2_OUT; }

    FakeClock clock_;
    FakeTimer timer_{clock_};
    FakeIrqLine irq0_;
    Pit8254 pit_{clock_, timer_, irq0_};
    Port61 port61_{pit_};
};

TEST_F(Pit8254Test, Mode2WithLinuxLatchGives100HzOnIrq0)
{
    program(0, 0x34, kHz100Divisor);
    ASSERT_TRUE(timer_.deadline());
    EXPECT_EQ(*timer_.deadline(), nanoseconds(10'000'151));
    clock_.advance(seconds(1));
    // One period is 10.000151 ms, so the 100th edge lands just after 1 s.
    EXPECT_EQ(irq0_.rising_edges(), 99u);
    EXPECT_FALSE(irq0_.level());  // pulsed: the PIC latches the edge
    clock_.advance(seconds(9));
    EXPECT_EQ(irq0_.rising_edges(), 999u);
}

TEST_F(Pit8254Test, Mode2CountsDownAndReloads)
{
    program(0, 0x34, 1000);
    EXPECT_EQ(latched(0), 1000);
    advance_to_tick(1);
    EXPECT_EQ(latched(0), 999);
    advance_to_tick(999);
    EXPECT_EQ(latched(0), 1);
    EXPECT_FALSE(pit_.output(0));  // low for the tick at count 1
    EXPECT_EQ(irq0_.rising_edges(), 0u);
    advance_to_tick(1000);
    EXPECT_EQ(latched(0), 1000);
    EXPECT_TRUE(pit_.output(0));
    EXPECT_EQ(irq0_.rising_edges(), 1u);
}

TEST_F(Pit8254Test, LateTimerCoalescesMissedEdgesAndKeepsThePeriodGrid)
{
    program(0, 0x34, kHz100Divisor);
    clock_.advance_late(milliseconds(55));
    clock_.fire_due();
    EXPECT_EQ(irq0_.rising_edges(), 1u);  // five edges missed, one latched
    ASSERT_TRUE(timer_.deadline());
    EXPECT_EQ(*timer_.deadline(), tick_time(6 * kHz100Divisor));
    clock_.advance(tick_time(100 * kHz100Divisor) - clock_.monotonic());
    EXPECT_EQ(irq0_.rising_edges(), 1u + 95u);
}

TEST_F(Pit8254Test, Mode2NewCountTakesEffectAtEndOfCycle)
{
    program(0, 0x34, 1000);
    advance_to_tick(300);
    pit_.write(0, 1, 500 & 0xff);
    pit_.write(0, 1, 500 >> 8);
    EXPECT_EQ(status(0) & PIT_STATUS_NULL_COUNT, PIT_STATUS_NULL_COUNT);
    EXPECT_EQ(latched(0), 700);
    EXPECT_EQ(*timer_.deadline(), tick_time(1000));
    advance_to_tick(1000);
    EXPECT_EQ(irq0_.rising_edges(), 1u);
    EXPECT_EQ(status(0) & PIT_STATUS_NULL_COUNT, 0);
    EXPECT_EQ(latched(0), 500);
    advance_ticks(499);
    EXPECT_EQ(irq0_.rising_edges(), 1u);
    advance_ticks(1);
    EXPECT_EQ(irq0_.rising_edges(), 2u);
}

TEST_F(Pit8254Test, Mode0OneShotRaisesOutAtTerminalCountOnce)
{
    program(0, 0x30, 1000);
    EXPECT_FALSE(pit_.output(0));
    advance_to_tick(999);
    EXPECT_EQ(irq0_.rising_edges(), 0u);
    EXPECT_EQ(latched(0), 1);
    advance_to_tick(1000);
    EXPECT_EQ(irq0_.rising_edges(), 1u);
    EXPECT_TRUE(pit_.output(0));
    EXPECT_EQ(latched(0), 0);
    clock_.advance(seconds(1));
    EXPECT_EQ(irq0_.rising_edges(), 1u);
    EXPECT_FALSE(timer_.armed());
    EXPECT_TRUE(pit_.output(0));  // OUT stays high while the count wraps
}

TEST_F(Pit8254Test, ControlWordStopsCounterAsLinuxShutdownDoes)
{
    program(0, 0x34, 1000);
    advance_to_tick(500);
    pit_.write(kControl, 1, 0x30);
    EXPECT_FALSE(timer_.armed());
    EXPECT_FALSE(pit_.output(0));
    clock_.advance(seconds(1));
    EXPECT_EQ(irq0_.rising_edges(), 0u);
    EXPECT_EQ(status(0), 0x70);  // OUT low, NULL COUNT, LSB/MSB, mode 0
}

TEST_F(Pit8254Test, Mode0FirstByteStopsCountingAndDropsOut)
{
    program(0, 0x30, 100);
    advance_to_tick(150);
    EXPECT_TRUE(pit_.output(0));
    pit_.write(0, 1, 50);
    EXPECT_FALSE(pit_.output(0));
    EXPECT_FALSE(timer_.armed());
    EXPECT_EQ(status(0), 0x70);
    pit_.write(0, 1, 0);
    EXPECT_EQ(*timer_.deadline(), clock_.monotonic() + tick_time(50));
}

TEST_F(Pit8254Test, ReadBackStatusByteFollowsTheDatasheet)
{
    pit_.write(kControl, 1, 0xb0);  // counter 2, LSB/MSB, mode 0, binary
    EXPECT_EQ(status(2), 0x70);     // NULL COUNT until a count is written
    port61_.write(0, 1, PORT61_TIM2_GATE);
    program(2, 0xb0, 100);
    EXPECT_EQ(status(2), 0x30);
    advance_to_tick(100);
    EXPECT_EQ(status(2), 0xb0);
    pit_.write(kControl, 1, 0x57);  // counter 1, LSB only, mode 3, BCD
    EXPECT_EQ(status(1), 0xd7);     // OUT high, NULL COUNT, LSB, mode 3, BCD
}

TEST_F(Pit8254Test, ReadBackLatchesStatusThenCountOfSeveralCounters)
{
    program(0, 0x34, 1000);
    program(1, 0x74, 2000);
    advance_to_tick(10);
    pit_.write(kControl, 1, 0xc6);  // count and status of counters 0 and 1
    advance_to_tick(20);
    EXPECT_EQ(pit_.read(0, 1), 0xb4u);  // OUT high, LSB/MSB, mode 2
    EXPECT_EQ(read16(0), 990);
    EXPECT_EQ(pit_.read(1, 1), 0xb4u);
    EXPECT_EQ(read16(1), 1990);
    EXPECT_EQ(read16(0), 980);  // latches released: live count again
}

TEST_F(Pit8254Test, ReadBackOfStatusOnlyLeavesCountLive)
{
    program(0, 0x34, 1000);
    pit_.write(kControl, 1, 0xe2);
    advance_to_tick(5);
    EXPECT_EQ(pit_.read(0, 1), 0xb4u);
    EXPECT_EQ(read16(0), 995);
}

TEST_F(Pit8254Test, CounterLatchHoldsUntilReadAndIgnoresASecondLatch)
{
    program(0, 0x34, 1000);
    advance_to_tick(100);
    pit_.write(kControl, 1, 0x00);
    advance_to_tick(200);
    pit_.write(kControl, 1, 0x00);
    EXPECT_EQ(read16(0), 900);
    EXPECT_EQ(latched(0), 800);
}

TEST_F(Pit8254Test, SingleByteModesReadAndWriteOneByte)
{
    pit_.write(kControl, 1, 0x54);  // counter 1, LSB only, mode 2
    pit_.write(1, 1, 200);
    advance_to_tick(50);
    EXPECT_EQ(pit_.read(1, 1), 150u);
    EXPECT_EQ(pit_.read(1, 1), 150u);
    pit_.write(kControl, 1, 0x64);  // counter 1, MSB only, mode 2
    pit_.write(1, 1, 0x02);         // 512
    advance_ticks(256);
    EXPECT_EQ(pit_.read(1, 1), 0x01u);
}

TEST_F(Pit8254Test, Mode3EvenCountSquareWave)
{
    port61_.write(0, 1, PORT61_TIM2_GATE);
    program(2, 0xb6, 10);
    const uint16_t counts[] = {10, 8, 6, 4, 2, 10, 8, 6, 4, 2, 10};
    const bool outs[] = {true, true, true, true, true, false, false, false, false, false, true};
    for (unsigned t = 0; t <= 10; ++t) {
        advance_to_tick(t);
        EXPECT_EQ(latched(2), counts[t]) << "tick " << t;
        EXPECT_EQ(pit_.output(2), outs[t]) << "tick " << t;
    }
}

TEST_F(Pit8254Test, Mode3OddCountIsHighOneTickLonger)
{
    port61_.write(0, 1, PORT61_TIM2_GATE);
    program(2, 0xb6, 7);
    const uint16_t counts[] = {7, 6, 4, 2, 7, 4, 2, 7};
    const bool outs[] = {true, true, true, true, false, false, false, true};
    for (unsigned t = 0; t <= 7; ++t) {
        advance_to_tick(t);
        EXPECT_EQ(latched(2), counts[t]) << "tick " << t;
        EXPECT_EQ(pit_.output(2), outs[t]) << "tick " << t;
    }
}

TEST_F(Pit8254Test, Mode3NewCountWrittenInHighHalfStartsInItsLowHalf)
{
    port61_.write(0, 1, PORT61_TIM2_GATE);
    program(2, 0xb6, 10);
    advance_to_tick(2);
    pit_.write(2, 1, 6);
    pit_.write(2, 1, 0);
    advance_to_tick(4);
    EXPECT_TRUE(pit_.output(2));
    EXPECT_EQ(latched(2), 2);  // the old count finishes its high half
    advance_to_tick(5);
    EXPECT_FALSE(pit_.output(2));
    EXPECT_EQ(latched(2), 6);
    advance_ticks(2);
    EXPECT_FALSE(pit_.output(2));
    EXPECT_EQ(latched(2), 2);
    advance_ticks(1);
    EXPECT_TRUE(pit_.output(2));  // then 3 high, 3 low
    advance_ticks(3);
    EXPECT_FALSE(pit_.output(2));
}

TEST_F(Pit8254Test, Mode3OnCounter0PulsesIrq0OncePerPeriod)
{
    program(0, 0x36, 1000);
    advance_to_tick(999);
    EXPECT_EQ(irq0_.rising_edges(), 0u);
    advance_to_tick(10'000);
    EXPECT_EQ(irq0_.rising_edges(), 10u);
}

TEST_F(Pit8254Test, Mode4StrobesLowForOneTick)
{
    port61_.write(0, 1, PORT61_TIM2_GATE);
    program(2, 0xb8, 5);
    advance_to_tick(4);
    EXPECT_TRUE(pit_.output(2));
    advance_to_tick(5);
    EXPECT_FALSE(pit_.output(2));
    advance_to_tick(6);
    EXPECT_TRUE(pit_.output(2));
}

// A host that is slow between two readings of the clock (the vCPU thread
// preempted while the PIT takes a write): every reading here is a
// millisecond after the one before.
class CreepingClock final : public Clock {
public:
    nanoseconds monotonic() const override { return now_ += milliseconds(1); }
    std::chrono::system_clock::time_point wall() const override { return {}; }

private:
    mutable nanoseconds now_{0};
};

class RecordingTimer final : public Timer {
public:
    void arm(nanoseconds, std::function<void()> fire) override { fire_ = std::move(fire); }
    void cancel() override { fire_ = nullptr; }
    bool armed() const { return fire_ != nullptr; }
    void fire() { std::exchange(fire_, nullptr)(); }

private:
    std::function<void()> fire_;
};

// Linux's one-shot clockevent: a count whose only edge fell before the PIT
// looked at the clock again must still raise IRQ 0 (dropped, the guest
// waited for that tick forever).
TEST(Pit8254SlowHostTest, AOneShotEdgeThatPassedWhileTheCountWasLoadedStillComes)
{
    CreepingClock clock;
    RecordingTimer timer;
    FakeIrqLine irq0;
    Pit8254 pit(clock, timer, irq0);
    pit.write(kControl, 1, 0x38);  // counter 0, LSB then MSB, mode 4
    pit.write(0, 1, 100);          // 84 us, far less than a reading's millisecond
    pit.write(0, 1, 0);
    ASSERT_TRUE(timer.armed());
    timer.fire();
    EXPECT_EQ(irq0.rising_edges(), 1u);
}

TEST_F(Pit8254Test, Mode1OneShotStartsOnGateRisingEdge)
{
    program(2, 0xb2, 5);
    advance_to_tick(100);
    EXPECT_TRUE(pit_.output(2));
    EXPECT_EQ(status(2) & PIT_STATUS_NULL_COUNT, PIT_STATUS_NULL_COUNT);
    port61_.write(0, 1, PORT61_TIM2_GATE);
    EXPECT_FALSE(pit_.output(2));
    advance_ticks(4);
    EXPECT_FALSE(pit_.output(2));
    EXPECT_EQ(latched(2), 1);
    advance_ticks(1);
    EXPECT_TRUE(pit_.output(2));
}

TEST_F(Pit8254Test, Mode5StrobesAfterGateTrigger)
{
    program(2, 0xba, 3);
    port61_.write(0, 1, PORT61_TIM2_GATE);
    advance_to_tick(2);
    EXPECT_TRUE(pit_.output(2));
    advance_to_tick(3);
    EXPECT_FALSE(pit_.output(2));
    advance_to_tick(4);
    EXPECT_TRUE(pit_.output(2));
}

TEST_F(Pit8254Test, BcdCountsInDecimal)
{
    program(0, 0x31, 0x0100);  // mode 0, BCD, count 100
    advance_to_tick(1);
    EXPECT_EQ(latched(0), 0x0099);
    advance_to_tick(100);
    EXPECT_EQ(irq0_.rising_edges(), 1u);
    advance_to_tick(101);
    EXPECT_EQ(latched(0), 0x9999);  // wraps through 0 to 9999
}

TEST_F(Pit8254Test, GateLowSuspendsMode0Counting)
{
    port61_.write(0, 1, PORT61_TIM2_GATE);
    program(2, 0xb0, 1000);
    advance_to_tick(100);
    port61_.write(0, 1, 0);
    advance_to_tick(600);
    EXPECT_EQ(latched(2), 900);
    port61_.write(0, 1, PORT61_TIM2_GATE);
    advance_ticks(50);
    EXPECT_EQ(latched(2), 850);
}

TEST_F(Pit8254Test, GateRisingEdgeRestartsMode2)
{
    port61_.write(0, 1, PORT61_TIM2_GATE);
    program(2, 0xb4, 1000);
    advance_to_tick(400);
    port61_.write(0, 1, 0);
    EXPECT_TRUE(pit_.output(2));
    advance_to_tick(500);
    port61_.write(0, 1, PORT61_TIM2_GATE);
    EXPECT_EQ(latched(2), 1000);
    advance_ticks(10);
    EXPECT_EQ(latched(2), 990);
}

// arch/x86/kernel/tsc.c pit_calibrate_tsc(): gate on, speaker off, counter 2
// in mode 0 with CAL_LATCH, then poll port 0x61 until OUT2 goes high.
TEST_F(Pit8254Test, LinuxTscCalibrationLoopSeesOut2AfterTheLatch)
{
    constexpr uint16_t kCalLatch = kPitFrequencyHz / (1000 / 10);
    port61_.write(0, 1, (port61_.read(0, 1) & ~PORT61_SPKR_DATA) | PORT61_TIM2_GATE);
    program(2, 0xb0, kCalLatch);
    unsigned loops = 0;
    while (!(port61_.read(0, 1) & PORT61_TIM2_OUT)) {
        clock_.advance(std::chrono::microseconds(1));
        ASSERT_LT(++loops, 20'000u);
    }
    EXPECT_EQ(kCalLatch, 11931);
    EXPECT_EQ(loops, 10'000u);  // floor(10000 us * 1.193182) = 11931 ticks
}

// arch/x86/kernel/tsc.c quick_pit_calibrate(): count from 0xffff in mode 0
// and watch the MSB fall, reading LSB then MSB of the live count.
TEST_F(Pit8254Test, LinuxQuickCalibrationSeesEveryMsb)
{
    port61_.write(0, 1, PORT61_TIM2_GATE);
    program(2, 0xb0, 0xffff);
    unsigned reads = 0;
    for (uint64_t t = 0; t < 13'000; t += 1) {
        advance_to_tick(t);
        uint16_t value = read16(2);
        reads += 2;
        ASSERT_EQ(value, 0xffff - t) << "tick " << t;
    }
    EXPECT_EQ(reads, 26'000u);
    EXPECT_EQ(pit_.ignored_accesses(), 0u);
}

TEST_F(Pit8254Test, LsbMsbReadsAlternateAndInterleaveWithWrites)
{
    program(0, 0x34, 0x1234);
    EXPECT_EQ(pit_.read(0, 1), 0x34u);
    pit_.write(0, 1, 0x00);  // datasheet: reads and writes may interleave
    EXPECT_EQ(pit_.read(0, 1), 0x12u);
    pit_.write(0, 1, 0x10);
    EXPECT_EQ(pit_.read(0, 1), 0x34u);
}

TEST_F(Pit8254Test, Port61ReportsGateSpeakerOut2AndToggledRefresh)
{
    port61_.write(0, 1, 0xff);
    uint8_t first = static_cast<uint8_t>(port61_.read(0, 1));
    uint8_t second = static_cast<uint8_t>(port61_.read(0, 1));
    EXPECT_EQ(first & 0xcf, 0x0f);
    EXPECT_EQ((first ^ second) & 0xff, PORT61_REFRESH);
    EXPECT_TRUE(pit_.gate(2));
    port61_.write(0, 1, 0x00);
    EXPECT_FALSE(pit_.gate(2));
    EXPECT_EQ(port61_.read(0, 1) & 0x0f, 0u);
}

TEST_F(Pit8254Test, Port61Out2FollowsCounter2)
{
    port61_.write(0, 1, PORT61_TIM2_GATE);
    program(2, 0xb6, 100);  // mode 3: high 50 ticks, low 50
    EXPECT_TRUE(out2());
    advance_to_tick(50);
    EXPECT_FALSE(out2());
    advance_to_tick(100);
    EXPECT_TRUE(out2());
}

// Snapshots: the written bits and the refresh toggle's phase.  GATE2 is the
// PIT's own state, restored before the port, which only checks it.
TEST_F(Pit8254Test, Port61SnapshotRoundTripKeepsBitsAndRefreshPhase)
{
    port61_.write(0, 1, PORT61_TIM2_GATE | PORT61_SPKR_DATA | PORT61_IOCHK_DIS);
    port61_.read(0, 1);
    StateWriter state;
    port61_.save(state);

    FakeClock clock;
    FakeTimer timer{clock};
    FakeIrqLine irq0;
    Pit8254 pit{clock, timer, irq0};
    pit.set_gate(2, true);  // as the PIT's own restore leaves it
    Port61 copy{pit};
    StateReader in(state.bytes());
    ASSERT_TRUE(copy.restore(in));
    EXPECT_TRUE(in.done());
    for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(copy.read(0, 1), port61_.read(0, 1)) << i;
    }
    EXPECT_EQ(copy.ignored_accesses(), 0u);
}

TEST_F(Pit8254Test, Port61SnapshotRestoreRefusesTruncatedAndImpossibleStates)
{
    StateWriter state;
    port61_.save(state);
    auto restores = [&](std::span<const uint8_t> bytes) {
        Port61 copy{pit_};
        StateReader in(bytes);
        return copy.restore(in);
    };
    ASSERT_TRUE(restores(state.bytes()));
    for (size_t n = 0; n < state.bytes().size(); ++n) {
        EXPECT_FALSE(restores(std::span(state.bytes()).first(n))) << n;
    }
    EXPECT_FALSE(restores(std::vector<uint8_t>{PORT61_REFRESH, 0}));    // a read-only bit
    EXPECT_FALSE(restores(std::vector<uint8_t>{0, 2}));                 // not a bool
    EXPECT_FALSE(restores(std::vector<uint8_t>{PORT61_TIM2_GATE, 0}));  // GATE2 is low
}

TEST_F(Pit8254Test, UndecodedAccessesAreIgnoredAndCounted)
{
    EXPECT_EQ(pit_.read(kControl, 1), 0xffffffffu);
    EXPECT_EQ(pit_.read(0, 2), 0xffffffffu);
    pit_.write(4, 1, 0x34);
    pit_.write(kControl, 2, 0x34);
    EXPECT_FALSE(timer_.armed());
    EXPECT_EQ(pit_.ignored_accesses(), 4u);
    EXPECT_EQ(port61_.read(1, 1), 0xffffffffu);
    EXPECT_EQ(port61_.ignored_accesses(), 1u);
}

TEST_F(Pit8254Test, DestructionCancelsTheTimer)
{
    FakeIrqLine line;
    {
        Pit8254 pit(clock_, timer_, line);
        pit.write(kControl, 1, 0x34);
        pit.write(0, 1, 100);
        pit.write(0, 1, 0);
        EXPECT_TRUE(timer_.armed());
    }
    EXPECT_FALSE(timer_.armed());
    clock_.advance(seconds(1));
    EXPECT_EQ(line.rising_edges(), 0u);
}

}  // namespace
}  // namespace vmruntime::dev
