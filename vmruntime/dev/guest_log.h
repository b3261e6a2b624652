// SPDX-License-Identifier: BSD-2-Clause
//
// What one machine's guest makes the host log (an unclaimed port, later a
// broken virtqueue).  Each line names the machine, and no guest can flood
// the host's log: a token bucket lets kBurst lines through at once and
// kPerMinute a minute after that.  Lines over the rate are counted, and the
// next line let through is preceded by one that says how many were
// suppressed.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>

#include "vmruntime/base/log.h"
#include "vmruntime/dev/device.h"

namespace vmruntime::dev {

class GuestLog {
public:
    static constexpr unsigned kBurst = 20;
    static constexpr unsigned kPerMinute = 60;

    GuestLog(std::string_view machine, const Clock& clock);

    template <typename... Args>
    void warn(std::string_view component, const Args&... args)
    {
        if (!base::log_enabled(base::LogLevel::kWarn)) {
            return;
        }
        std::optional<uint64_t> suppressed = admit();
        if (!suppressed) {
            return;
        }
        std::ostringstream out;
        (out << ... << args);
        write(component, *suppressed, out.str());
    }

    // Lines suppressed since the machine was built.
    uint64_t suppressed() const;

private:
    // nullopt: over the rate, counted; else the count suppressed since the
    // last line let through.
    std::optional<uint64_t> admit();
    void write(std::string_view component, uint64_t suppressed, const std::string& message);

    const std::string prefix_;  // "machine 'NAME': "
    const Clock& clock_;
    mutable std::mutex mutex_;
    // The bucket in time: a line costs kCost, and the credit grows with the
    // clock up to kBurst lines' worth.
    static constexpr std::chrono::nanoseconds kCost = std::chrono::nanoseconds(std::chrono::minutes(1)) / kPerMinute;
    std::chrono::nanoseconds credit_ = kBurst * kCost;
    std::chrono::nanoseconds refilled_;
    uint64_t suppressed_ = 0;
    uint64_t unreported_ = 0;
};

}  // namespace vmruntime::dev
