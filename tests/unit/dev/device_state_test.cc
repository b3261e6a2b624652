// SPDX-License-Identifier: BSD-2-Clause
//
// Device state for snapshots: the field codec, and the 8259A pair and the
// 8254 saved mid-flight and restored into fresh devices on a clock that
// reads something else, which must then behave as the originals do.
#include "vmruntime/dev/device_state.h"

#include <gtest/gtest.h>

#include <functional>
#include <optional>
#include <span>
#include <tuple>
#include <vector>

#include "tests/unit/dev/fakes.h"
#include "vmruntime/dev/pic8259.h"
#include "vmruntime/dev/pit8254.h"

namespace vmruntime::dev {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using std::chrono::seconds;

enum class Colour : uint8_t { Red = 1, Blue = 200 };

TEST(DeviceStateTest, FieldsComeBackAsWritten)
{
    StateWriter w;
    w.put(true);
    w.put(uint8_t{0xab});
    w.put(int16_t{-2});
    w.put(uint64_t{0x0123456789abcdef});
    w.put(Colour::Blue);
    w.put(std::optional<uint16_t>(7));
    w.put(std::optional<uint16_t>());
    w.put_time(nanoseconds(1500), nanoseconds(1000));
    w.put_time(std::optional<nanoseconds>(), nanoseconds(1000));
    EXPECT_EQ(w.bytes().size(), 1 + 1 + 2 + 8 + 1 + 3 + 3 + 8 + 9u);

    StateReader r(w.bytes());
    EXPECT_TRUE(r.get<bool>());
    EXPECT_EQ(r.get<uint8_t>(), 0xab);
    EXPECT_EQ(r.get<int16_t>(), -2);
    EXPECT_EQ(r.get<uint64_t>(), 0x0123456789abcdefu);
    EXPECT_EQ(r.get<Colour>(), Colour::Blue);
    EXPECT_EQ(r.get_optional<uint16_t>(), 7);
    EXPECT_EQ(r.get_optional<uint16_t>(), std::nullopt);
    EXPECT_EQ(r.get_time(nanoseconds(9000)), nanoseconds(9500));  // relative to the new clock
    EXPECT_EQ(r.get_optional_time(nanoseconds(0)), std::nullopt);
    EXPECT_TRUE(r.done());
}

TEST(DeviceStateTest, ShortBadBoolAndAbsurdTimesFailTheReader)
{
    const std::vector<uint8_t> two = {2};
    StateReader bad_bool(two);
    EXPECT_FALSE(bad_bool.get<bool>());
    EXPECT_FALSE(bad_bool.ok());

    const std::vector<uint8_t> three = {1, 2, 3};
    StateReader short_read(three);
    EXPECT_EQ(short_read.get<uint32_t>(), 0u);
    EXPECT_FALSE(short_read.ok());
    EXPECT_EQ(short_read.get<uint8_t>(), 0u) << "a failed reader stays failed";

    StateWriter w;
    w.put(INT64_MAX);
    StateReader far(w.bytes());
    EXPECT_EQ(far.get_time(nanoseconds(5)), nanoseconds(5));
    EXPECT_FALSE(far.ok());
}

// Every strict prefix of a valid state is refused; `restore` restores into
// a fresh device.
void expect_prefixes_refused(const std::vector<uint8_t>& state, const std::function<bool(StateReader&)>& restore)
{
    for (size_t n = 0; n < state.size(); n++) {
        StateReader r(std::span<const uint8_t>(state).first(n));
        EXPECT_FALSE(restore(r) && r.done()) << "prefix of " << n << " bytes";
    }
}

class PicStateTest : public ::testing::Test {
protected:
    static void init_like_linux(Pic8259Pair& pic)
    {
        for (auto [chip, icw2, icw3] : {std::tuple{&pic.master(), 0x30, 0x04}, {&pic.slave(), 0x38, 0x02}}) {
            chip->write(0, 1, 0x11);
            chip->write(1, 1, icw2);
            chip->write(1, 1, icw3);
            chip->write(1, 1, 0x01);
        }
        pic.master().write(1, 1, 0x00);
        pic.slave().write(1, 1, 0x00);
    }
    static uint8_t reg(PioDevice& chip, uint8_t ocw3)
    {
        chip.write(0, 1, ocw3);
        return static_cast<uint8_t>(chip.read(0, 1));
    }
    std::vector<uint8_t> saved()
    {
        StateWriter w;
        pic_.save(w);
        return w.bytes();
    }

    Pic8259Pair pic_;
};

TEST_F(PicStateTest, RestoredPairHasTheRequestsInServiceAndMasks)
{
    init_like_linux(pic_);
    pic_.set_irq(9, true);
    ASSERT_EQ(pic_.acknowledge(), 0x39);  // IRQ 9 in service, through IR2
    pic_.set_irq(1, true);                // outranks IR2: pending
    pic_.master().write(1, 1, 0x10);      // IRQ 4 masked
    ASSERT_TRUE(pic_.has_interrupt());

    Pic8259Pair copy;
    std::vector<bool> intr;
    copy.on_intr_change([&](bool level) { intr.push_back(level); });
    const std::vector<uint8_t> state = saved();
    StateReader r(state);
    ASSERT_TRUE(copy.restore(r));
    EXPECT_TRUE(r.done());
    EXPECT_EQ(intr, std::vector<bool>{true}) << "the copy tells its vCPU of the pending IRQ 1";

    for (Pic8259Pair* pic : {&pic_, &copy}) {
        EXPECT_EQ(reg(pic->master(), 0x0a), 0x02) << "IRQ 1 requested";
        EXPECT_EQ(reg(pic->master(), 0x0b), 0x04) << "IR2 in service";
        EXPECT_EQ(reg(pic->slave(), 0x0b), 0x02) << "IRQ 9 in service";
        EXPECT_EQ(pic->master().read(1, 1), 0x10u);
        EXPECT_EQ(pic->acknowledge(), 0x31);
        pic->master().write(0, 1, 0x20);  // ends IRQ 1, the highest in service
        pic->slave().write(0, 1, 0x20);
        pic->master().write(0, 1, 0x20);
        EXPECT_EQ(reg(pic->master(), 0x0b), 0x00);
        pic->set_irq(9, false);
        pic->set_irq(9, true);
        EXPECT_EQ(pic->acknowledge(), 0x39);
    }
}

TEST_F(PicStateTest, TruncatedOrImpossibleStatesAreRefused)
{
    init_like_linux(pic_);
    std::vector<uint8_t> state = saved();
    expect_prefixes_refused(state, [](StateReader& r) { return Pic8259Pair().restore(r); });

    state[8] = 7;  // the master's init step: there are five
    Pic8259Pair copy;
    StateReader r(state);
    EXPECT_FALSE(copy.restore(r));
}

class PitStateTest : public ::testing::Test {
protected:
    struct Pit {
        testing::FakeClock clock;
        testing::FakeTimer timer{clock};
        testing::FakeIrqLine irq0;
        Pit8254 pit{clock, timer, irq0};

        void program(uint16_t counter, uint8_t control, uint16_t count)
        {
            pit.write(3, 1, control);
            pit.write(counter, 1, count & 0xff);
            pit.write(counter, 1, count >> 8);
        }
        uint16_t latched(uint16_t counter)
        {
            pit.write(3, 1, static_cast<uint8_t>(counter << PIT_CW_SC_SHIFT));
            uint16_t lsb = static_cast<uint16_t>(pit.read(counter, 1));
            return static_cast<uint16_t>(lsb | pit.read(counter, 1) << 8);
        }
        std::vector<uint8_t> saved()
        {
            StateWriter w;
            pit.save(w);
            return w.bytes();
        }
    };
};

TEST_F(PitStateTest, RestoredCountersKeepTheirPhaseOnAnotherClock)
{
    Pit a;
    a.program(0, 0x34, 1000);  // mode 2, IRQ 0 every 1000 ticks
    a.pit.set_gate(2, true);
    a.program(2, 0xb0, 50000);  // mode 0 one-shot on counter 2
    a.pit.write(3, 1, 0x70);     // counter 1, LSB then MSB: the LSB only
    a.pit.write(1, 1, 0x34);
    a.clock.advance(milliseconds(3));
    const unsigned edges = a.irq0.rising_edges();
    ASSERT_GT(edges, 0u);

    Pit b;
    b.clock.advance(seconds(7));
    const std::vector<uint8_t> state = a.saved();
    StateReader r(state);
    ASSERT_TRUE(b.pit.restore(r));
    ASSERT_TRUE(r.done());
    ASSERT_TRUE(b.timer.deadline());
    EXPECT_EQ(*b.timer.deadline() - b.clock.monotonic(), *a.timer.deadline() - a.clock.monotonic());

    a.pit.write(1, 1, 0x12);  // the MSB completes the count the LSB began
    b.pit.write(1, 1, 0x12);
    for (Pit* p : {&a, &b}) {
        p->clock.advance(milliseconds(40));
    }
    EXPECT_EQ(b.irq0.rising_edges(), a.irq0.rising_edges() - edges);
    for (uint16_t counter : {0, 1, 2}) {
        EXPECT_EQ(b.latched(counter), a.latched(counter)) << "counter " << counter;
    }
    EXPECT_EQ(b.pit.output(2), a.pit.output(2));
}

TEST_F(PitStateTest, TruncatedOrImpossibleStatesAreRefused)
{
    Pit a;
    a.program(0, 0x34, 1000);
    const std::vector<uint8_t> state = a.saved();
    expect_prefixes_refused(state, [](StateReader& r) { return Pit().pit.restore(r); });
    // Counter 0 armed with a cycle of no ticks: its phase would divide by 0.
    Pit b;
    b.program(0, 0x34, 1000);
    StateWriter w;
    b.pit.save(w);
    std::vector<uint8_t> bad = w.bytes();
    const size_t n_at = 2 + 8 + 4;  // mode, rw, eight flags, cr
    std::fill_n(bad.begin() + n_at, 4, 0);
    Pit c;
    StateReader r(bad);
    EXPECT_FALSE(c.pit.restore(r));
}

}  // namespace
}  // namespace vmruntime::dev
