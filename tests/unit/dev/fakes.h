// SPDX-License-Identifier: BSD-2-Clause
//
// Test doubles for the device seams in vmruntime/dev/device.h, shared by all
// device unit tests: an IRQ line that records what it was driven to, a clock
// the test steps by hand, a one-shot timer that fires when that clock passes
// its deadline, and a byte sink that keeps what it was given.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <span>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "vmruntime/dev/device.h"

namespace vmruntime::dev::testing {

// Records every set_level() call, and counts transitions separately so a
// test can tell an edge (low->high) from a repeated write of the same level.
class FakeIrqLine final : public IrqLine {
public:
    void set_level(bool high) override
    {
        if (high && !level_) {
            ++rising_edges_;
        } else if (!high && level_) {
            ++falling_edges_;
        }
        level_ = high;
        history_.push_back(high);
    }

    bool level() const { return level_; }
    unsigned rising_edges() const { return rising_edges_; }
    unsigned falling_edges() const { return falling_edges_; }
    const std::vector<bool>& history() const { return history_; }  // every set_level() value, in order

    // Forgets counts and history; the current level is kept (it is the wire's state).
    void clear_history()
    {
        rising_edges_ = 0;
        falling_edges_ = 0;
        history_.clear();
    }

private:
    bool level_ = false;
    unsigned rising_edges_ = 0;
    unsigned falling_edges_ = 0;
    std::vector<bool> history_;
};

class FakeTimer;

// A clock that only moves when the test says so.  Timers created on it fire
// from advance(), with monotonic() reading exactly their deadline, so a device
// sees the time it asked for.  advance_late() + fire_due() model a device
// strand that was busy: the timer runs after its deadline.
class FakeClock final : public Clock {
public:
    // The wall clock starts at a fixed date so RTC tests are reproducible:
    // 2024-03-15 12:34:56 UTC.
    static constexpr std::chrono::seconds kDefaultWallEpoch{1710506096};

    std::chrono::nanoseconds monotonic() const override { return now_; }
    std::chrono::system_clock::time_point wall() const override
    {
        return wall_base_ + std::chrono::duration_cast<std::chrono::system_clock::duration>(now_);
    }

    // Makes wall() read `t` now; it then moves on with monotonic().
    void set_wall(std::chrono::system_clock::time_point t)
    {
        wall_base_ = t - std::chrono::duration_cast<std::chrono::system_clock::duration>(now_);
    }

    // Moves time forward by `d`, firing each timer whose deadline falls in
    // (now, now + d] at that deadline, earliest first.  Timers re-armed by a
    // callback fire too if their new deadline is still within the step.
    void advance(std::chrono::nanoseconds d) { run_until(now_ + d); }

    // Moves time forward without firing anything: timers become overdue.
    void advance_late(std::chrono::nanoseconds d) { now_ += d; }

    // Fires every overdue timer at the current time (late delivery).
    void fire_due() { run_until(now_); }

    unsigned timers_fired() const { return timers_fired_; }

private:
    friend class FakeTimer;

    // A device that re-arms at or before `now` forever would hang the test;
    // this bound turns that bug into a failure.
    static constexpr unsigned kMaxFiringsPerStep = 10'000'000;

    inline void run_until(std::chrono::nanoseconds target);
    inline FakeTimer* earliest_due(std::chrono::nanoseconds target) const;

    std::chrono::nanoseconds now_{0};
    std::chrono::system_clock::time_point wall_base_{kDefaultWallEpoch};
    std::vector<FakeTimer*> timers_;
    unsigned timers_fired_ = 0;
};

// Deadlines are absolute, on the FakeClock's monotonic() scale.  arm() never
// fires inline, even for a deadline already past: the next advance() or
// fire_due() does, as a real strand would run it later.
class FakeTimer final : public Timer {
public:
    explicit FakeTimer(FakeClock& clock) : clock_(clock) { clock_.timers_.push_back(this); }
    ~FakeTimer() override { std::erase(clock_.timers_, this); }
    FakeTimer(const FakeTimer&) = delete;
    FakeTimer& operator=(const FakeTimer&) = delete;

    void arm(std::chrono::nanoseconds deadline, std::function<void()> fire) override
    {
        deadline_ = deadline;
        fire_ = std::move(fire);
        ++arm_count_;
    }
    void cancel() override
    {
        deadline_.reset();
        fire_ = nullptr;
    }

    bool armed() const { return deadline_.has_value(); }
    std::optional<std::chrono::nanoseconds> deadline() const { return deadline_; }
    unsigned arm_count() const { return arm_count_; }
    unsigned fire_count() const { return fire_count_; }

private:
    friend class FakeClock;

    void fire()
    {
        std::function<void()> f = std::move(fire_);
        deadline_.reset();
        fire_ = nullptr;
        ++fire_count_;
        f();
    }

    FakeClock& clock_;
    std::optional<std::chrono::nanoseconds> deadline_;
    std::function<void()> fire_;
    unsigned arm_count_ = 0;
    unsigned fire_count_ = 0;
};

inline FakeTimer* FakeClock::earliest_due(std::chrono::nanoseconds target) const
{
    FakeTimer* best = nullptr;
    for (FakeTimer* t : timers_) {
        if (t->deadline_ && *t->deadline_ <= target && (!best || *t->deadline_ < *best->deadline_)) {
            best = t;
        }
    }
    return best;
}

inline void FakeClock::run_until(std::chrono::nanoseconds target)
{
    for (unsigned n = 0;; ++n) {
        FakeTimer* t = earliest_due(target);
        if (!t) {
            break;
        }
        if (n == kMaxFiringsPerStep) {
            throw std::logic_error("FakeClock: timer keeps re-arming without time passing");
        }
        now_ = std::max(now_, *t->deadline_);
        ++timers_fired_;
        t->fire();
    }
    now_ = std::max(now_, target);
}

// Keeps every byte written to it.
class CaptureSink final : public ByteSink {
public:
    void write(std::span<const uint8_t> bytes) override
    {
        bytes_.insert(bytes_.end(), bytes.begin(), bytes.end());
        ++writes_;
    }

    const std::vector<uint8_t>& bytes() const { return bytes_; }
    std::string str() const { return std::string(bytes_.begin(), bytes_.end()); }
    unsigned writes() const { return writes_; }  // number of write() calls
    void clear()
    {
        bytes_.clear();
        writes_ = 0;
    }

private:
    std::vector<uint8_t> bytes_;
    unsigned writes_ = 0;
};

// Guest RAM of 1 MiB at GPA 0, in a vector the test reads and writes.
// A descriptor's readiness as the test says it is.
class FakeWatch final : public FdWatch {
public:
    void when_readable(std::function<void()> fire) override { read_ = std::move(fire); }
    void when_writable(std::function<void()> fire) override { write_ = std::move(fire); }
    void cancel() override { read_ = write_ = nullptr; }
    // What the event loop does once the descriptor is readable, or writable.
    void readable() { run(read_); }
    void writable() { run(write_); }
    bool waiting() const { return read_ != nullptr; }
    bool waiting_to_write() const { return write_ != nullptr; }

private:
    static void run(std::function<void()>& slot)
    {
        auto fire = std::exchange(slot, nullptr);
        if (fire) fire();
    }
    std::function<void()> read_, write_;
};

class VectorRam final : public GuestRam {
public:
    std::span<uint8_t> at(uint64_t gpa, uint64_t len) override
    {
        if (len == 0 || gpa > bytes.size() || len > bytes.size() - gpa) {
            return {};
        }
        return {bytes.data() + gpa, len};
    }
    template <typename T>
    void put(uint64_t gpa, T value) { std::memcpy(bytes.data() + gpa, &value, sizeof value); }
    template <typename T>
    T get(uint64_t gpa) const
    {
        T value;
        std::memcpy(&value, bytes.data() + gpa, sizeof value);
        return value;
    }
    std::vector<uint8_t> bytes = std::vector<uint8_t>(1 << 20);
};

}  // namespace vmruntime::dev::testing
