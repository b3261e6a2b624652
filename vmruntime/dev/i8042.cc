// SPDX-License-Identifier: BSD-2-Clause
//
// i8042 controller plus the keyboard behind it.  Writes are taken at once,
// so IBF never shows; every byte the controller or the keyboard produces
// goes into one queue whose head is the output buffer.
#include "vmruntime/dev/i8042.h"

#include <span>
#include <utility>

#include "vmruntime/dev/io_bus.h"

namespace vmruntime::dev {
namespace {

constexpr uint8_t kKbdIdFirst = 0xab;       // MF2 keyboard: 0xab 0x83
constexpr uint8_t kKbdIdSecond = 0x83;
constexpr uint8_t kKbdIdSecondXlate = 0x41;  // 0x83 after set-2 -> set-1 translation
constexpr uint8_t kKbdScanSet = 0x02;        // answer to "get scan code set"
constexpr uint8_t kPulseCommands = 0xf0;     // 0xf0..0xff pulse output port bits 0-3 low
constexpr uint32_t kMaxRestoredQueue = 256;

// Ctrl, Alt and Delete pressed, then released in the reverse order.
constexpr uint8_t kCtrlAltDelSet2[] = {0x14, 0x11, 0xe0, 0x71, 0xe0, 0xf0, 0x71, 0xf0, 0x11, 0xf0, 0x14};
constexpr uint8_t kCtrlAltDelSet1[] = {0x1d, 0x38, 0xe0, 0x53, 0xe0, 0xd3, 0xb8, 0x9d};

// The controller commands that wait for a data byte, and the keyboard
// commands that wait for an argument: the only values left pending (0 is
// none).
bool can_be_pending_command(uint8_t command)
{
    return command == 0 || command == I8042_CMD_CTL_WCTR || command == I8042_CMD_WRITE_OUTPORT ||
           command == I8042_CMD_KBD_LOOP || command == I8042_CMD_AUX_LOOP || command == I8042_CMD_AUX_SEND;
}

bool can_be_pending_kbd_command(uint8_t command)
{
    return command == 0 || command == ATKBD_CMD_SETLEDS || command == ATKBD_CMD_SETREP ||
           command == ATKBD_CMD_SSCANSET;
}

}  // namespace

uint32_t I8042::View::read(uint16_t offset, unsigned size)
{
    if (offset != 0 || size != 1) {
        return all_ones(size);
    }
    return command_ ? controller_.read_status() : controller_.read_data();
}

void I8042::View::write(uint16_t offset, unsigned size, uint32_t value)
{
    if (offset != 0 || size != 1) {
        return;
    }
    if (command_) {
        controller_.write_command(static_cast<uint8_t>(value));
    } else {
        controller_.write_data(static_cast<uint8_t>(value));
    }
}

I8042::I8042(IrqLine& kbd_irq, IrqLine& aux_irq, std::function<void()> reset)
    : kbd_irq_(kbd_irq), aux_irq_(aux_irq), reset_(std::move(reset))
{
}

uint8_t I8042::read_status() const
{
    uint8_t status = I8042_STR_KEYLOCK;
    if (!out_.empty()) {
        status |= I8042_STR_OBF;
        status |= out_.front().aux ? I8042_STR_AUXDATA : 0;
        status |= out_.front().timeout ? I8042_STR_TIMEOUT : 0;
    }
    status |= (ctr_ & I8042_CTR_SYSFLAG) ? I8042_STR_SYSFLAG : 0;
    status |= last_was_command_ ? I8042_STR_CMDDAT : 0;
    return status;
}

// Reading the output buffer drops the IRQ line; the next queued byte raises
// it again, so an edge-triggered PIC sees one edge per byte as it would
// with the keyboard clocking bytes in one at a time.
uint8_t I8042::read_data()
{
    if (out_.empty()) {
        return last_read_;
    }
    last_read_ = out_.front().value;
    out_.pop_front();
    if (kbd_line_) {
        kbd_line_ = false;
        kbd_irq_.set_level(false);
    }
    if (aux_line_) {
        aux_line_ = false;
        aux_irq_.set_level(false);
    }
    update_irq();
    return last_read_;
}

void I8042::write_command(uint8_t value)
{
    last_was_command_ = true;
    pending_command_ = 0;
    switch (value) {
    case I8042_CMD_CTL_RCTR:
        push_output(ctr_, false);
        break;
    case I8042_CMD_CTL_WCTR:
    case I8042_CMD_WRITE_OUTPORT:
    case I8042_CMD_KBD_LOOP:
    case I8042_CMD_AUX_LOOP:
    case I8042_CMD_AUX_SEND:
        pending_command_ = value;
        break;
    case I8042_CMD_AUX_DISABLE:
        write_ctr(ctr_ | I8042_CTR_AUXDIS);
        break;
    case I8042_CMD_AUX_ENABLE:
        write_ctr(ctr_ & static_cast<uint8_t>(~I8042_CTR_AUXDIS));
        break;
    case I8042_CMD_KBD_DISABLE:
        write_ctr(ctr_ | I8042_CTR_KBDDIS);
        break;
    case I8042_CMD_KBD_ENABLE:
        write_ctr(ctr_ & static_cast<uint8_t>(~I8042_CTR_KBDDIS));
        break;
    case I8042_CMD_AUX_TEST:
    case I8042_CMD_KBD_TEST:
        push_output(0x00, false);  // no clock or data line stuck
        break;
    case I8042_CMD_CTL_TEST:
        write_ctr(ctr_ | I8042_CTR_SYSFLAG);
        push_output(I8042_RET_CTL_TEST, false);
        break;
    case I8042_CMD_READ_OUTPORT:
        push_output(outport_, false);
        break;
    default:
        // 0xf0..0xff pulse the output port bits whose mask bit is 0; bit 0
        // is the CPU reset line (Linux's reboot=k writes 0xfe).
        if ((value & kPulseCommands) == kPulseCommands && !(value & I8042_OUTPORT_RESET) && reset_) {
            reset_();
        }
        break;
    }
}

void I8042::write_data(uint8_t value)
{
    last_was_command_ = false;
    const uint8_t command = std::exchange(pending_command_, 0);
    switch (command) {
    case I8042_CMD_CTL_WCTR:
        write_ctr(value);
        break;
    case I8042_CMD_WRITE_OUTPORT:
        write_outport(value);
        break;
    case I8042_CMD_KBD_LOOP:
        push_output(value, false);
        break;
    case I8042_CMD_AUX_LOOP:
        push_output(value, true);
        break;
    case I8042_CMD_AUX_SEND:
        // Nothing is plugged into the aux port: the controller gives up
        // waiting for the device's clock and reports a time-out.
        push_output(PS2_RET_NAK, true, true);
        break;
    default:
        keyboard_receive(value);
        break;
    }
}

// The keyboard: answers what Linux's atkbd sends while probing and
// activating it.  Commands that take an argument acknowledge both bytes.
void I8042::keyboard_receive(uint8_t value)
{
    if (const uint8_t command = std::exchange(kbd_pending_, 0)) {
        keyboard_reply(PS2_RET_ACK);
        if (command == ATKBD_CMD_SSCANSET && value == 0) {
            keyboard_reply(kKbdScanSet);
        }
        return;
    }
    switch (value) {
    case ATKBD_CMD_RESET_BAT:
        keyboard_reply(PS2_RET_ACK);
        keyboard_reply(ATKBD_RET_BAT);
        break;
    case ATKBD_CMD_GETID:
        keyboard_reply(PS2_RET_ACK);
        keyboard_reply(kKbdIdFirst);
        keyboard_reply((ctr_ & I8042_CTR_XLATE) ? kKbdIdSecondXlate : kKbdIdSecond);
        break;
    case ATKBD_CMD_ECHO:
        keyboard_reply(ATKBD_CMD_ECHO);
        break;
    case ATKBD_CMD_SETLEDS:
    case ATKBD_CMD_SETREP:
    case ATKBD_CMD_SSCANSET:
        kbd_pending_ = value;
        keyboard_reply(PS2_RET_ACK);
        break;
    case ATKBD_CMD_ENABLE:
    case ATKBD_CMD_RESET_DIS:
    case ATKBD_CMD_RESET_DEF:
        keyboard_reply(PS2_RET_ACK);
        break;
    default:
        keyboard_reply(PS2_RET_NAK);  // "resend": not a command this keyboard knows
        break;
    }
}

bool I8042::press_ctrl_alt_del()
{
    if (ctr_ & I8042_CTR_KBDDIS) {
        return false;
    }
    const std::span<const uint8_t> codes =
        (ctr_ & I8042_CTR_XLATE) ? std::span<const uint8_t>(kCtrlAltDelSet1) : std::span<const uint8_t>(kCtrlAltDelSet2);
    for (uint8_t code : codes) {
        push_output(code, false);
    }
    return true;
}

void I8042::keyboard_reply(uint8_t value)
{
    push_output(value, false);
}

void I8042::write_ctr(uint8_t value)
{
    ctr_ = value;
    update_irq();
}

void I8042::write_outport(uint8_t value)
{
    outport_ = value;
    if (!(value & I8042_OUTPORT_RESET) && reset_) {
        reset_();
    }
}

void I8042::push_output(uint8_t value, bool aux, bool timeout)
{
    out_.push_back(OutByte{value, aux, timeout});
    update_irq();
}

void I8042::update_irq()
{
    const bool full = !out_.empty();
    const bool kbd = full && !out_.front().aux && (ctr_ & I8042_CTR_KBDINT);
    const bool aux = full && out_.front().aux && (ctr_ & I8042_CTR_AUXINT);
    if (kbd != kbd_line_) {
        kbd_line_ = kbd;
        kbd_irq_.set_level(kbd);
    }
    if (aux != aux_line_) {
        aux_line_ = aux;
        aux_irq_.set_level(aux);
    }
}

// The IRQ lines are derived from the head of the queue and the CTR.
void I8042::save(StateWriter& out) const
{
    for (uint8_t reg : {ctr_, outport_, pending_command_, kbd_pending_, last_read_}) {
        out.put(reg);
    }
    out.put(last_was_command_);
    out.put(static_cast<uint32_t>(out_.size()));
    for (const OutByte& byte : out_) {
        out.put(byte.value);
        out.put(byte.aux);
        out.put(byte.timeout);
    }
}

// A fresh controller's lines may already read the restored levels while
// the wires do not, so both are driven whatever update_irq() decided.
bool I8042::restore(StateReader& in)
{
    for (uint8_t* reg : {&ctr_, &outport_, &pending_command_, &kbd_pending_, &last_read_}) {
        *reg = in.get<uint8_t>();
    }
    last_was_command_ = in.get<bool>();
    in.check(can_be_pending_command(pending_command_) && can_be_pending_kbd_command(kbd_pending_));
    if (!restore_output(in)) {
        return false;
    }
    update_irq();
    kbd_irq_.set_level(kbd_line_);
    aux_irq_.set_level(aux_line_);
    return true;
}

// A guest queues a few bytes at a time (a command's answer); a snapshot's
// queue beyond kMaxRestoredQueue is not one a guest made.  Only the aux
// port times out, and always with a NAK.
bool I8042::restore_output(StateReader& in)
{
    const auto queued = in.get<uint32_t>();
    in.check(queued <= kMaxRestoredQueue);
    out_.clear();  // a reset restores over what is queued
    for (uint32_t i = 0; i < queued && in.ok(); i++) {
        const OutByte byte{in.get<uint8_t>(), in.get<bool>(), in.get<bool>()};
        in.check(!byte.timeout || (byte.aux && byte.value == PS2_RET_NAK));
        out_.push_back(byte);
    }
    return in.ok();
}

}  // namespace vmruntime::dev
