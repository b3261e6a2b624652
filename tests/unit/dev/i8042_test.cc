// SPDX-License-Identifier: BSD-2-Clause
//
// i8042 driven like Linux's i8042.c probe (flush, self-test, CTR read and
// write, aux loop and toggle tests), atkbd's probe, and the reboot paths.
#include "vmruntime/dev/i8042.h"

#include <gtest/gtest.h>

#include <span>
#include <utility>
#include <vector>

#include "tests/unit/dev/fakes.h"
#include "vmruntime/dev/device_state.h"

namespace vmruntime::dev {
namespace {

using testing::FakeIrqLine;

class I8042Test : public ::testing::Test {
protected:
    uint8_t status() { return static_cast<uint8_t>(kbc_.command_port().read(0, 1)); }
    uint8_t data() { return static_cast<uint8_t>(kbc_.data_port().read(0, 1)); }
    void command(uint8_t v) { kbc_.command_port().write(0, 1, v); }
    void send(uint8_t v) { kbc_.data_port().write(0, 1, v); }

    // What Linux's i8042_wait_read + inb(0x60) loop collects.
    std::vector<uint8_t> drain()
    {
        std::vector<uint8_t> got;
        while (status() & I8042_STR_OBF) {
            got.push_back(data());
        }
        return got;
    }

    FakeIrqLine kbd_irq_;
    FakeIrqLine aux_irq_;
    int resets_ = 0;
    I8042 kbc_{kbd_irq_, aux_irq_, [this] { ++resets_; }};
};

using Bytes = std::vector<uint8_t>;

TEST_F(I8042Test, PowerOnState)
{
    EXPECT_EQ(status(), I8042_STR_KEYLOCK);  // empty, IBF clear, SYS not yet set
    EXPECT_EQ(kbc_.command_byte(), I8042_CTR_KBDINT | I8042_CTR_AUXDIS | I8042_CTR_XLATE);
    EXPECT_TRUE(drain().empty());
}

TEST_F(I8042Test, SelfTestAnswers55AndSetsTheSystemFlag)
{
    command(I8042_CMD_CTL_TEST);
    EXPECT_EQ(status(), I8042_STR_OBF | I8042_STR_SYSFLAG | I8042_STR_CMDDAT | I8042_STR_KEYLOCK);
    EXPECT_EQ(data(), 0x55);
    EXPECT_EQ(status(), I8042_STR_SYSFLAG | I8042_STR_CMDDAT | I8042_STR_KEYLOCK);
    EXPECT_EQ(kbc_.command_byte() & I8042_CTR_SYSFLAG, I8042_CTR_SYSFLAG);
}

TEST_F(I8042Test, InterfaceTestsPass)
{
    command(I8042_CMD_KBD_TEST);
    EXPECT_EQ(drain(), Bytes{0x00});
    command(I8042_CMD_AUX_TEST);
    EXPECT_EQ(drain(), Bytes{0x00});
}

// i8042_controller_init: read CTR until two reads agree, disable the
// keyboard and its interrupt, write CTR back, flush.
TEST_F(I8042Test, LinuxControllerInit)
{
    command(I8042_CMD_CTL_RCTR);
    const Bytes first = drain();
    command(I8042_CMD_CTL_RCTR);
    const Bytes second = drain();
    ASSERT_EQ(first.size(), 1u);
    EXPECT_EQ(first, second);
    uint8_t ctr = first[0];
    ctr |= I8042_CTR_KBDDIS;
    ctr &= static_cast<uint8_t>(~I8042_CTR_KBDINT);
    command(I8042_CMD_CTL_WCTR);
    send(ctr);
    EXPECT_EQ(kbc_.command_byte(), ctr);
    command(I8042_CMD_CTL_RCTR);
    EXPECT_EQ(drain(), Bytes{ctr});
}

// i8042_check_aux: the aux loopback must echo, and AUXDIS must follow
// the disable/enable commands.
TEST_F(I8042Test, LinuxAuxChecks)
{
    command(I8042_CMD_AUX_LOOP);
    send(0x5a);
    EXPECT_EQ(status() & (I8042_STR_OBF | I8042_STR_AUXDATA), I8042_STR_OBF | I8042_STR_AUXDATA);
    EXPECT_EQ(drain(), Bytes{0x5a});

    command(I8042_CMD_AUX_DISABLE);
    command(I8042_CMD_CTL_RCTR);
    EXPECT_EQ(drain()[0] & I8042_CTR_AUXDIS, I8042_CTR_AUXDIS);
    command(I8042_CMD_AUX_ENABLE);
    command(I8042_CMD_CTL_RCTR);
    EXPECT_EQ(drain()[0] & I8042_CTR_AUXDIS, 0);
}

TEST_F(I8042Test, AuxLoopRaisesIrq12WhenEnabled)
{
    command(I8042_CMD_CTL_WCTR);
    send(I8042_CTR_AUXINT | I8042_CTR_XLATE);
    command(I8042_CMD_AUX_LOOP);
    send(0xa5);
    EXPECT_TRUE(aux_irq_.level());
    EXPECT_FALSE(kbd_irq_.level());
    EXPECT_EQ(data(), 0xa5);
    EXPECT_FALSE(aux_irq_.level());
}

TEST_F(I8042Test, BytesToTheEmptyAuxPortTimeOut)
{
    command(I8042_CMD_AUX_SEND);
    send(0xf2);  // PSMOUSE_CMD_GETID
    EXPECT_EQ(status() & (I8042_STR_OBF | I8042_STR_AUXDATA | I8042_STR_TIMEOUT),
              I8042_STR_OBF | I8042_STR_AUXDATA | I8042_STR_TIMEOUT);
    EXPECT_EQ(data(), PS2_RET_NAK);
    EXPECT_EQ(status() & I8042_STR_TIMEOUT, 0);
}

TEST_F(I8042Test, KeyboardPortEnableBitFollowsAdAe)
{
    command(I8042_CMD_KBD_DISABLE);
    EXPECT_EQ(kbc_.command_byte() & I8042_CTR_KBDDIS, I8042_CTR_KBDDIS);
    command(I8042_CMD_KBD_ENABLE);
    EXPECT_EQ(kbc_.command_byte() & I8042_CTR_KBDDIS, 0);
}

TEST_F(I8042Test, SystemFlagFollowsTheCommandByte)
{
    command(I8042_CMD_CTL_WCTR);
    send(I8042_CTR_SYSFLAG);
    EXPECT_EQ(status() & I8042_STR_SYSFLAG, I8042_STR_SYSFLAG);
    command(I8042_CMD_CTL_WCTR);
    send(0);
    EXPECT_EQ(status() & I8042_STR_SYSFLAG, 0);
}

TEST_F(I8042Test, CommandDataBitRecordsTheLastPortWritten)
{
    command(I8042_CMD_KBD_ENABLE);
    EXPECT_EQ(status() & I8042_STR_CMDDAT, I8042_STR_CMDDAT);
    send(ATKBD_CMD_ENABLE);
    EXPECT_EQ(status() & I8042_STR_CMDDAT, 0);
}

// One edge per byte: the line drops when a byte is read and rises again
// for the next, as Linux's edge-triggered IRQ 1 needs.
TEST_F(I8042Test, KeyboardResetAnswersAckThenBatWithAnEdgeEach)
{
    send(ATKBD_CMD_RESET_BAT);
    EXPECT_TRUE(kbd_irq_.level());
    EXPECT_EQ(data(), PS2_RET_ACK);
    EXPECT_TRUE(kbd_irq_.level());
    EXPECT_EQ(data(), ATKBD_RET_BAT);
    EXPECT_FALSE(kbd_irq_.level());
    EXPECT_EQ(kbd_irq_.rising_edges(), 2u);
    EXPECT_FALSE(aux_irq_.level());
}

TEST_F(I8042Test, NoKeyboardIrqWhenKbdIntIsOff)
{
    command(I8042_CMD_CTL_WCTR);
    send(I8042_CTR_XLATE);
    send(ATKBD_CMD_RESET_BAT);
    EXPECT_FALSE(kbd_irq_.level());
    EXPECT_EQ(drain(), (Bytes{PS2_RET_ACK, ATKBD_RET_BAT}));
    EXPECT_TRUE(kbd_irq_.history().empty());
}

TEST_F(I8042Test, KeyboardIdIsTranslatedWhenXlateIsOn)
{
    send(ATKBD_CMD_GETID);
    EXPECT_EQ(drain(), (Bytes{PS2_RET_ACK, 0xab, 0x41}));
    command(I8042_CMD_CTL_WCTR);
    send(I8042_CTR_KBDINT);
    send(ATKBD_CMD_GETID);
    EXPECT_EQ(drain(), (Bytes{PS2_RET_ACK, 0xab, 0x83}));
}

// What atkbd decodes as KEY_LEFTCTRL, KEY_LEFTALT and KEY_DELETE pressed,
// then released: set 1 under translation, as a BIOS leaves it and Linux
// keeps it; set 2 without.
TEST_F(I8042Test, CtrlAltDelIsPressedAndReleasedInTheGuestsScanCodeSet)
{
    ASSERT_TRUE(kbc_.press_ctrl_alt_del());
    EXPECT_TRUE(kbd_irq_.level());
    EXPECT_EQ(drain(), (Bytes{0x1d, 0x38, 0xe0, 0x53, 0xe0, 0xd3, 0xb8, 0x9d}));
    EXPECT_EQ(kbd_irq_.rising_edges(), 8u) << "one edge per byte";

    command(I8042_CMD_CTL_WCTR);
    send(I8042_CTR_KBDINT);
    ASSERT_TRUE(kbc_.press_ctrl_alt_del());
    EXPECT_EQ(drain(), (Bytes{0x14, 0x11, 0xe0, 0x71, 0xe0, 0xf0, 0x71, 0xf0, 0x11, 0xf0, 0x14}));
}

TEST_F(I8042Test, CtrlAltDelIsNotSentToADisabledKeyboard)
{
    command(I8042_CMD_KBD_DISABLE);
    EXPECT_FALSE(kbc_.press_ctrl_alt_del());
    EXPECT_TRUE(drain().empty());
    EXPECT_FALSE(kbd_irq_.level());
    command(I8042_CMD_KBD_ENABLE);
    EXPECT_TRUE(kbc_.press_ctrl_alt_del());
    EXPECT_EQ(drain().size(), 8u);
}

// atkbd_probe / atkbd_activate: LEDs, typematic rate, enable, disable.
TEST_F(I8042Test, KeyboardAcknowledgesCommandsAndArguments)
{
    send(ATKBD_CMD_SETLEDS);
    send(0x00);
    send(ATKBD_CMD_SETREP);
    send(0x20);
    send(ATKBD_CMD_ENABLE);
    send(ATKBD_CMD_RESET_DIS);
    send(ATKBD_CMD_RESET_DEF);
    EXPECT_EQ(drain(), Bytes(7, PS2_RET_ACK));

    send(ATKBD_CMD_SSCANSET);
    send(0x00);  // query
    EXPECT_EQ(drain(), (Bytes{PS2_RET_ACK, PS2_RET_ACK, 0x02}));
    send(ATKBD_CMD_ECHO);
    EXPECT_EQ(drain(), Bytes{ATKBD_CMD_ECHO});
    send(0x01);
    EXPECT_EQ(drain(), Bytes{PS2_RET_NAK});
}

TEST_F(I8042Test, PulseResetCommandResets)
{
    command(0xff);  // pulses nothing
    EXPECT_EQ(resets_, 0);
    command(I8042_CMD_PULSE_RESET);
    EXPECT_EQ(resets_, 1);
    command(0xf0);  // pulses all four lines, reset included
    EXPECT_EQ(resets_, 2);
}

TEST_F(I8042Test, OutputPortBit0LowResets)
{
    command(I8042_CMD_READ_OUTPORT);
    EXPECT_EQ(drain(), Bytes{I8042_OUTPORT_RESET | I8042_OUTPORT_A20});
    command(I8042_CMD_WRITE_OUTPORT);
    send(I8042_OUTPORT_RESET);  // A20 off: no reset
    EXPECT_EQ(resets_, 0);
    command(I8042_CMD_READ_OUTPORT);
    EXPECT_EQ(drain(), Bytes{I8042_OUTPORT_RESET});
    command(I8042_CMD_WRITE_OUTPORT);
    send(I8042_OUTPORT_A20);
    EXPECT_EQ(resets_, 1);
}

TEST_F(I8042Test, KeyboardLoopbackComesBackAsKeyboardData)
{
    command(I8042_CMD_KBD_LOOP);
    send(0x1c);
    EXPECT_EQ(status() & (I8042_STR_OBF | I8042_STR_AUXDATA), I8042_STR_OBF);
    EXPECT_TRUE(kbd_irq_.level());
    EXPECT_EQ(data(), 0x1c);
}

TEST_F(I8042Test, EmptyBufferReadsTheStaleByte)
{
    command(I8042_CMD_CTL_TEST);
    EXPECT_EQ(data(), 0x55);
    EXPECT_EQ(data(), 0x55);
}

TEST_F(I8042Test, OtherWidthsAreIgnored)
{
    EXPECT_EQ(kbc_.command_port().read(0, 2), 0xffffu);
    EXPECT_EQ(kbc_.data_port().read(0, 4), 0xffffffffu);
    kbc_.command_port().write(0, 2, I8042_CMD_PULSE_RESET);
    kbc_.data_port().write(0, 4, ATKBD_CMD_RESET_BAT);
    EXPECT_EQ(resets_, 0);
    EXPECT_TRUE(drain().empty());
}

// Snapshots.  A controller with bytes of every kind queued (keyboard
// replies, aux loopback, an aux time-out), IRQ 12 enabled, a new output
// port, a keyboard command waiting for its argument and a controller
// command waiting for its data byte.
void drive_busy(I8042& kbc)
{
    auto command = [&](uint8_t v) { kbc.command_port().write(0, 1, v); };
    auto send = [&](uint8_t v) { kbc.data_port().write(0, 1, v); };
    send(ATKBD_CMD_GETID);
    command(I8042_CMD_CTL_WCTR);
    send(I8042_CTR_KBDINT | I8042_CTR_AUXINT | I8042_CTR_SYSFLAG | I8042_CTR_XLATE);
    command(I8042_CMD_AUX_LOOP);
    send(0x5a);
    command(I8042_CMD_AUX_SEND);
    send(0xf4);
    command(I8042_CMD_WRITE_OUTPORT);
    send(I8042_OUTPORT_RESET);
    send(ATKBD_CMD_SETLEDS);
    command(I8042_CMD_KBD_LOOP);
}

// Completes both pending commands, asks for the output port and the CTR,
// then reads the whole queue: status, byte and both IRQ levels each time.
std::vector<int> observe(I8042& kbc, const FakeIrqLine& kbd_irq, const FakeIrqLine& aux_irq)
{
    std::vector<int> seen{kbd_irq.level(), aux_irq.level()};
    auto status = [&] { return static_cast<int>(kbc.command_port().read(0, 1)); };
    seen.push_back(status());
    kbc.data_port().write(0, 1, 0x77);  // the KBD_LOOP data byte
    kbc.data_port().write(0, 1, 0x02);  // the SETLEDS argument
    kbc.command_port().write(0, 1, I8042_CMD_READ_OUTPORT);
    kbc.command_port().write(0, 1, I8042_CMD_CTL_RCTR);
    for (int i = 0; i < 16; ++i) {
        seen.push_back(status());
        seen.push_back(static_cast<int>(kbc.data_port().read(0, 1)));
        seen.push_back(kbd_irq.level());
        seen.push_back(aux_irq.level());
    }
    return seen;
}

std::vector<uint8_t> saved(const I8042& kbc)
{
    StateWriter state;
    kbc.save(state);
    return state.bytes();
}

bool restores(std::span<const uint8_t> bytes)
{
    FakeIrqLine kbd_irq;
    FakeIrqLine aux_irq;
    I8042 kbc(kbd_irq, aux_irq, nullptr);
    StateReader in(bytes);
    return kbc.restore(in);
}

TEST_F(I8042Test, SnapshotRoundTripKeepsQueueCommandsAndIrqs)
{
    drive_busy(kbc_);
    ASSERT_TRUE(kbd_irq_.level());
    const std::vector<uint8_t> state = saved(kbc_);
    FakeIrqLine kbd_irq;
    FakeIrqLine aux_irq;
    int resets = 0;
    I8042 copy(kbd_irq, aux_irq, [&] { ++resets; });
    StateReader in(state);
    ASSERT_TRUE(copy.restore(in));
    EXPECT_TRUE(in.done());
    EXPECT_TRUE(kbd_irq.level());  // driven by the restore, before any access
    EXPECT_EQ(copy.command_byte(), kbc_.command_byte());

    const std::vector<int> want = observe(kbc_, kbd_irq_, aux_irq_);
    ASSERT_EQ(want[4], PS2_RET_ACK);  // the GETID reply heads the queue
    EXPECT_EQ(observe(copy, kbd_irq, aux_irq), want);
    EXPECT_EQ(resets, 0);
}

TEST_F(I8042Test, SnapshotRestoreKeepsTheStaleByteAndDrivesTheLinesEvenLow)
{
    command(I8042_CMD_CTL_TEST);
    data();
    FakeIrqLine kbd_irq;
    FakeIrqLine aux_irq;
    kbd_irq.set_level(true);  // the wires as some earlier state left them
    aux_irq.set_level(true);
    I8042 copy(kbd_irq, aux_irq, nullptr);
    const std::vector<uint8_t> state = saved(kbc_);
    StateReader in(state);
    ASSERT_TRUE(copy.restore(in));
    EXPECT_FALSE(kbd_irq.level());
    EXPECT_FALSE(aux_irq.level());
    EXPECT_EQ(copy.data_port().read(0, 1), 0x55u);
    EXPECT_EQ(copy.command_port().read(0, 1), status());
}

TEST_F(I8042Test, SnapshotRestoreRefusesTruncatedAndImpossibleStates)
{
    drive_busy(kbc_);
    const std::vector<uint8_t> state = saved(kbc_);
    ASSERT_TRUE(restores(state));
    for (size_t n = 0; n < state.size(); ++n) {
        EXPECT_FALSE(restores(std::span(state).first(n))) << n;
    }
    constexpr size_t kPendingCommand = 2, kKbdPending = 3, kLastWasCommand = 5, kQueued = 6;
    constexpr size_t kTimeoutByteAux = 10 + 4 * 3 + 1;  // the fifth queued byte, the aux time-out
    const std::vector<std::pair<size_t, uint8_t>> impossible = {
        {kPendingCommand, I8042_CMD_CTL_TEST}, {kKbdPending, ATKBD_CMD_ENABLE}, {kLastWasCommand, 2},
        {kTimeoutByteAux, 0},                         // a time-out from the keyboard
        {kQueued + 3, 0x10},                          // 256 Mi bytes queued: more than the state holds
    };
    for (auto [at, value] : impossible) {
        std::vector<uint8_t> bad = state;
        bad[at] = value;
        EXPECT_FALSE(restores(bad)) << at << " = " << int{value};
    }
}

}  // namespace
}  // namespace vmruntime::dev
