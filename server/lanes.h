// SPDX-License-Identifier: BSD-2-Clause
//
// One lane per machine on the service's worker pool: the requests that
// name a machine run one at a time, in the order they came, so a machine
// whose vCPUs do not answer holds at most one worker however many requests
// name it, and the requests for every other machine go on.  A lane exists
// only while it has work; at most kMaxQueued requests wait in one.
#pragma once

#include <boost/asio/thread_pool.hpp>

#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>

namespace vmruntime::server {

class Lanes {
public:
    static constexpr size_t kMaxQueued = 64;

    explicit Lanes(boost::asio::thread_pool& pool) : pool_(pool) {}
    Lanes(const Lanes&) = delete;
    Lanes& operator=(const Lanes&) = delete;

    // Queues `job` on the lane of `key`; false, not queued, if kMaxQueued
    // jobs wait there already.  `job` must not throw.
    bool post(const std::string& key, std::function<void()> job);

private:
    void run_next(const std::string& key);

    boost::asio::thread_pool& pool_;
    std::mutex mutex_;
    // A lane is here while a job of it runs or waits.
    std::map<std::string, std::deque<std::function<void()>>> lanes_;
};

}  // namespace vmruntime::server
