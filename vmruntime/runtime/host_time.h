// SPDX-License-Identifier: BSD-2-Clause
//
// The device seams' time, for real: the host's monotonic and wall clocks, and
// one-shot timers on a machine's device strand (Asio steady_timer), so that
// timers never run on vCPU threads.
#pragma once

#include <time.h>

#include <boost/asio/steady_timer.hpp>

#include <cstdint>
#include <functional>
#include <memory>

#include "vmruntime/dev/device.h"
#include "vmruntime/runtime/device_layer.h"

namespace vmruntime::runtime {

// monotonic() is CLOCK_MONOTONIC, so its readings are also the kernel's
// absolute deadlines (to_timespec).
class HostClock final : public dev::Clock {
public:
    std::chrono::nanoseconds monotonic() const override;
    std::chrono::system_clock::time_point wall() const override;
};

timespec to_timespec(std::chrono::nanoseconds t);

// Must be destroyed on its strand: a completion already queued there then
// finds the timer gone and does not call into a destroyed device.
class StrandTimer final : public dev::Timer {
public:
    explicit StrandTimer(Strand strand);
    ~StrandTimer() override;

    void arm(std::chrono::nanoseconds deadline, std::function<void()> fire) override;
    void cancel() override;

private:
    struct Generation {
        uint64_t value = 0;
        bool alive = true;
    };

    boost::asio::steady_timer timer_;
    // Bumped by every arm/cancel: a completion from an older arm is stale
    // even if it raced past cancel().
    std::shared_ptr<Generation> generation_;
};

}  // namespace vmruntime::runtime
