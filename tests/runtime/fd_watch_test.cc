// SPDX-License-Identifier: BSD-2-Clause
// dev::FdWatch on Asio: a wait per direction, each fired once on the
// machine's strand when the descriptor is ready; a new callback replaces
// the pending one, cancel() and the watch's end drop it.
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <boost/asio/post.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>

#include "vmruntime/base/unique_fd.h"
#include "vmruntime/runtime/device_layer.h"
#include "vmruntime/runtime/fd_watch.h"

namespace vmruntime::runtime {
namespace {

using namespace std::chrono_literals;

class FdWatchTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        int fds[2];
        ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
        mine_.reset(fds[0]);
        peer_.reset(fds[1]);
        on_strand([&] { watch_ = std::make_unique<StrandFdWatch>(strand_, mine_.get()); });
    }
    void TearDown() override
    {
        on_strand([&] { watch_.reset(); });
    }

    // Runs `fn` on the strand, as devices use their watches, and waits.
    template <typename Fn>
    void on_strand(Fn fn)
    {
        std::promise<void> done;
        boost::asio::post(strand_, [&] {
            fn();
            done.set_value();
        });
        done.get_future().wait();
    }
    // A callback that counts its calls and checks it runs on the strand.
    std::function<void()> counting(std::atomic<int>& calls)
    {
        return [this, &calls] {
            EXPECT_TRUE(strand_.running_in_this_thread());
            calls++;
        };
    }
    static bool becomes(const std::atomic<int>& calls, int value)
    {
        for (auto deadline = std::chrono::steady_clock::now() + 5s; std::chrono::steady_clock::now() < deadline;) {
            if (calls == value) return true;
            std::this_thread::sleep_for(1ms);
        }
        return false;
    }
    void peer_writes() { ASSERT_EQ(::write(peer_.get(), "x", 1), 1); }

    DeviceLayer layer_{2};
    Strand strand_ = layer_.make_strand();
    base::UniqueFd mine_, peer_;
    std::unique_ptr<StrandFdWatch> watch_;
};

TEST_F(FdWatchTest, EachDirectionFiresOnceWhenReady)
{
    std::atomic<int> reads = 0, writes = 0;
    on_strand([&] {
        watch_->when_readable(counting(reads));
        watch_->when_writable(counting(writes));
    });
    EXPECT_TRUE(becomes(writes, 1)) << "an empty socket is writable at once";
    std::this_thread::sleep_for(50ms);
    EXPECT_EQ(reads, 0) << "nothing to read yet";
    peer_writes();
    EXPECT_TRUE(becomes(reads, 1));
    std::this_thread::sleep_for(50ms);
    EXPECT_EQ(reads, 1) << "one wait, one call, though the socket stays readable";
    EXPECT_EQ(writes, 1);
}

TEST_F(FdWatchTest, ANewCallbackReplacesThePendingOneAndCancelDropsIt)
{
    std::atomic<int> first = 0, second = 0, third = 0;
    on_strand([&] {
        watch_->when_readable(counting(first));
        watch_->when_readable(counting(second));
    });
    peer_writes();
    EXPECT_TRUE(becomes(second, 1));
    EXPECT_EQ(first, 0);
    char byte;
    ASSERT_EQ(::read(mine_.get(), &byte, 1), 1);

    on_strand([&] {
        watch_->when_readable(counting(third));
        watch_->cancel();
    });
    peer_writes();
    std::this_thread::sleep_for(100ms);
    EXPECT_EQ(third, 0);
}

TEST_F(FdWatchTest, AWatchThatGoesWithAWaitPendingRunsNothing)
{
    std::atomic<int> reads = 0;
    on_strand([&] {
        watch_->when_readable(counting(reads));
        watch_.reset();
    });
    peer_writes();
    std::this_thread::sleep_for(100ms);
    EXPECT_EQ(reads, 0);
}

}  // namespace
}  // namespace vmruntime::runtime
