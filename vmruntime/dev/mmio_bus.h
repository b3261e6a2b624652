// SPDX-License-Identifier: BSD-2-Clause
//
// The MMIO devices of a machine: disjoint guest-physical windows, each
// mapped to one MmioDevice.  The map is fixed once the machine is built,
// so a vCPU thread may ask claims() while the device strand serves
// accesses.  What no window claims never reaches the bus: the vCPU answers
// it as a PC's empty bus would (reads all ones, writes vanish).
#pragma once

#include <cstdint>
#include <vector>

#include "vmruntime/dev/device.h"

namespace vmruntime::dev {

class MmioBus {
public:
    // Maps [base, base + length) to `device`, which outlives the bus.
    // False, changing nothing, for an empty, wrapping or overlapping window.
    [[nodiscard]] bool register_device(uint64_t base, uint64_t length, MmioDevice& device);

    bool claims(uint64_t gpa) const { return find(gpa) != nullptr; }
    // An access of `size` bytes at `gpa`; reads of unclaimed addresses
    // float to all ones.
    uint64_t read(uint64_t gpa, unsigned size);
    void write(uint64_t gpa, unsigned size, uint64_t value);

private:
    struct Window {
        uint64_t base, length;
        MmioDevice* device;
    };
    const Window* find(uint64_t gpa) const;

    std::vector<Window> windows_;  // a handful: searched in order
};

}  // namespace vmruntime::dev
