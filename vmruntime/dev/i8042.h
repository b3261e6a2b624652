// SPDX-License-Identifier: BSD-2-Clause
//
// i8042 PS/2 controller: data port 0x60, status/command port 0x64; IRQ 1
// (keyboard) and IRQ 12 (aux).  Command and bit names follow Linux's
// drivers/input/serio/i8042.h (I8042_CMD_*, I8042_STR_*, I8042_CTR_*).
//
// The two ports are not adjacent (0x61 is System Control Port B), so the
// controller is not a PioDevice itself: it offers two views, data_port()
// for 0x60 and command_port() for 0x64, each registered alone with length 1.
//
// Enough of the controller for Linux's i8042 probe and for reboot: the
// controller commands the driver issues (self-test, interface tests, the
// command byte, port enables, loopback writes, output port, pulse reset),
// a keyboard that answers its driver's commands but never has a key
// pressed, and an empty aux port (bytes sent to it time out, so psmouse
// gives up at once).  Reset (pulse 0xFE, or output port bit 0 cleared) calls
// the `reset` callback.  The output port's A20 bit is stored, not applied:
// guest memory is never wrapped at 1 MiB.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>

#include "vmruntime/dev/device.h"
#include "vmruntime/dev/device_state.h"

namespace vmruntime::dev {

inline constexpr uint8_t I8042_CMD_CTL_RCTR = 0x20;  // read command byte
inline constexpr uint8_t I8042_CMD_CTL_WCTR = 0x60;  // write command byte
inline constexpr uint8_t I8042_CMD_AUX_DISABLE = 0xa7;
inline constexpr uint8_t I8042_CMD_AUX_ENABLE = 0xa8;
inline constexpr uint8_t I8042_CMD_AUX_TEST = 0xa9;  // aux interface test -> 0x00
inline constexpr uint8_t I8042_CMD_CTL_TEST = 0xaa;  // self-test -> 0x55
inline constexpr uint8_t I8042_CMD_KBD_TEST = 0xab;  // keyboard interface test -> 0x00
inline constexpr uint8_t I8042_CMD_KBD_DISABLE = 0xad;
inline constexpr uint8_t I8042_CMD_KBD_ENABLE = 0xae;
inline constexpr uint8_t I8042_CMD_READ_OUTPORT = 0xd0;
inline constexpr uint8_t I8042_CMD_WRITE_OUTPORT = 0xd1;
inline constexpr uint8_t I8042_CMD_KBD_LOOP = 0xd2;  // next data byte comes back as keyboard data
inline constexpr uint8_t I8042_CMD_AUX_LOOP = 0xd3;  // next data byte comes back as aux data
inline constexpr uint8_t I8042_CMD_AUX_SEND = 0xd4;  // next data byte goes to the aux device
inline constexpr uint8_t I8042_CMD_PULSE_RESET = 0xfe;  // pulse output port bit 0: CPU reset

inline constexpr uint8_t I8042_RET_CTL_TEST = 0x55;

inline constexpr uint8_t I8042_STR_OBF = 0x01;      // output buffer full
inline constexpr uint8_t I8042_STR_IBF = 0x02;      // input buffer full (never: writes are taken at once)
inline constexpr uint8_t I8042_STR_SYSFLAG = 0x04;  // system flag (self-test passed)
inline constexpr uint8_t I8042_STR_CMDDAT = 0x08;   // last write was to the command port
inline constexpr uint8_t I8042_STR_KEYLOCK = 0x10;  // set = keyboard not inhibited
inline constexpr uint8_t I8042_STR_AUXDATA = 0x20;  // output buffer holds aux data
inline constexpr uint8_t I8042_STR_TIMEOUT = 0x40;  // the device did not answer

inline constexpr uint8_t I8042_CTR_KBDINT = 0x01;  // IRQ 1 on keyboard data
inline constexpr uint8_t I8042_CTR_AUXINT = 0x02;  // IRQ 12 on aux data
inline constexpr uint8_t I8042_CTR_SYSFLAG = 0x04;
inline constexpr uint8_t I8042_CTR_KBDDIS = 0x10;
inline constexpr uint8_t I8042_CTR_AUXDIS = 0x20;
inline constexpr uint8_t I8042_CTR_XLATE = 0x40;  // translate keyboard bytes to set 1

inline constexpr uint8_t I8042_OUTPORT_RESET = 0x01;  // low = CPU held in reset
inline constexpr uint8_t I8042_OUTPORT_A20 = 0x02;

// Keyboard commands and replies (Linux's atkbd.c / libps2.c names).
inline constexpr uint8_t ATKBD_CMD_SETLEDS = 0xed;
inline constexpr uint8_t ATKBD_CMD_ECHO = 0xee;  // replies 0xee, not an ACK
inline constexpr uint8_t ATKBD_CMD_SSCANSET = 0xf0;
inline constexpr uint8_t ATKBD_CMD_GETID = 0xf2;
inline constexpr uint8_t ATKBD_CMD_SETREP = 0xf3;
inline constexpr uint8_t ATKBD_CMD_ENABLE = 0xf4;
inline constexpr uint8_t ATKBD_CMD_RESET_DIS = 0xf5;
inline constexpr uint8_t ATKBD_CMD_RESET_DEF = 0xf6;
inline constexpr uint8_t ATKBD_CMD_RESET_BAT = 0xff;
inline constexpr uint8_t PS2_RET_ACK = 0xfa;
inline constexpr uint8_t PS2_RET_NAK = 0xfe;
inline constexpr uint8_t ATKBD_RET_BAT = 0xaa;  // basic assurance test passed

class I8042 {
public:
    // `kbd_irq` and `aux_irq` must outlive the controller.
    I8042(IrqLine& kbd_irq, IrqLine& aux_irq, std::function<void()> reset);
    I8042(const I8042&) = delete;
    I8042& operator=(const I8042&) = delete;

    // Register at 0x60 and 0x64, length 1 each; 1-byte accesses only.
    PioDevice& data_port() { return data_view_; }
    PioDevice& command_port() { return command_view_; }

    // The controller command byte (CTR).
    uint8_t command_byte() const { return ctr_; }

    // Presses and releases Ctrl, Alt and Delete, as a host asking its guest
    // to shut down (Firecracker's SendCtrlAltDel): the keyboard sends the
    // set-2 codes, which the controller translates to set 1 when XLATE is
    // on.  False, nothing sent, while the guest keeps the keyboard disabled.
    bool press_ctrl_alt_del();

    // Snapshots (device_state.h): the controller's whole state: command
    // byte, output port, half-done controller and keyboard commands, and
    // every queued output byte in order.  Restore drives IRQ 1 and 12 to
    // the levels the state implies.
    void save(StateWriter& out) const;
    bool restore(StateReader& in);  // false: `in` failed or held a value the i8042 cannot have; discard it

private:
    class View final : public PioDevice {
    public:
        View(I8042& controller, bool command) : controller_(controller), command_(command) {}
        uint32_t read(uint16_t offset, unsigned size) override;
        void write(uint16_t offset, unsigned size, uint32_t value) override;

    private:
        I8042& controller_;
        bool command_;
    };

    struct OutByte {
        uint8_t value;
        bool aux;
        bool timeout;  // the device never answered: STR_TIMEOUT while this byte is up
    };

    uint8_t read_data();
    uint8_t read_status() const;
    void write_data(uint8_t value);
    void write_command(uint8_t value);
    void push_output(uint8_t value, bool aux, bool timeout = false);
    void keyboard_receive(uint8_t value);
    void keyboard_reply(uint8_t value);
    void write_ctr(uint8_t value);
    void write_outport(uint8_t value);
    void update_irq();
    bool restore_output(StateReader& in);

    IrqLine& kbd_irq_;
    IrqLine& aux_irq_;
    std::function<void()> reset_;
    View data_view_{*this, false};
    View command_view_{*this, true};

    // What a BIOS leaves behind: keyboard IRQ on, aux off, translation on.
    uint8_t ctr_ = I8042_CTR_KBDINT | I8042_CTR_AUXDIS | I8042_CTR_XLATE;
    uint8_t outport_ = I8042_OUTPORT_RESET | I8042_OUTPORT_A20;
    uint8_t pending_command_ = 0;  // controller command waiting for its data byte
    uint8_t kbd_pending_ = 0;      // keyboard command waiting for its argument
    uint8_t last_read_ = 0;        // an empty output buffer reads the stale byte
    bool last_was_command_ = false;
    bool kbd_line_ = false;
    bool aux_line_ = false;
    std::deque<OutByte> out_;  // the output buffer, then the devices' own queues
};

}  // namespace vmruntime::dev
