// SPDX-License-Identifier: BSD-2-Clause
//
// Port-I/O routing: a sorted vector of disjoint ranges searched by binary
// search.  A few dozen ranges at most, looked up on every port exit, so a
// flat array beats a tree.
#include "vmruntime/dev/io_bus.h"

#include <algorithm>

#include "vmruntime/base/log.h"

namespace vmruntime::dev {

bool IoBus::register_device(uint16_t base, uint32_t length, PioDevice& device)
{
    const uint32_t end = uint32_t{base} + length;
    if (length == 0 || end > 0x10000) {
        return false;
    }
    auto next = std::upper_bound(ranges_.begin(), ranges_.end(), base,
                                 [](uint32_t b, const Range& r) { return b < r.base; });
    if (next != ranges_.end() && next->base < end) {
        return false;
    }
    if (next != ranges_.begin() && std::prev(next)->end > base) {
        return false;
    }
    ranges_.insert(next, Range{base, end, &device});
    return true;
}

const IoBus::Range* IoBus::find(uint16_t port) const
{
    auto next = std::upper_bound(ranges_.begin(), ranges_.end(), uint32_t{port},
                                 [](uint32_t p, const Range& r) { return p < r.base; });
    if (next == ranges_.begin()) {
        return nullptr;
    }
    const Range& r = *std::prev(next);
    return port < r.end ? &r : nullptr;
}

uint32_t IoBus::read(uint16_t port, unsigned size)
{
    if (const Range* r = find(port)) {
        return r->device->read(static_cast<uint16_t>(port - r->base), size) & all_ones(size);
    }
    ++counters_.unclaimed_reads;
    note_unclaimed(port, size, "read");
    return all_ones(size);
}

void IoBus::write(uint16_t port, unsigned size, uint32_t value)
{
    if (const Range* r = find(port)) {
        r->device->write(static_cast<uint16_t>(port - r->base), size, value & all_ones(size));
        return;
    }
    ++counters_.unclaimed_writes;
    note_unclaimed(port, size, "write");
}

IoBus::~IoBus()
{
    if (unclaimed_ports_ > kLoggedPorts) {
        log_.warn("io_bus", "unclaimed accesses to ", unclaimed_ports_ - kLoggedPorts,
                  " more ports were not logged");
    }
}

// A guest that probes every port must not flood the host's log: each port
// is logged once, and only the first kLoggedPorts of them; the others are
// summed up when the bus goes.
void IoBus::note_unclaimed(uint16_t port, unsigned size, const char* what)
{
    if (unclaimed_.test(port)) {
        return;
    }
    unclaimed_.set(port);
    if (++unclaimed_ports_ > kLoggedPorts) {
        return;
    }
    const bool last = unclaimed_ports_ == kLoggedPorts;
    log_.warn("io_bus", "unclaimed ", size, "-byte ", what, " of port ", base::hex(port),
              last ? " (accesses to further ports are counted, not logged)"
                   : " (further accesses to this port are not logged)");
}

}  // namespace vmruntime::dev
