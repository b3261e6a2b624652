// SPDX-License-Identifier: BSD-2-Clause
//
// One split virtqueue (virtio 1.x, section 2.7): the driver's descriptor
// table and available ring and the device's used ring, read and written in
// place in guest RAM.  The guest is not trusted.  A ring outside RAM is
// refused when the queue is set up; a descriptor outside RAM, a chain that
// loops or outgrows its table, a device-readable buffer after a writable
// one, an indirect table inside another or an available index that runs
// more than a queue ahead make the queue broken (the transport then sets
// DEVICE_NEEDS_RESET) and nothing of that chain is used.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "vmruntime/dev/device.h"

namespace vmruntime::dev {

class Virtqueue {
public:
    static constexpr uint16_t kMaxSize = 32768;

    struct Layout {
        uint16_t size = 0;  // a power of two, at most kMaxSize
        uint64_t desc = 0, avail = 0, used = 0;
    };
    // One buffer of a chain, in host memory.
    struct Segment {
        std::span<uint8_t> bytes;
        bool device_writable;
    };
    struct Chain {
        uint16_t head;
        std::vector<Segment> segments;  // the readable ones first; none empty
    };

    // `indirect` and `event_idx`: the driver accepted VIRTIO_F_INDIRECT_DESC
    // and VIRTIO_F_EVENT_IDX.
    Virtqueue(GuestRam& ram, bool indirect, bool event_idx)
        : ram_(ram), indirect_(indirect), event_idx_(event_idx) {}

    // False, leaving the queue unusable, for a layout the spec forbids or
    // whose rings are not all in RAM.
    [[nodiscard]] bool set_layout(const Layout& layout);

    // The next chain the driver made available, if any.
    std::optional<Chain> pop();
    // Puts the chain the last pop() returned back at the head of the
    // available ring, untouched, for a device that found nothing to put in
    // it (a receive queue with no frame waiting).
    void unpop();
    // Gives chain `head` back with `written` bytes written into it; true
    // when the driver wants an interrupt for it.
    bool push(uint16_t head, uint32_t written);

    bool broken() const { return broken_; }

private:
    struct Desc {
        uint64_t addr;
        uint32_t len;
        uint16_t flags;
        uint16_t next;
    };

    bool walk(Desc first, std::span<const uint8_t> table, uint16_t entries, bool nested, Chain& chain);
    static Desc read_desc(std::span<const uint8_t> table, uint16_t index);
    std::nullopt_t fail();

    GuestRam& ram_;
    const bool indirect_, event_idx_;
    uint16_t size_ = 0;
    std::span<uint8_t> desc_, avail_, used_;
    uint16_t next_avail_ = 0;  // the driver's entries consumed so far
    uint16_t used_idx_ = 0;    // what the used ring's index says
    bool broken_ = false;
};

}  // namespace vmruntime::dev
