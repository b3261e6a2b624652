// SPDX-License-Identifier: BSD-2-Clause
// virtio-vsock driven as Linux's virtio_transport fills its queues, with
// socket pairs standing in for the host's Unix sockets: a guest's REQUEST
// reaches the host and is answered, a host client's CONNECT reaches the
// guest, bytes flow both ways within each side's credit, and what breaks
// the protocol is refused with RST.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "fakes.h"
#include "virtqueue_driver.h"
#include "vmruntime/base/unique_fd.h"
#include "vmruntime/dev/virtio_vsock.h"

namespace vmruntime::dev {
namespace {

using testing::FakeWatch;
using testing::VectorRam;
using testing::VirtqueueDriver;
using vsock::Header;

constexpr uint16_t kWrite = VirtqueueDriver::kWrite;
constexpr Virtqueue::Layout kRx{16, 0x1000, 0x2000, 0x3000}, kTx{16, 0x4000, 0x5000, 0x6000};
constexpr uint64_t kRxBuffers = 0x10000, kTxBuffers = 0x80000;
constexpr uint32_t kRxBufferBytes = sizeof(Header) + 4096;  // Linux's receive buffers
constexpr uint64_t kCid = 3;
constexpr uint32_t kRefusedPort = 99;

// Socket pairs for the host's listeners: the device gets one end, the test
// keeps the other as the host program's.
class FakeHost final : public VirtioVsock::Host {
public:
    base::UniqueFd connect(uint32_t port) override
    {
        int fds[2];
        if (port == kRefusedPort || socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0) {
            return {};
        }
        programs[port].reset(fds[1]);
        return base::UniqueFd(fds[0]);
    }
    std::unique_ptr<FdWatch> watch(int fd) override
    {
        auto w = std::make_unique<FakeWatch>();
        watches[fd] = newest = w.get();
        return w;
    }
    std::map<uint32_t, base::UniqueFd> programs;
    std::map<int, FakeWatch*> watches;
    FakeWatch* newest = nullptr;  // the last stream's
};

class VirtioVsockTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        listener_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
        address_.sun_family = AF_UNIX;
        // An abstract name: nothing on the filesystem to clean up.
        std::snprintf(address_.sun_path + 1, sizeof address_.sun_path - 1, "vmrt-vsock-test-%d", ::getpid());
        ASSERT_EQ(::bind(listener_.get(), reinterpret_cast<sockaddr*>(&address_), sizeof address_), 0);
        ASSERT_EQ(::listen(listener_.get(), 4), 0);
        ASSERT_TRUE(rx_.set_layout(kRx));
        ASSERT_TRUE(tx_.set_layout(kTx));
        vsock_ = std::make_unique<VirtioVsock>(kCid, listener_.get(), host_);
        for (uint16_t i = 0; i < kRx.size; i++) {
            rx_driver_.desc(i, kRxBuffers + uint64_t{i} * 0x2000, kRxBufferBytes, kWrite);
            rx_driver_.offer(i);
        }
        Virtqueue* queues[] = {&rx_, &tx_};
        vsock_->activate(queues, 0, link_);
    }

    // The guest sends one packet; ports are the host's then the guest's.
    void send(uint16_t op, uint32_t host_port, uint32_t guest_port, const std::string& payload = "",
              uint32_t buf_alloc = 1 << 18, uint32_t fwd_cnt = 0, uint32_t flags = 0)
    {
        queue(op, host_port, guest_port, payload, buf_alloc, fwd_cnt, flags);
        vsock_->notify(VirtioVsock::kTransmitQueue);
    }
    // As send(), without the notification: packets pile up.
    void queue(uint16_t op, uint32_t host_port, uint32_t guest_port, const std::string& payload = "",
               uint32_t buf_alloc = 1 << 18, uint32_t fwd_cnt = 0, uint32_t flags = 0)
    {
        Header h{kCid, vsock::kHostCid, guest_port, host_port, static_cast<uint32_t>(payload.size()),
                 vsock::kTypeStream, op, flags, buf_alloc, fwd_cnt};
        const uint64_t at = kTxBuffers + uint64_t{sent_ % kTx.size} * 0x2000;
        std::memcpy(ram_.bytes.data() + at, &h, sizeof h);
        std::memcpy(ram_.bytes.data() + at + sizeof h, payload.data(), payload.size());
        tx_driver_.desc(static_cast<uint16_t>(sent_ % kTx.size), at, static_cast<uint32_t>(sizeof h + payload.size()), 0);
        tx_driver_.offer(static_cast<uint16_t>(sent_++ % kTx.size));
    }

    struct Packet {
        Header header;
        std::string payload;
    };
    // What the device put in the receive queue since the last call.
    std::vector<Packet> received()
    {
        std::vector<Packet> out;
        for (; seen_ != rx_driver_.used_idx(); seen_++) {
            const uint16_t slot = seen_ % kRx.size;
            const uint64_t at = kRxBuffers + uint64_t{rx_driver_.used_id(slot)} * 0x2000;
            Packet p;
            std::memcpy(&p.header, ram_.bytes.data() + at, sizeof p.header);
            p.payload.assign(reinterpret_cast<const char*>(ram_.bytes.data() + at + sizeof(Header)), p.header.len);
            EXPECT_EQ(rx_driver_.used_len(slot), sizeof(Header) + p.header.len);
            out.push_back(p);
            // Linux posts the buffer again once it took the packet.
            rx_driver_.desc(static_cast<uint16_t>(rx_driver_.used_id(slot)), at, kRxBufferBytes, kWrite);
            rx_driver_.offer(static_cast<uint16_t>(rx_driver_.used_id(slot)));
        }
        return out;
    }

    // Opens guest port 1234 to host port 5000; returns the host program's end.
    int open_from_guest()
    {
        send(vsock::kRequest, 5000, 1234);
        auto answer = received();
        EXPECT_EQ(answer.size(), 1u);
        EXPECT_EQ(answer.empty() ? 0 : answer[0].header.op, vsock::kResponse);
        return host_.programs[5000].get();
    }

    FakeWatch& newest_watch() { return *host_.newest; }
    FakeWatch& listener_watch() { return *host_.watches.at(listener_.get()); }

    base::UniqueFd listener_;
    sockaddr_un address_{};
    VectorRam ram_;
    VirtqueueDriver rx_driver_{ram_, kRx}, tx_driver_{ram_, kTx};
    Virtqueue rx_{ram_, true, false}, tx_{ram_, true, false};
    FakeHost host_;
    testing::CountingLink link_;
    std::unique_ptr<VirtioVsock> vsock_;
    unsigned sent_ = 0;
    uint16_t seen_ = 0;
};

// What `fd` holds now, without waiting.
std::string read_all_now(int fd)
{
    std::string all;
    char buf[4096];
    ssize_t n;
    while ((n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT)) > 0) all.append(buf, static_cast<size_t>(n));
    return all;
}

TEST_F(VirtioVsockTest, ConfigurationHoldsTheGuestCid)
{
    EXPECT_EQ(vsock_->device_id(), 19u);
    ASSERT_EQ(vsock_->config().size(), 8u);
    uint64_t cid;
    std::memcpy(&cid, vsock_->config().data(), sizeof cid);
    EXPECT_EQ(cid, kCid);
    EXPECT_EQ(vsock_->queue_count(), 3u);
}

TEST_F(VirtioVsockTest, AGuestConnectionReachesTheHostAndCarriesBytesBothWays)
{
    send(vsock::kRequest, 5000, 1234);
    auto answer = received();
    ASSERT_EQ(answer.size(), 1u);
    const Header& h = answer[0].header;
    EXPECT_EQ(h.op, vsock::kResponse);
    EXPECT_EQ(h.src_cid, vsock::kHostCid);
    EXPECT_EQ(h.dst_cid, kCid);
    EXPECT_EQ(h.src_port, 5000u);
    EXPECT_EQ(h.dst_port, 1234u);
    EXPECT_EQ(h.buf_alloc, VsockConnection::kBufferBytes);
    const int program = host_.programs[5000].get();

    send(vsock::kRw, 5000, 1234, "hello");
    EXPECT_EQ(read_all_now(program), "hello");
    EXPECT_TRUE(received().empty()) << "five bytes consumed are no credit update yet";

    ASSERT_EQ(::write(program, "world", 5), 5);
    newest_watch().readable();
    auto data = received();
    ASSERT_EQ(data.size(), 1u);
    EXPECT_EQ(data[0].header.op, vsock::kRw);
    EXPECT_EQ(data[0].payload, "world");
    EXPECT_EQ(data[0].header.fwd_cnt, 5u) << "the guest hears what the host consumed";
    EXPECT_EQ(vsock_->connections(), 1u);
}

TEST_F(VirtioVsockTest, RefusedConnectionsAndStrayPacketsGetRstAndForeignOnesNothing)
{
    send(vsock::kRequest, kRefusedPort, 1);
    send(vsock::kRw, 5000, 2, "no such connection");
    send(vsock::kRst, 5000, 3);  // nothing answers a RST
    auto answers = received();
    ASSERT_EQ(answers.size(), 2u);
    EXPECT_EQ(answers[0].header.op, vsock::kRst);
    EXPECT_EQ(answers[0].header.dst_port, 1u);
    EXPECT_EQ(answers[1].header.op, vsock::kRst);
    EXPECT_EQ(answers[1].header.dst_port, 2u);

    Header foreign{kCid + 1, vsock::kHostCid, 4, 5000, 0, vsock::kTypeStream, vsock::kRequest, 0, 0, 0};
    std::memcpy(ram_.bytes.data() + kTxBuffers, &foreign, sizeof foreign);
    tx_driver_.desc(0, kTxBuffers, sizeof foreign, 0);
    tx_driver_.offer(0);
    sent_++;
    vsock_->notify(VirtioVsock::kTransmitQueue);
    EXPECT_TRUE(received().empty()) << "a packet from another CID is dropped";
    EXPECT_EQ(vsock_->connections(), 0u);
    EXPECT_EQ(link_.needs_reset_, 0u);
}

TEST_F(VirtioVsockTest, AHostClientConnectsWithConnectAndHearsOk)
{
    base::UniqueFd client(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    ASSERT_EQ(::connect(client.get(), reinterpret_cast<sockaddr*>(&address_), sizeof address_), 0);
    ASSERT_EQ(::write(client.get(), "CONNECT 52\nearly", 16), 16);
    listener_watch().readable();
    auto request = received();
    ASSERT_EQ(request.size(), 1u);
    EXPECT_EQ(request[0].header.op, vsock::kRequest);
    EXPECT_EQ(request[0].header.dst_port, 52u);
    const uint32_t host_port = request[0].header.src_port;
    EXPECT_GE(host_port, VirtioVsock::kFirstHostPort);

    send(vsock::kResponse, host_port, 52);
    EXPECT_EQ(read_all_now(client.get()), "OK " + std::to_string(host_port) + "\n");
    newest_watch().readable();
    auto data = received();
    ASSERT_EQ(data.size(), 1u);
    EXPECT_EQ(data[0].payload, "early") << "what followed the request is the stream's";
}

TEST_F(VirtioVsockTest, AClientThatDoesNotSayConnectIsClosed)
{
    base::UniqueFd client(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    ASSERT_EQ(::connect(client.get(), reinterpret_cast<sockaddr*>(&address_), sizeof address_), 0);
    ASSERT_EQ(::write(client.get(), "CONNECT x\n", 10), 10);
    listener_watch().readable();
    char c;
    EXPECT_EQ(::read(client.get(), &c, 1), 0) << "closed";
    EXPECT_TRUE(received().empty());
}

TEST_F(VirtioVsockTest, TheGuestsCreditBoundsWhatTheHostSends)
{
    send(vsock::kRequest, 5000, 1234, "", /*buf_alloc=*/8);
    received();
    const int program = host_.programs[5000].get();
    ASSERT_EQ(::write(program, "0123456789abcdefghij", 20), 20);
    newest_watch().readable();
    auto first = received();
    ASSERT_EQ(first.size(), 1u);
    EXPECT_EQ(first[0].payload, "01234567");
    send(vsock::kCreditUpdate, 5000, 1234, "", 8, /*fwd_cnt=*/8);
    auto second = received();
    ASSERT_EQ(second.size(), 1u);
    EXPECT_EQ(second[0].payload, "89abcdef");
}

TEST_F(VirtioVsockTest, OneCreditUpdateIsOnItsWayAtATime)
{
    open_from_guest();
    for (int i = 0; i < 3; i++) queue(vsock::kCreditRequest, 5000, 1234);
    vsock_->notify(VirtioVsock::kTransmitQueue);
    auto updates = received();
    ASSERT_EQ(updates.size(), 1u) << "three requests in one batch, one answer";
    EXPECT_EQ(updates[0].header.op, vsock::kCreditUpdate);
    send(vsock::kCreditRequest, 5000, 1234);
    EXPECT_EQ(received().size(), 1u) << "the next request is answered again";
}

TEST_F(VirtioVsockTest, BytesTheHostCannotTakeYetWaitAndFollow)
{
    const int program = open_from_guest();
    int small = 4096;
    ASSERT_EQ(::setsockopt(program, SOL_SOCKET, SO_RCVBUF, &small, sizeof small), 0);
    const std::string chunk(4000, 'x');
    size_t sent = 0;
    for (int i = 0; i < 64 && !newest_watch().waiting_to_write(); i++) {
        send(vsock::kRw, 5000, 1234, chunk);
        sent += chunk.size();
    }
    ASSERT_TRUE(newest_watch().waiting_to_write()) << "the host socket never filled";
    size_t got = 0;
    while (newest_watch().waiting_to_write()) {
        got += read_all_now(program).size();
        newest_watch().writable();
    }
    got += read_all_now(program).size();
    EXPECT_EQ(got, sent);
    EXPECT_EQ(vsock_->connections(), 1u);
}

TEST_F(VirtioVsockTest, AGuestSendingPastItsCreditIsReset)
{
    open_from_guest();
    const std::string chunk(4096, 'y');
    // The host never reads: past the kept bytes' limit the guest broke the rules.
    for (size_t i = 0; i <= 2 * VsockConnection::kBufferBytes / chunk.size() && vsock_->connections(); i++) {
        send(vsock::kRw, 5000, 1234, chunk);
    }
    EXPECT_EQ(vsock_->connections(), 0u);
    auto answers = received();
    ASSERT_FALSE(answers.empty());
    EXPECT_EQ(answers.back().header.op, vsock::kRst);
}

TEST_F(VirtioVsockTest, ShutdownsEndTheStreamInBothDirections)
{
    const int program = open_from_guest();
    ::shutdown(program, SHUT_WR);
    newest_watch().readable();
    auto end = received();
    ASSERT_EQ(end.size(), 1u);
    EXPECT_EQ(end[0].header.op, vsock::kShutdown);
    EXPECT_EQ(end[0].header.flags, vsock::kShutdownSend) << "the host sends no more";

    send(vsock::kShutdown, 5000, 1234, "", 1 << 18, 0, vsock::kShutdownReceive | vsock::kShutdownSend);
    auto closed = received();
    ASSERT_EQ(closed.size(), 1u);
    EXPECT_EQ(closed[0].header.op, vsock::kRst) << "the closing guest waits for the host's RST";
    EXPECT_EQ(vsock_->connections(), 0u);
    char c;
    EXPECT_EQ(::read(program, &c, 1), 0) << "the host program reads the end";
}

TEST_F(VirtioVsockTest, ResetDropsEveryConnection)
{
    open_from_guest();
    vsock_->reset();
    EXPECT_EQ(vsock_->connections(), 0u);
    vsock_->notify(VirtioVsock::kTransmitQueue);  // after a reset: nothing to do
}

}  // namespace
}  // namespace vmruntime::dev
