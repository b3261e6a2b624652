// SPDX-License-Identifier: BSD-2-Clause
//
// The default log sink's queue: lines for stderr are handed to one writer
// thread, so that a stderr nobody reads (a full pipe) blocks only that
// thread, never a vCPU or a request handler that logs.  While the writer
// is stuck, lines past kMaxQueuedBytes are dropped and counted, and once
// stderr takes lines again a line says how many were lost.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>

namespace vmruntime::base {

class StderrQueue {
public:
    static constexpr size_t kMaxQueuedBytes = 1 << 20;

    // The process's queue; its writer starts with the first line.  Never
    // destroyed, so lines logged by static destructors still find it, and
    // flushed (for at most a second) when the process exits.
    static StderrQueue& instance();

    // Takes `line` (no trailing newline) unless kMaxQueuedBytes wait already.
    void push(std::string line);
    // Waits until every line taken so far is written, for at most `timeout`;
    // false if stderr did not take them in time.
    bool flush(std::chrono::milliseconds timeout);
    // Lines dropped since the process started.
    uint64_t dropped() const;

private:
    StderrQueue() = default;
    void run();
    void write_batch(std::deque<std::string>& batch, uint64_t lost);

    mutable std::mutex mutex_;
    std::condition_variable work_;
    std::condition_variable idle_;
    std::deque<std::string> lines_;
    size_t bytes_ = 0;
    uint64_t dropped_ = 0;
    uint64_t unreported_ = 0;  // dropped, not yet said on stderr
    bool writing_ = false;
    bool started_ = false;
};

}  // namespace vmruntime::base
