// SPDX-License-Identifier: BSD-2-Clause
//
// Two write-mostly ports for firmware and test guests.
//
// PostCodePort, port 0x80: the POST code latch of a PC diagnostic card.  It
// keeps the last byte written and reads it back.  Linux writes here for
// I/O delays (outb_p), so changes are logged at debug level only.
//
// DebugExitPort, port 0x501 by default (QEMU's isa-debug-exit in spirit): a
// write of 1, 2 or 4 bytes powers the machine off with the value written as
// the exit status.  Test guests use it to report a result and stop.
#pragma once

#include <cstdint>
#include <functional>

#include "vmruntime/dev/device.h"
#include "vmruntime/dev/device_state.h"

namespace vmruntime::dev {

inline constexpr uint16_t kPostCodePort = 0x80;
inline constexpr uint16_t kDefaultDebugExitPort = 0x501;

class PostCodePort final : public PioDevice {
public:
    // Byte accesses at offset 0 only; others read all ones and are ignored.
    uint32_t read(uint16_t offset, unsigned size) override;
    void write(uint16_t offset, unsigned size, uint32_t value) override;

    // The last POST code written (0 before any).
    uint8_t last() const { return last_; }
    // Byte writes taken, repeats included.
    uint64_t writes() const { return writes_; }

    // Snapshots (device_state.h): the latch's whole state, the last code,
    // which the guest reads back (the write count is the host's statistic).
    // DebugExitPort has no state to save.
    void save(StateWriter& out) const;
    bool restore(StateReader& in);  // false: `in` failed; discard the port

private:
    uint8_t last_ = 0;
    uint64_t writes_ = 0;
};

class DebugExitPort final : public PioDevice {
public:
    explicit DebugExitPort(std::function<void(uint32_t status)> power_off);

    // Reads float (all ones).  Writes at offset 0 of width 1, 2 or 4 call
    // power_off with the value, zero-extended.
    uint32_t read(uint16_t offset, unsigned size) override;
    void write(uint16_t offset, unsigned size, uint32_t value) override;

private:
    std::function<void(uint32_t)> power_off_;
};

}  // namespace vmruntime::dev
