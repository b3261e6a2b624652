// SPDX-License-Identifier: BSD-2-Clause
//
// A device timer that expires on the vCPU thread which takes the device's
// interrupt, instead of on the device strand.  A tick then wakes one thread,
// not two: the kernel signals the vCPU thread at the deadline (a POSIX
// timer aimed at that thread), which leaves the guest or its HLT sleep,
// runs the device's expiry itself and injects the interrupt it raised.
//
// The kernel refuses a POSIX timer once the user's pending-signal quota is
// used up (the timer's signal is allocated up front, against
// RLIMIT_SIGPENDING).  The deadline is then kept by an Asio timer on the
// device strand, whose expiry calls the `wake` the vCPU thread attached
// with; the expiry itself still runs on the vCPU thread.
//
// The device (the PIT) is called under `mutex`, and so is its expiry.
// `clock` is the device's, a HostClock: its readings are CLOCK_MONOTONIC,
// the host timer's clock.
#pragma once

#include <signal.h>
#include <time.h>

#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>

#include "vmruntime/dev/device.h"
#include "vmruntime/runtime/device_layer.h"

namespace vmruntime::runtime {

class VcpuTimer final : public dev::Timer {
public:
    VcpuTimer(std::mutex& mutex, const dev::Clock& clock, const Strand& strand);
    ~VcpuTimer() override;
    VcpuTimer(const VcpuTimer&) = delete;
    VcpuTimer& operator=(const VcpuTimer&) = delete;

    // dev::Timer, called by the device with `mutex` held.
    void arm(std::chrono::nanoseconds deadline, std::function<void()> fire) override;
    void cancel() override;

    // On the vCPU thread that serves the timer: expiries send `signal` to
    // it from now on, until detach(); or, if the host has no timer for it,
    // call `wake` from the strand (async-signal-safe work that brings the
    // thread to expire_due()).
    void attach(int signal, std::function<void()> wake);
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
    // The strand's expiries call `wake` while it is set, under `mutex`, so
    // detach() knows no call is under way once it has cleared it.
    struct StrandWake {
        std::mutex mutex;
        std::function<void()> wake;
    };

    std::optional<timer_t> host_timer_;
    boost::asio::steady_timer strand_timer_;
    std::shared_ptr<StrandWake> strand_wake_;
};

}  // namespace vmruntime::runtime
