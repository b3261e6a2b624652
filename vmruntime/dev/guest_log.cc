// SPDX-License-Identifier: BSD-2-Clause
#include "vmruntime/dev/guest_log.h"

#include <algorithm>
#include <utility>

namespace vmruntime::dev {
namespace {

// Machine names are short (the daemon takes 64 bytes at most), but a
// library user may pass anything.
constexpr size_t kMaxQuotedName = 64;

}  // namespace

GuestLog::GuestLog(std::string_view machine, const Clock& clock)
    : prefix_("machine '" + std::string(machine.substr(0, kMaxQuotedName)) + "': "),
      clock_(clock),
      refilled_(clock.monotonic())
{
}

uint64_t GuestLog::suppressed() const
{
    std::lock_guard lock(mutex_);
    return suppressed_;
}

std::optional<uint64_t> GuestLog::admit()
{
    std::lock_guard lock(mutex_);
    const auto now = clock_.monotonic();
    credit_ = std::min(credit_ + (now - refilled_), kBurst * kCost);
    refilled_ = now;
    if (credit_ < kCost) {
        ++suppressed_;
        ++unreported_;
        return std::nullopt;
    }
    credit_ -= kCost;
    return std::exchange(unreported_, 0);
}

void GuestLog::write(std::string_view component, uint64_t suppressed, const std::string& message)
{
    if (suppressed > 0) {
        base::log_warn(component, prefix_, suppressed, " lines suppressed (this guest may log ", kBurst,
                       " lines at once, then ", kPerMinute, " a minute)");
    }
    base::log_message(base::LogLevel::kWarn, component, prefix_ + message);
}

}  // namespace vmruntime::dev
