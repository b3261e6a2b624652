// SPDX-License-Identifier: BSD-2-Clause
//
// A device timer that expires on the vCPU thread which takes the device's
// interrupt, instead of on the device strand.  A tick then wakes one thread,
// not two: the kernel signals the vCPU thread at the deadline (a POSIX
// timer aimed at that thread), which leaves the guest or its HLT sleep,
// runs the device's expiry itself and injects the interrupt it raised.
//
// The device (the PIT) is called under `mutex`, and so is its expiry.
// `clock` is the device's, a HostClock: its readings are CLOCK_MONOTONIC,
// the host timer's clock.
#pragma once

#include <signal.h>
#include <time.h>

#include <chrono>
#include <functional>
#include <mutex>
#include <optional>

#include "vmruntime/dev/device.h"

namespace vmruntime::runtime {

class VcpuTimer final : public dev::Timer {
public:
    VcpuTimer(std::mutex& mutex, const dev::Clock& clock) : mutex_(mutex), clock_(clock) {}
    ~VcpuTimer() override;
    VcpuTimer(const VcpuTimer&) = delete;
    VcpuTimer& operator=(const VcpuTimer&) = delete;

    // dev::Timer, called by the device with `mutex` held.
    void arm(std::chrono::nanoseconds deadline, std::function<void()> fire) override;
    void cancel() override;

    // On the vCPU thread that serves the timer: expiries send `signal` to
    // it from now on, until detach().  False (errno set) if the host has
    // no timer for it.
    bool attach(int signal);
    void detach();
    // On that thread, after the signal: runs the expiry if it is due.
    void expire_due();
    // The deadline armed now, if any (CLOCK_MONOTONIC).
    std::optional<std::chrono::nanoseconds> deadline() const;

private:
    void program();

    std::mutex& mutex_;
    const dev::Clock& clock_;
    std::optional<std::chrono::nanoseconds> deadline_;
    std::function<void()> fire_;
    std::optional<timer_t> host_timer_;
};

}  // namespace vmruntime::runtime
