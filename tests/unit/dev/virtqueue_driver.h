// SPDX-License-Identifier: BSD-2-Clause
//
// The driver's side of one split virtqueue (virtio 1.x, 2.7), as a guest
// kernel fills it, for the tests of the queue and of the devices behind it.
#pragma once

#include <cstdint>

#include "fakes.h"
#include "vmruntime/dev/virtio_mmio.h"
#include "vmruntime/dev/virtqueue.h"

namespace vmruntime::dev::testing {

class VirtqueueDriver {
public:
    static constexpr uint16_t kNext = 1, kWrite = 2, kIndirect = 4;

    VirtqueueDriver(VectorRam& ram, const Virtqueue::Layout& layout) : ram_(ram), layout_(layout) {}

    // Descriptor `i` of the queue's table, or of the indirect table at `table`.
    void desc(uint16_t i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next = 0, uint64_t table = 0)
    {
        const uint64_t at = (table ? table : layout_.desc) + 16 * uint64_t{i};
        ram_.put<uint64_t>(at, addr);
        ram_.put<uint32_t>(at + 8, len);
        ram_.put<uint16_t>(at + 12, flags);
        ram_.put<uint16_t>(at + 14, next);
    }
    // Makes chain `head` available.
    void offer(uint16_t head)
    {
        ram_.put<uint16_t>(layout_.avail + 4 + 2 * (avail_idx_ % layout_.size), head);
        ram_.put<uint16_t>(layout_.avail + 2, ++avail_idx_);
    }
    void set_avail_idx(uint16_t idx) { ram_.put<uint16_t>(layout_.avail + 2, idx); }
    void no_interrupt(bool on) { ram_.put<uint16_t>(layout_.avail, on ? 1 : 0); }
    void used_event(uint16_t idx) { ram_.put<uint16_t>(layout_.avail + 4 + 2 * layout_.size, idx); }
    uint16_t used_idx() const { return ram_.get<uint16_t>(layout_.used + 2); }
    uint32_t used_id(uint16_t i) const { return ram_.get<uint32_t>(layout_.used + 4 + 8 * i); }
    uint32_t used_len(uint16_t i) const { return ram_.get<uint32_t>(layout_.used + 8 + 8 * i); }
    uint16_t avail_event() const { return ram_.get<uint16_t>(layout_.used + 4 + 8 * layout_.size); }

private:
    VectorRam& ram_;
    Virtqueue::Layout layout_;
    uint16_t avail_idx_ = 0;
};

// What the transport sees of a device type: interrupts asked for, and
// whether it gave up on its queues.
class CountingLink final : public VirtioLink {
public:
    void used() override { used_++; }
    void needs_reset() override { needs_reset_++; }
    unsigned used_ = 0, needs_reset_ = 0;
};

}  // namespace vmruntime::dev::testing
