// SPDX-License-Identifier: BSD-2-Clause
#include "vmruntime/base/stderr_queue.h"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string_view>
#include <thread>
#include <utility>

#include "vmruntime/base/log.h"

namespace vmruntime::base {
namespace {

// One write(2) per line keeps lines from different processes sharing the
// same stderr from interleaving too.
void write_line(std::string_view line)
{
    std::string buf;
    buf.reserve(line.size() + 1);
    buf.append(line);
    buf.push_back('\n');
    const char* p = buf.data();
    size_t left = buf.size();
    while (left > 0) {
        ssize_t n = ::write(STDERR_FILENO, p, left);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return;  // Nowhere left to report a failing stderr.
        }
        p += n;
        left -= static_cast<size_t>(n);
    }
}

}  // namespace

StderrQueue& StderrQueue::instance()
{
    static StderrQueue* queue = [] {
        auto* q = new StderrQueue;
        std::atexit([] { instance().flush(std::chrono::seconds(1)); });
        return q;
    }();
    return *queue;
}

void StderrQueue::push(std::string line)
{
    std::lock_guard lock(mutex_);
    if (bytes_ + line.size() > kMaxQueuedBytes) {
        ++dropped_;
        ++unreported_;
        return;
    }
    if (!started_) {
        started_ = true;
        std::thread([this] { run(); }).detach();
    }
    bytes_ += line.size();
    lines_.push_back(std::move(line));
    work_.notify_one();
}

bool StderrQueue::flush(std::chrono::milliseconds timeout)
{
    std::unique_lock lock(mutex_);
    return idle_.wait_for(lock, timeout, [&] { return lines_.empty() && !writing_; });
}

uint64_t StderrQueue::dropped() const
{
    std::lock_guard lock(mutex_);
    return dropped_;
}

void StderrQueue::run()
{
    std::deque<std::string> batch;
    std::unique_lock lock(mutex_);
    for (;;) {
        work_.wait(lock, [&] { return !lines_.empty(); });
        batch.swap(lines_);
        bytes_ = 0;
        const uint64_t lost = std::exchange(unreported_, 0);
        writing_ = true;
        lock.unlock();
        write_batch(batch, lost);
        lock.lock();
        writing_ = false;
        idle_.notify_all();
    }
}

// The count of lines lost comes where they would have been: after the
// lines taken before them.
void StderrQueue::write_batch(std::deque<std::string>& batch, uint64_t lost)
{
    for (const std::string& line : batch) {
        write_line(line);
    }
    batch.clear();
    if (lost > 0) {
        const std::string message = std::to_string(lost) + " lines dropped: stderr was not taking them";
        write_line(format_line_now(LogLevel::kWarn, "log", message));
    }
}

}  // namespace vmruntime::base
