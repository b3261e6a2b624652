// SPDX-License-Identifier: BSD-2-Clause
#include "server/lanes.h"

#include <boost/asio/post.hpp>

#include <utility>

namespace vmruntime::server {

bool Lanes::post(const std::string& key, std::function<void()> job)
{
    std::lock_guard lock(mutex_);
    auto [lane, fresh] = lanes_.try_emplace(key);
    if (lane->second.size() >= kMaxQueued) {
        return false;
    }
    lane->second.push_back(std::move(job));
    if (fresh) {
        boost::asio::post(pool_, [this, key] { run_next(key); });
    }
    return true;
}

// One job per pool task, so a busy lane takes its turn with the others.
void Lanes::run_next(const std::string& key)
{
    std::function<void()> job;
    {
        std::lock_guard lock(mutex_);
        job = std::move(lanes_.at(key).front());
    }
    job();
    std::lock_guard lock(mutex_);
    auto lane = lanes_.find(key);
    lane->second.pop_front();
    if (lane->second.empty()) {
        lanes_.erase(lane);
    } else {
        boost::asio::post(pool_, [this, key] { run_next(key); });
    }
}

}  // namespace vmruntime::server
