// SPDX-License-Identifier: BSD-2-Clause
//
// PCI configuration mechanism #1 with nothing behind it: CONFIG_ADDRESS at
// 0xcf8 (32-bit accesses only; bit 31 enables the mapping) and CONFIG_DATA
// at 0xcfc-0xcff.  Registered as one device of 8 ports at 0xcf8.
//
// There are no PCI functions, so every configuration read returns all ones
// (vendor ID 0xffff: nothing there) and writes are dropped.  Linux's
// pci_check_type1 sees the address register read back and then finds no
// host bridge; byte accesses at 0xcf8-0xcfb float to all ones, so its
// pci_check_type2 finds no mechanism #2 either.  Port 0xcf9 (the chipset's
// reset control register) is therefore not available to other devices.
#pragma once

#include <cstdint>

#include "vmruntime/dev/device.h"
#include "vmruntime/dev/device_state.h"

namespace vmruntime::dev {

inline constexpr uint16_t kPciConfigAddressPort = 0xcf8;
inline constexpr uint16_t kPciConfigPorts = 8;
inline constexpr uint32_t PCI_CONFIG_ENABLE = 0x80000000;  // CONFIG_ADDRESS bit 31

class PciConfig final : public PioDevice {
public:
    // Offsets 0-3 are CONFIG_ADDRESS (dword accesses only), 4-7 CONFIG_DATA.
    uint32_t read(uint16_t offset, unsigned size) override;
    void write(uint16_t offset, unsigned size, uint32_t value) override;

    // CONFIG_ADDRESS as last written (bits 1:0 read as zero).
    uint32_t address() const { return address_; }
    // Reads of CONFIG_DATA with the enable bit set: configuration cycles
    // that found no device.
    uint64_t config_reads() const { return config_reads_; }

    // Snapshots (device_state.h): the device's whole state, CONFIG_ADDRESS
    // (the read count is the host's statistic, not state).
    void save(StateWriter& out) const;
    bool restore(StateReader& in);  // false: `in` failed or held a value the port cannot have; discard it

private:
    uint32_t address_ = 0;
    uint64_t config_reads_ = 0;
};

}  // namespace vmruntime::dev
