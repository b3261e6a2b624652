// SPDX-License-Identifier: BSD-2-Clause
#include "vmruntime/runtime/host_time.h"

namespace vmruntime::runtime {

std::chrono::nanoseconds HostClock::monotonic() const
{
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
        std::chrono::steady_clock::now().time_since_epoch());
}

timespec to_timespec(std::chrono::nanoseconds t)
{
    auto seconds = std::chrono::duration_cast<std::chrono::seconds>(t);
    return {static_cast<time_t>(seconds.count()), static_cast<long>((t - seconds).count())};
}

std::chrono::system_clock::time_point HostClock::wall() const
{
    return std::chrono::system_clock::now();
}

StrandTimer::StrandTimer(Strand strand)
    : timer_(std::move(strand)), generation_(std::make_shared<Generation>())
{
}

StrandTimer::~StrandTimer()
{
    generation_->alive = false;
}

void StrandTimer::arm(std::chrono::nanoseconds deadline, std::function<void()> fire)
{
    uint64_t generation = ++generation_->value;
    timer_.expires_at(std::chrono::steady_clock::time_point(
        std::chrono::duration_cast<std::chrono::steady_clock::duration>(deadline)));
    // The handler runs on the timer's strand (its executor), as devices
    // expect.
    timer_.async_wait([state = generation_, generation,
                       fire = std::move(fire)](const boost::system::error_code& ec) {
        if (!ec && state->alive && generation == state->value) {
            fire();
        }
    });
}

void StrandTimer::cancel()
{
    ++generation_->value;
    timer_.cancel();
}

}  // namespace vmruntime::runtime
