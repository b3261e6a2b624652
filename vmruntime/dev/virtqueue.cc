// SPDX-License-Identifier: BSD-2-Clause
#include "vmruntime/dev/virtqueue.h"

#include <cstring>

namespace vmruntime::dev {
namespace {

constexpr uint16_t kDescNext = 1, kDescWrite = 2, kDescIndirect = 4;
constexpr uint16_t kAvailNoInterrupt = 1;
constexpr size_t kDescSize = 16;

// The rings' fields are little-endian u16/u32 at aligned offsets (the
// layout's alignment is checked); the driver changes them concurrently.
uint16_t load16(std::span<uint8_t> ring, size_t offset, int order = __ATOMIC_ACQUIRE)
{
    return __atomic_load_n(reinterpret_cast<const uint16_t*>(ring.data() + offset), order);
}

void store16(std::span<uint8_t> ring, size_t offset, uint16_t value, int order = __ATOMIC_RELEASE)
{
    __atomic_store_n(reinterpret_cast<uint16_t*>(ring.data() + offset), value, order);
}

void store32(std::span<uint8_t> ring, size_t offset, uint32_t value)
{
    __atomic_store_n(reinterpret_cast<uint32_t*>(ring.data() + offset), value, __ATOMIC_RELAXED);
}

}  // namespace

bool Virtqueue::set_layout(const Layout& layout)
{
    size_ = 0;
    const uint64_t n = layout.size;
    if (n == 0 || n > kMaxSize || (n & (n - 1)) != 0 || layout.desc % 16 != 0 || layout.avail % 2 != 0 ||
        layout.used % 4 != 0) {
        return false;
    }
    desc_ = ram_.at(layout.desc, kDescSize * n);
    avail_ = ram_.at(layout.avail, 6 + 2 * n);
    used_ = ram_.at(layout.used, 6 + 8 * n);
    if (desc_.empty() || avail_.empty() || used_.empty()) {
        return false;
    }
    size_ = layout.size;
    next_avail_ = 0;
    used_idx_ = 0;
    broken_ = false;
    return true;
}

std::nullopt_t Virtqueue::fail()
{
    broken_ = true;
    return std::nullopt;
}

// Read once: the driver may rewrite a descriptor while we look at it.
Virtqueue::Desc Virtqueue::read_desc(std::span<const uint8_t> table, uint16_t index)
{
    Desc d;
    const uint8_t* p = table.data() + size_t{index} * kDescSize;
    std::memcpy(&d.addr, p, 8);
    std::memcpy(&d.len, p + 8, 4);
    std::memcpy(&d.flags, p + 12, 2);
    std::memcpy(&d.next, p + 14, 2);
    return d;
}

std::optional<Virtqueue::Chain> Virtqueue::pop()
{
    if (size_ == 0 || broken_) {
        return std::nullopt;
    }
    const uint16_t avail_idx = load16(avail_, 2);
    const uint16_t pending = static_cast<uint16_t>(avail_idx - next_avail_);
    if (pending == 0) {
        return std::nullopt;
    }
    if (pending > size_) {
        return fail();
    }
    const uint16_t head = load16(avail_, 4 + 2 * static_cast<size_t>(next_avail_ % size_));
    next_avail_++;
    if (event_idx_) {
        // avail_event: notify us again once the driver passes this entry.
        store16(used_, 4 + 8 * size_t{size_}, next_avail_);
    }
    if (head >= size_) {
        return fail();
    }
    Chain chain{head, {}};
    if (!walk(read_desc(desc_, head), desc_, size_, false, chain)) {
        return fail();
    }
    return chain;
}

void Virtqueue::unpop()
{
    next_avail_--;
    if (event_idx_) {
        store16(used_, 4 + 8 * size_t{size_}, next_avail_);
    }
}

bool Virtqueue::walk(Desc d, std::span<const uint8_t> table, uint16_t entries, bool nested, Chain& chain)
{
    for (uint32_t seen = 1;; seen++) {
        if (d.flags & kDescIndirect) {
            // An indirect table stands alone: no NEXT, no nesting.
            if (!indirect_ || nested || (d.flags & kDescNext) || d.len == 0 || d.len % kDescSize != 0 ||
                d.len / kDescSize > kMaxSize) {
                return false;
            }
            std::span<uint8_t> inner = ram_.at(d.addr, d.len);
            if (inner.empty()) {
                return false;
            }
            const auto count = static_cast<uint16_t>(d.len / kDescSize);
            return walk(read_desc(inner, 0), inner, count, true, chain);
        }
        const bool writable = d.flags & kDescWrite;
        if (!writable && !chain.segments.empty() && chain.segments.back().device_writable) {
            return false;
        }
        // An empty buffer carries nothing: devices never see one.
        if (d.len != 0) {
            std::span<uint8_t> bytes = ram_.at(d.addr, d.len);
            if (bytes.empty()) {
                return false;
            }
            chain.segments.push_back({bytes, writable});
        }
        if (!(d.flags & kDescNext)) {
            return true;
        }
        if (seen >= entries || d.next >= entries) {
            return false;  // a loop, or out of the table
        }
        d = read_desc(table, d.next);
    }
}

bool Virtqueue::push(uint16_t head, uint32_t written)
{
    if (size_ == 0 || broken_) {
        return false;
    }
    const uint16_t old = used_idx_;
    const size_t slot = 4 + 8 * static_cast<size_t>(old % size_);
    store32(used_, slot, head);
    store32(used_, slot + 4, written);
    used_idx_++;
    // The new index must be visible before we read what the driver wants
    // (it may be deciding to sleep on exactly that index): a sequentially
    // consistent store, then sequentially consistent loads.
    store16(used_, 2, used_idx_, __ATOMIC_SEQ_CST);
    if (event_idx_) {
        const uint16_t used_event = load16(avail_, 4 + 2 * size_t{size_}, __ATOMIC_SEQ_CST);
        return static_cast<uint16_t>(used_idx_ - used_event - 1) < static_cast<uint16_t>(used_idx_ - old);
    }
    return !(load16(avail_, 0, __ATOMIC_SEQ_CST) & kAvailNoInterrupt);
}

}  // namespace vmruntime::dev
