// SPDX-License-Identifier: BSD-2-Clause
//
// The console output of a VM: a fixed-size ring of the most recent bytes,
// addressed by absolute offsets since boot so any number of readers can
// follow it at their own pace.  A reader that falls more than the capacity
// behind learns how much it lost from the offset it gets back.
//
// Unlike the devices, this object is shared across threads: the UART writes
// into it on the device strand while console streams read and wait on
// theirs.  So it has its own mutex and condition variable.  A reader that
// must not block (one driven by an event loop) asks instead to be notified
// once, by a callback run on the writer's thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <span>
#include <vector>

#include "vmruntime/dev/device.h"

namespace vmruntime::dev {

class ConsoleRing final : public ByteSink {
public:
    static constexpr size_t kDefaultCapacity = size_t{1} << 20;

    // A run of console bytes.  `offset` is the absolute offset of bytes[0];
    // when it is past the offset asked for, the bytes in between were
    // overwritten before the reader got to them.
    struct Chunk {
        uint64_t offset = 0;
        std::vector<uint8_t> bytes;
    };

    // A capacity of 0 is taken as 1.
    explicit ConsoleRing(size_t capacity = kDefaultCapacity);

    // ByteSink: the same as append().
    void write(std::span<const uint8_t> bytes) override;

    // Adds bytes at the end, overwriting the oldest ones once full, and wakes
    // every waiting reader.
    void append(std::span<const uint8_t> bytes);

    // Up to `max` bytes starting at `from`, or at the oldest byte still held
    // if `from` was overwritten.  At or past the end: no bytes, and offset is
    // the end.
    Chunk read(uint64_t from, size_t max) const;

    // Blocks until the ring ends past `offset`, the ring is closed, or
    // `timeout` passes.  Returns true when there are bytes at or after
    // `offset` to read (some may be overwritten by then).
    bool wait_for(uint64_t offset, std::chrono::nanoseconds timeout) const;

    // Calls `notify` once, when the ring ends past `offset` or is closed:
    // at once, on this thread, if it already does or is (and then returns
    // 0), otherwise on the thread whose append or close did it, after the
    // ring's lock is released.  That thread is the device strand: `notify`
    // must be short and must not block.  Returns an id for cancel_notify().
    uint64_t notify_when(uint64_t offset, std::function<void()> notify);
    // Forgets a notification not yet called.  One already on its way may
    // still run after this returns, so `notify` must not reach anything
    // its owner frees (hold it weakly).  Unknown ids, 0 included, are ignored.
    void cancel_notify(uint64_t id);

    // Wakes all waiters for good: the VM is gone.  Appends are still taken,
    // so the last output stays readable.
    void close();
    bool closed() const;

    // Offset one past the last byte ever appended.
    uint64_t end_offset() const;
    // Offset of the oldest byte still held.
    uint64_t begin_offset() const;
    size_t capacity() const { return capacity_; }

private:
    struct Notification {
        uint64_t id;
        uint64_t offset;
        std::function<void()> notify;
    };

    uint64_t begin_locked() const;
    // Moves out the notifications now due, for calling once unlocked.
    std::vector<Notification> take_due_locked();
    // Wakes the blocked waiters and calls `due`; no lock held.
    void wake(std::vector<Notification> due);

    mutable std::mutex mutex_;
    mutable std::condition_variable grew_;
    const size_t capacity_;
    // Byte at offset o lives at buf_[o % capacity_].  It grows with the
    // output up to capacity_, so that a machine that prints little costs
    // little: thousands of idle machines would otherwise hold a ring each.
    std::vector<uint8_t> buf_;
    uint64_t end_ = 0;
    bool closed_ = false;
    std::vector<Notification> notifications_;
    uint64_t next_notification_ = 1;  // 0 means "called at once"
};

}  // namespace vmruntime::dev
