// SPDX-License-Identifier: BSD-2-Clause
//
// Lanes: one lane's jobs run one at a time and in order, a lane that is
// stuck holds one worker and stops no other lane, and a full lane refuses.
#include "server/lanes.h"

#include <gtest/gtest.h>

#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

namespace vmruntime::server {
namespace {

using namespace std::chrono_literals;

TEST(Lanes, OneLaneRunsItsJobsOneAtATimeInOrder)
{
    boost::asio::thread_pool pool(4);
    Lanes lanes(pool);
    std::mutex mutex;
    std::vector<int> order;
    std::atomic<int> running{0}, most{0};
    for (int i = 0; i < 50; i++) {
        ASSERT_TRUE(lanes.post("m", [&, i] {
            most = std::max(most.load(), ++running);
            {
                std::lock_guard lock(mutex);
                order.push_back(i);
            }
            std::this_thread::sleep_for(100us);
            --running;
        }));
    }
    pool.join();
    ASSERT_EQ(order.size(), 50u);
    for (int i = 0; i < 50; i++) {
        EXPECT_EQ(order[i], i);
    }
    EXPECT_EQ(most.load(), 1);
}

TEST(Lanes, AStuckLaneHoldsOneWorkerAndStopsNoOther)
{
    boost::asio::thread_pool pool(2);
    Lanes lanes(pool);
    std::promise<void> release;
    std::shared_future<void> released = release.get_future().share();
    for (int i = 0; i < 10; i++) {
        ASSERT_TRUE(lanes.post("stuck", [released] { released.wait(); }));
    }
    std::promise<void> other_ran;
    ASSERT_TRUE(lanes.post("other", [&] { other_ran.set_value(); }));
    EXPECT_EQ(other_ran.get_future().wait_for(10s), std::future_status::ready);
    release.set_value();
    pool.join();
}

TEST(Lanes, AFullLaneRefusesAndTakesJobsAgainOnceItDrains)
{
    boost::asio::thread_pool pool(1);
    Lanes lanes(pool);
    std::promise<void> release;
    std::shared_future<void> released = release.get_future().share();
    for (size_t i = 0; i < Lanes::kMaxQueued; i++) {
        ASSERT_TRUE(lanes.post("m", [released] { released.wait(); })) << i;
    }
    EXPECT_FALSE(lanes.post("m", [] {}));
    EXPECT_TRUE(lanes.post("n", [] {})) << "another lane has room";
    release.set_value();
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    bool taken = false;
    while (!(taken = lanes.post("m", [] {})) && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(1ms);
    }
    EXPECT_TRUE(taken);
    pool.join();
}

}  // namespace
}  // namespace vmruntime::server
