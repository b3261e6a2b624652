// SPDX-License-Identifier: BSD-2-Clause
//
// ConsoleRing: one mutex around the buffer, the end offset and the pending
// notifications; readers copy out under it, so a reader never sees a byte
// half-overwritten.  Notifications are called with the mutex released, so
// they may read the ring or ask for the next one.
#include "vmruntime/dev/console_ring.h"

#include <algorithm>
#include <iterator>

namespace vmruntime::dev {

ConsoleRing::ConsoleRing(size_t capacity) : capacity_(std::max<size_t>(capacity, 1))
{
}

void ConsoleRing::write(std::span<const uint8_t> bytes)
{
    append(bytes);
}

void ConsoleRing::append(std::span<const uint8_t> bytes)
{
    if (bytes.empty()) {
        return;
    }
    std::vector<Notification> due;
    {
        std::lock_guard lock(mutex_);
        const size_t cap = capacity_;
        if (buf_.size() < cap) {
            buf_.resize(static_cast<size_t>(std::min<uint64_t>(cap, end_ + bytes.size())));
        }
        // Only the last `cap` bytes of a huge append can survive it.
        const size_t skip = bytes.size() > cap ? bytes.size() - cap : 0;
        uint64_t at = end_ + skip;
        for (size_t i = skip; i < bytes.size();) {
            const size_t pos = static_cast<size_t>(at % cap);
            const size_t n = std::min(cap - pos, bytes.size() - i);
            std::copy_n(bytes.begin() + static_cast<std::ptrdiff_t>(i), n, buf_.begin() + static_cast<std::ptrdiff_t>(pos));
            i += n;
            at += n;
        }
        end_ += bytes.size();
        due = take_due_locked();
    }
    wake(std::move(due));
}

std::vector<ConsoleRing::Notification> ConsoleRing::take_due_locked()
{
    auto due = std::partition(notifications_.begin(), notifications_.end(),
                              [&](const Notification& n) { return !closed_ && end_ <= n.offset; });
    std::vector<Notification> out(std::make_move_iterator(due), std::make_move_iterator(notifications_.end()));
    notifications_.erase(due, notifications_.end());
    return out;
}

void ConsoleRing::wake(std::vector<Notification> due)
{
    grew_.notify_all();
    for (auto& n : due) {
        n.notify();
    }
}

uint64_t ConsoleRing::notify_when(uint64_t offset, std::function<void()> notify)
{
    {
        std::lock_guard lock(mutex_);
        if (!closed_ && end_ <= offset) {
            const uint64_t id = next_notification_++;
            notifications_.push_back({id, offset, std::move(notify)});
            return id;
        }
    }
    notify();
    return 0;
}

void ConsoleRing::cancel_notify(uint64_t id)
{
    std::lock_guard lock(mutex_);
    std::erase_if(notifications_, [id](const Notification& n) { return n.id == id; });
}

uint64_t ConsoleRing::begin_locked() const
{
    return end_ > capacity_ ? end_ - capacity_ : 0;
}

ConsoleRing::Chunk ConsoleRing::read(uint64_t from, size_t max) const
{
    std::lock_guard lock(mutex_);
    Chunk chunk;
    chunk.offset = std::clamp(from, begin_locked(), end_);
    const size_t cap = capacity_;
    const size_t n = static_cast<size_t>(std::min<uint64_t>(max, end_ - chunk.offset));
    chunk.bytes.reserve(n);
    uint64_t at = chunk.offset;
    while (chunk.bytes.size() < n) {
        const size_t pos = static_cast<size_t>(at % cap);
        const size_t run = std::min(cap - pos, n - chunk.bytes.size());
        chunk.bytes.insert(chunk.bytes.end(), buf_.begin() + static_cast<std::ptrdiff_t>(pos),
                           buf_.begin() + static_cast<std::ptrdiff_t>(pos + run));
        at += run;
    }
    return chunk;
}

bool ConsoleRing::wait_for(uint64_t offset, std::chrono::nanoseconds timeout) const
{
    // condition_variable::wait_for adds the timeout to now(): keep the sum
    // representable for callers that pass nanoseconds::max() for "forever".
    constexpr std::chrono::nanoseconds kLongest = std::chrono::hours(24 * 365);
    std::unique_lock lock(mutex_);
    grew_.wait_for(lock, std::min(timeout, kLongest), [&] { return end_ > offset || closed_; });
    return end_ > offset;
}

void ConsoleRing::close()
{
    std::vector<Notification> due;
    {
        std::lock_guard lock(mutex_);
        closed_ = true;
        due = take_due_locked();
    }
    wake(std::move(due));
}

bool ConsoleRing::closed() const
{
    std::lock_guard lock(mutex_);
    return closed_;
}

uint64_t ConsoleRing::end_offset() const
{
    std::lock_guard lock(mutex_);
    return end_;
}

uint64_t ConsoleRing::begin_offset() const
{
    std::lock_guard lock(mutex_);
    return begin_locked();
}

}  // namespace vmruntime::dev
