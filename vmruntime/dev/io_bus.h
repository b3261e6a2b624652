// SPDX-License-Identifier: BSD-2-Clause
//
// The port-I/O bus: the 64 KiB x86 I/O space, mapped range by range to
// PioDevices.  An access is routed by its first port to the device whose
// range holds it, with offset = port - base.  Ports nobody claims behave as
// on a PC with nothing on the bus: reads float to all ones, writes vanish.
// Those accesses are counted and logged once per port, for the first
// kLoggedPorts ports, through the machine's GuestLog (a guest probing for
// hardware is normal, a flood of warnings is not); the bus's end says how
// many more ports were touched.
#pragma once

#include <bitset>
#include <cstdint>
#include <vector>

#include "vmruntime/dev/device.h"
#include "vmruntime/dev/guest_log.h"

namespace vmruntime::dev {

struct IoBusCounters {
    uint64_t unclaimed_reads = 0;
    uint64_t unclaimed_writes = 0;
};

class IoBus {
public:
    // `log` outlives the bus.
    explicit IoBus(GuestLog& log) : log_(log) {}
    ~IoBus();
    IoBus(const IoBus&) = delete;
    IoBus& operator=(const IoBus&) = delete;

    // Maps ports [base, base + length) to `device`, which must outlive the
    // bus.  Returns false, changing nothing, when the range is empty, runs
    // past port 0xffff, or overlaps a range already registered.
    [[nodiscard]] bool register_device(uint16_t base, uint32_t length, PioDevice& device);

    // Reads `size` (1, 2 or 4) bytes at `port`; the result never has bits
    // above the access width set.
    uint32_t read(uint16_t port, unsigned size);
    void write(uint16_t port, unsigned size, uint32_t value);

    const IoBusCounters& counters() const { return counters_; }

private:
    struct Range {
        uint32_t base;
        uint32_t end;  // one past the last port
        PioDevice* device;
    };

    const Range* find(uint16_t port) const;
    void note_unclaimed(uint16_t port, unsigned size, const char* what);

    GuestLog& log_;
    std::vector<Range> ranges_;  // sorted by base, disjoint
    static constexpr unsigned kLoggedPorts = 16;
    std::bitset<65536> unclaimed_;  // ports accessed while unclaimed
    unsigned unclaimed_ports_ = 0;
    IoBusCounters counters_;
};

// All ones for an access of `size` bytes: what a floating ISA bus returns.
constexpr uint32_t all_ones(unsigned size)
{
    return size >= 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
}

}  // namespace vmruntime::dev
