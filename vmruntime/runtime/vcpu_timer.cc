// SPDX-License-Identifier: BSD-2-Clause
#include "vmruntime/runtime/vcpu_timer.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <utility>

#include "vmruntime/runtime/host_time.h"

namespace vmruntime::runtime {

VcpuTimer::~VcpuTimer()
{
    detach();
}

void VcpuTimer::arm(std::chrono::nanoseconds deadline, std::function<void()> fire)
{
    deadline_ = deadline;
    fire_ = std::move(fire);
    program();
}

void VcpuTimer::cancel()
{
    deadline_.reset();
    fire_ = nullptr;
    program();
}

bool VcpuTimer::attach(int signal)
{
    sigevent event{};
    event.sigev_notify = SIGEV_THREAD_ID;
    event.sigev_signo = signal;
    event._sigev_un._tid = static_cast<pid_t>(syscall(SYS_gettid));
    timer_t timer;
    if (timer_create(CLOCK_MONOTONIC, &event, &timer) == -1) {
        return false;
    }
    std::lock_guard lock(mutex_);
    host_timer_ = timer;
    program();
    return true;
}

void VcpuTimer::detach()
{
    std::lock_guard lock(mutex_);
    if (host_timer_) {
        timer_delete(*host_timer_);
        host_timer_.reset();
    }
}

// The host timer runs on the device's clock, so a signal never comes
// before the deadline it was armed for; a deadline re-armed since is simply
// not due yet.
void VcpuTimer::expire_due()
{
    std::lock_guard lock(mutex_);
    if (!deadline_ || *deadline_ > clock_.monotonic()) {
        return;
    }
    deadline_.reset();
    std::function<void()> fire = std::move(fire_);
    fire_ = nullptr;
    fire();  // the device usually re-arms from here
}

std::optional<std::chrono::nanoseconds> VcpuTimer::deadline() const
{
    std::lock_guard lock(mutex_);
    return deadline_;
}

// An absolute one-shot; a zero it_value disarms.  A deadline already past
// fires at once.
void VcpuTimer::program()
{
    if (!host_timer_) {
        return;
    }
    itimerspec spec{};
    if (deadline_) {
        spec.it_value = to_timespec(std::max(*deadline_, std::chrono::nanoseconds(1)));
    }
    timer_settime(*host_timer_, TIMER_ABSTIME, &spec, nullptr);
}

}  // namespace vmruntime::runtime
