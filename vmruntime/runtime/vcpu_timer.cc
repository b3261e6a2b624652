// SPDX-License-Identifier: BSD-2-Clause
#include "vmruntime/runtime/vcpu_timer.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "vmruntime/base/log.h"
#include "vmruntime/runtime/host_time.h"

namespace vmruntime::runtime {

VcpuTimer::VcpuTimer(std::mutex& mutex, const dev::Clock& clock, const Strand& strand)
    : mutex_(mutex), clock_(clock), strand_timer_(strand), strand_wake_(std::make_shared<StrandWake>())
{
}

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

void VcpuTimer::attach(int signal, std::function<void()> wake)
{
    sigevent event{};
    event.sigev_notify = SIGEV_THREAD_ID;
    event.sigev_signo = signal;
    event._sigev_un._tid = static_cast<pid_t>(syscall(SYS_gettid));
    timer_t timer;
    const bool have_timer = timer_create(CLOCK_MONOTONIC, &event, &timer) == 0;
    if (!have_timer) {
        static std::once_flag once;
        std::call_once(once, [] {
            base::log_warn("vcpu_timer", "the host refuses POSIX timers (", std::strerror(errno),
                           "): PIT deadlines are kept on the device strands, a thread hop per tick");
        });
    }
    std::lock_guard lock(mutex_);
    if (have_timer) {
        host_timer_ = timer;
    } else {
        std::lock_guard wake_lock(strand_wake_->mutex);
        strand_wake_->wake = std::move(wake);
    }
    program();
}

void VcpuTimer::detach()
{
    std::lock_guard lock(mutex_);
    if (host_timer_) {
        timer_delete(*host_timer_);
        host_timer_.reset();
    }
    strand_timer_.cancel();
    std::lock_guard wake_lock(strand_wake_->mutex);
    strand_wake_->wake = nullptr;
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
// fires at once.  A strand expiry that comes late or for an older deadline
// only makes the vCPU look: expire_due() checks.
void VcpuTimer::program()
{
    if (host_timer_) {
        itimerspec spec{};
        if (deadline_) {
            spec.it_value = to_timespec(std::max(*deadline_, std::chrono::nanoseconds(1)));
        }
        timer_settime(*host_timer_, TIMER_ABSTIME, &spec, nullptr);
        return;
    }
    strand_timer_.cancel();
    if (!deadline_) {
        return;
    }
    strand_timer_.expires_at(std::chrono::steady_clock::time_point(
        std::chrono::duration_cast<std::chrono::steady_clock::duration>(*deadline_)));
    strand_timer_.async_wait([state = strand_wake_](const boost::system::error_code& ec) {
        std::lock_guard lock(state->mutex);
        if (!ec && state->wake) {
            state->wake();
        }
    });
}

}  // namespace vmruntime::runtime
