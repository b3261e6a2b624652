// SPDX-License-Identifier: BSD-2-Clause
//
// Keeps the log's lines for one test, from `level` up, and puts the
// previous sink and level back afterwards.
#pragma once

#include <mutex>
#include <string>
#include <vector>

#include "vmruntime/base/log.h"

namespace vmruntime::dev::testing {

class CapturedLog {
public:
    explicit CapturedLog(base::LogLevel level) : old_level_(base::log_level())
    {
        base::set_log_level(level);
        old_sink_ = base::set_log_sink([this](std::string_view line) {
            std::lock_guard lock(mutex_);
            lines_.emplace_back(line);
        });
    }
    ~CapturedLog()
    {
        base::set_log_sink(std::move(old_sink_));
        base::set_log_level(old_level_);
    }
    CapturedLog(const CapturedLog&) = delete;
    CapturedLog& operator=(const CapturedLog&) = delete;

    std::vector<std::string> lines()
    {
        std::lock_guard lock(mutex_);
        return lines_;
    }
    void clear()
    {
        std::lock_guard lock(mutex_);
        lines_.clear();
    }

private:
    base::LogLevel old_level_;
    base::LogSink old_sink_;
    std::mutex mutex_;
    std::vector<std::string> lines_;
};

}  // namespace vmruntime::dev::testing
