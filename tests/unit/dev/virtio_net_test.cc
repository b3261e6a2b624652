// SPDX-License-Identifier: BSD-2-Clause
// virtio-net on a datagram socket standing in for a tap (one frame per
// read and write), driven as Linux's virtio_net driver fills its queues:
// transmit chains of header and frame go out whole; received frames land
// in posted buffers behind a zero header, and receive waits for the
// socket, or for buffers, whichever is missing.
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <string>

#include "fakes.h"
#include "virtqueue_driver.h"
#include "vmruntime/base/unique_fd.h"
#include "vmruntime/dev/virtio_net.h"

namespace vmruntime::dev {
namespace {

using testing::FakeWatch;
using testing::VectorRam;
using testing::VirtqueueDriver;

constexpr uint16_t kNext = VirtqueueDriver::kNext, kWrite = VirtqueueDriver::kWrite;
constexpr Virtqueue::Layout kRx{8, 0x1000, 0x2000, 0x3000}, kTx{8, 0x4000, 0x5000, 0x6000};
constexpr uint64_t kBuffers = 0x10000;

class VirtioNetTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        int fds[2];
        ASSERT_EQ(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
        device_side_.reset(fds[0]);
        host_side_.reset(fds[1]);
        ASSERT_TRUE(rx_.set_layout(kRx));
        ASSERT_TRUE(tx_.set_layout(kTx));
        net_ = std::make_unique<VirtioNet>(device_side_.get(), watch_, std::array<uint8_t, 6>{2, 0, 0, 0, 0, 7});
    }

    void activate()
    {
        Virtqueue* queues[] = {&rx_, &tx_};
        net_->activate(queues, 0, link_);
    }

    // A receive buffer of `len` bytes at kBuffers + 0x1000 * i, chain head i.
    void post_rx(uint16_t i, uint32_t len = 1526)
    {
        rx_driver_.desc(i, kBuffers + 0x1000 * i, len, kWrite);
        rx_driver_.offer(i);
    }

    std::string host_read()
    {
        char buf[2048];
        ssize_t n = recv(host_side_.get(), buf, sizeof buf, 0);
        return n < 0 ? "<nothing>" : std::string(buf, static_cast<size_t>(n));
    }
    void host_send(const std::string& frame)
    {
        ASSERT_EQ(send(host_side_.get(), frame.data(), frame.size(), 0), static_cast<ssize_t>(frame.size()));
    }

    base::UniqueFd device_side_, host_side_;
    VectorRam ram_;
    VirtqueueDriver rx_driver_{ram_, kRx}, tx_driver_{ram_, kTx};
    Virtqueue rx_{ram_, true, false}, tx_{ram_, true, false};
    FakeWatch watch_;
    testing::CountingLink link_;
    std::unique_ptr<VirtioNet> net_;
};

TEST_F(VirtioNetTest, ConfigurationHoldsTheMacAndLinkUp)
{
    auto config = net_->config();
    ASSERT_EQ(config.size(), 8u);
    EXPECT_EQ(std::vector<uint8_t>(config.begin(), config.begin() + 6), (std::vector<uint8_t>{2, 0, 0, 0, 0, 7}));
    EXPECT_EQ(config[6], 1) << "VIRTIO_NET_S_LINK_UP";
    EXPECT_EQ(net_->device_features(), VirtioNet::kFeatureMac | VirtioNet::kFeatureStatus);
    EXPECT_EQ(net_->device_id(), 1u);
}

TEST_F(VirtioNetTest, TransmitSendsEachChainAsOneFrameWithoutItsHeader)
{
    activate();
    std::memset(ram_.bytes.data() + kBuffers, 0xAA, 12);  // the header, whatever it holds
    std::memcpy(ram_.bytes.data() + kBuffers + 12, "fra", 3);
    std::memcpy(ram_.bytes.data() + kBuffers + 0x100, "me-1", 4);
    tx_driver_.desc(0, kBuffers, 15, kNext, 1);
    tx_driver_.desc(1, kBuffers + 0x100, 4, 0);
    tx_driver_.offer(0);
    std::memcpy(ram_.bytes.data() + kBuffers + 0x200 + 12, "frame-2", 7);
    tx_driver_.desc(2, kBuffers + 0x200, 19, 0);
    tx_driver_.offer(2);
    net_->notify(VirtioNet::kTransmitQueue);
    EXPECT_EQ(host_read(), "frame-1");
    EXPECT_EQ(host_read(), "frame-2");
    EXPECT_EQ(tx_driver_.used_idx(), 2);
    EXPECT_EQ(link_.used_, 1u) << "one interrupt for the batch";
    EXPECT_EQ(net_->counters().sent, 2u);
}

TEST_F(VirtioNetTest, ReceiveFillsPostedBuffersBehindAZeroHeader)
{
    post_rx(0);
    post_rx(1);
    activate();
    EXPECT_TRUE(watch_.waiting()) << "buffers, no frame: wait for the socket";
    host_send("hello");
    host_send("world!");
    watch_.readable();
    ASSERT_EQ(rx_driver_.used_idx(), 2);
    EXPECT_EQ(rx_driver_.used_len(0), 12u + 5);
    EXPECT_EQ(rx_driver_.used_len(1), 12u + 6);
    std::vector<uint8_t> header(ram_.bytes.begin() + kBuffers, ram_.bytes.begin() + kBuffers + 12);
    std::vector<uint8_t> expected(12, 0);
    expected[10] = 1;  // num_buffers
    EXPECT_EQ(header, expected);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(&ram_.bytes[kBuffers + 12]), 5), "hello");
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(&ram_.bytes[kBuffers + 0x1000 + 12]), 6), "world!");
    EXPECT_FALSE(watch_.waiting()) << "no buffers left: the guest's next notify resumes";
}

TEST_F(VirtioNetTest, FramesWaitInTheHostUntilTheGuestPostsBuffers)
{
    activate();
    host_send("early");
    watch_.readable();
    EXPECT_EQ(rx_driver_.used_idx(), 0);
    post_rx(3);
    net_->notify(VirtioNet::kReceiveQueue);
    ASSERT_EQ(rx_driver_.used_idx(), 1);
    EXPECT_EQ(rx_driver_.used_id(0), 3u);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(&ram_.bytes[kBuffers + 0x3000 + 12]), 5), "early");
}

TEST_F(VirtioNetTest, ABufferTooSmallForAHeaderComesBackEmpty)
{
    post_rx(0, 8);
    post_rx(1);
    activate();
    host_send("x");
    watch_.readable();
    ASSERT_EQ(rx_driver_.used_idx(), 2);
    EXPECT_EQ(rx_driver_.used_len(0), 0u);
    EXPECT_EQ(rx_driver_.used_len(1), 13u);
    EXPECT_EQ(link_.needs_reset_, 0u);
}

TEST_F(VirtioNetTest, ResetStopsWaiting)
{
    post_rx(0);
    activate();
    EXPECT_TRUE(watch_.waiting());
    net_->reset();
    EXPECT_FALSE(watch_.waiting());
    net_->notify(VirtioNet::kTransmitQueue);  // after a reset: nothing to do
}

}  // namespace
}  // namespace vmruntime::dev
