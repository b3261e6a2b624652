// SPDX-License-Identifier: BSD-2-Clause
//
// virtio-vsock (virtio 1.2, section 5.10) with Firecracker's host side:
// no vhost module, the host end of every guest stream is a Unix stream
// socket.
//
//  - A guest connecting to host port P reaches whatever listens on the
//    Host's socket for P (the machine's socket path with "_P" appended);
//    nobody listening is a refused connection.
//  - A host client connecting to the machine's listening socket writes
//    "CONNECT <port>\n"; the device asks the guest's port and, when the
//    guest accepts, answers "OK <host port>\n", after which the socket
//    carries the stream.  A refused or malformed request is a closed socket.
//
// The three queues are receive (device to guest), transmit and event (the
// device never needs it).  Control packets the device owes the guest wait
// in order for receive buffers and go before data.  A packet that breaks
// the protocol resets its connection (RST), never the device.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "vmruntime/base/unique_fd.h"
#include "vmruntime/dev/virtio_mmio.h"
#include "vmruntime/dev/vsock_connection.h"

namespace vmruntime::dev {

class VirtioVsock final : public VirtioDevice {
public:
    static constexpr uint32_t kDeviceId = 19;
    static constexpr unsigned kReceiveQueue = 0, kTransmitQueue = 1, kEventQueue = 2;
    static constexpr size_t kMaxConnections = 256;  // two descriptors each
    static constexpr size_t kMaxPendingClients = 64;  // host clients that have not sent CONNECT yet
    static constexpr uint32_t kFirstHostPort = 1U << 30;  // for host clients' connections

    // The host side, as the machine's owner may reach it.
    class Host {
    public:
        virtual ~Host() = default;
        // A connected non-blocking stream socket to the host's listener for
        // port `port`, or none to refuse the guest's connection.
        virtual base::UniqueFd connect(uint32_t port) = 0;
        virtual std::unique_ptr<FdWatch> watch(int fd) = 0;
    };

    // `listener` (non-blocking, listening) and `host` outlive the device.
    VirtioVsock(uint64_t guest_cid, int listener, Host& host);

    uint32_t device_id() const override { return kDeviceId; }
    uint64_t device_features() const override { return 0; }  // stream sockets only
    unsigned queue_count() const override { return 3; }
    uint16_t queue_max_size() const override { return 256; }
    std::span<const uint8_t> config() const override { return config_; }
    void activate(std::span<Virtqueue*> queues, uint64_t features, VirtioLink& link) override;
    void notify(unsigned index) override;
    void reset() override;

    size_t connections() const { return connections_.size(); }

private:
    using Key = uint64_t;  // host port << 32 | guest port
    struct Client {        // a host client that has not said CONNECT yet
        base::UniqueFd stream;
        std::unique_ptr<FdWatch> watch;
        std::string line;
    };

    static Key key_of(uint32_t host_port, uint32_t guest_port) { return uint64_t{host_port} << 32 | guest_port; }

    void transmit();
    void handle(const vsock::Header& packet, std::span<const iovec> payload);
    void handle_new(const vsock::Header& packet);
    void handle_known(VsockConnection& connection, const vsock::Header& packet, std::span<const iovec> payload);
    void deliver();
    bool deliver_control(bool* interrupt);
    bool deliver_data(bool* interrupt);
    VsockConnection* next_receiver(Key* key);
    void woken(Key key);

    void accept_clients();
    void read_request(uint64_t client);
    void dial_guest(Client client, uint32_t guest_port);
    uint32_t free_host_port();

    // A packet from the host to the guest, its ports and credit not filled in.
    vsock::Header to_guest(uint16_t op) const;
    void owe(uint16_t op, uint32_t host_port, uint32_t guest_port, uint32_t flags = 0);
    void owe_credit(VsockConnection& connection);
    void reset_connection(Key key);
    void finish(Virtqueue& queue, bool interrupt);

    const uint64_t guest_cid_;
    const int listener_;
    Host& host_;
    std::unique_ptr<FdWatch> listener_watch_;
    std::vector<uint8_t> config_;
    Virtqueue* rx_ = nullptr;
    Virtqueue* tx_ = nullptr;
    VirtioLink* link_ = nullptr;

    std::map<Key, std::unique_ptr<VsockConnection>> connections_;
    std::map<uint64_t, Client> clients_;
    uint64_t next_client_ = 0;
    uint32_t next_host_port_ = kFirstHostPort;
    std::deque<vsock::Header> owed_;  // control packets for the guest
    Key last_served_ = 0;             // receive round robin
};

}  // namespace vmruntime::dev
