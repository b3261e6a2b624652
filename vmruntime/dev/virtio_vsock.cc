// SPDX-License-Identifier: BSD-2-Clause
#include "vmruntime/dev/virtio_vsock.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include "vmruntime/dev/virtio_chain.h"

namespace vmruntime::dev {
namespace {

constexpr size_t kMaxRequestLine = 32;  // "CONNECT 4294967295"
// Control packets owed to a guest that posts no receive buffers are
// dropped past this, rather than let it grow the daemon.
constexpr size_t kMaxOwed = 4096;

size_t size_of(std::span<const iovec> iov)
{
    size_t n = 0;
    for (const iovec& v : iov) n += v.iov_len;
    return n;
}

std::span<uint8_t> bytes_of(vsock::Header& h)
{
    return {reinterpret_cast<uint8_t*>(&h), sizeof h};
}

}  // namespace

VirtioVsock::VirtioVsock(uint64_t guest_cid, int listener, Host& host)
    : guest_cid_(guest_cid), listener_(listener), host_(host), listener_watch_(host.watch(listener)), config_(8)
{
    std::memcpy(config_.data(), &guest_cid, sizeof guest_cid);
}

void VirtioVsock::activate(std::span<Virtqueue*> queues, uint64_t, VirtioLink& link)
{
    rx_ = queues.size() > kReceiveQueue ? queues[kReceiveQueue] : nullptr;
    tx_ = queues.size() > kTransmitQueue ? queues[kTransmitQueue] : nullptr;
    link_ = &link;
    accept_clients();
}

void VirtioVsock::reset()
{
    if (listener_watch_) {
        listener_watch_->cancel();
    }
    connections_.clear();
    clients_.clear();
    owed_.clear();
    rx_ = tx_ = nullptr;
    link_ = nullptr;
}

void VirtioVsock::notify(unsigned index)
{
    if (index == kTransmitQueue) {
        transmit();
    } else if (index == kReceiveQueue) {
        deliver();
    }
}

void VirtioVsock::finish(Virtqueue& queue, bool interrupt)
{
    if (interrupt) {
        link_->used();
    }
    if (queue.broken()) {
        link_->needs_reset();
    }
}

// Every packet the guest sent, then whatever that made the device owe it.
void VirtioVsock::transmit()
{
    if (!tx_) {
        return;
    }
    bool interrupt = false;
    std::vector<iovec> payload;
    while (auto chain = tx_->pop()) {
        vsock::Header h;
        if (chain_read(*chain, bytes_of(h))) {
            const bool whole = chain_iovecs(*chain, false, sizeof h, payload, h.len) && size_of(payload) == h.len;
            if (whole) {
                handle(h, payload);
            } else if (h.src_cid == guest_cid_ && connections_.contains(key_of(h.dst_port, h.src_port))) {
                reset_connection(key_of(h.dst_port, h.src_port));  // a packet shorter than it says
            }
        }
        interrupt |= tx_->push(chain->head, 0);
    }
    finish(*tx_, interrupt);
    deliver();
}

void VirtioVsock::handle(const vsock::Header& packet, std::span<const iovec> payload)
{
    if (packet.src_cid != guest_cid_ || packet.dst_cid != vsock::kHostCid) {
        return;  // not the guest's, or not for the host: nobody to answer
    }
    const Key key = key_of(packet.dst_port, packet.src_port);
    auto it = connections_.find(key);
    if (packet.type != vsock::kTypeStream) {
        if (it != connections_.end()) {
            reset_connection(key);
        } else if (packet.op != vsock::kRst) {
            owe(vsock::kRst, packet.dst_port, packet.src_port);
        }
        return;
    }
    if (it == connections_.end()) {
        handle_new(packet);
    } else {
        handle_known(*it->second, packet, payload);
    }
}

// A packet for no connection: a guest's REQUEST to a host port, or
// something to refuse.
void VirtioVsock::handle_new(const vsock::Header& packet)
{
    if (packet.op == vsock::kRst) {
        return;
    }
    base::UniqueFd stream;
    std::unique_ptr<FdWatch> watch;
    if (packet.op == vsock::kRequest && connections_.size() < kMaxConnections) {
        stream = host_.connect(packet.dst_port);
        watch = stream ? host_.watch(stream.get()) : nullptr;
    }
    if (!watch) {
        owe(vsock::kRst, packet.dst_port, packet.src_port);
        return;
    }
    const Key key = key_of(packet.dst_port, packet.src_port);
    auto connection = std::make_unique<VsockConnection>(std::move(stream), std::move(watch), packet.dst_port,
                                                        packet.src_port, true, [this, key] { woken(key); });
    connection->heard(packet);
    connections_.emplace(key, std::move(connection));
    owe(vsock::kResponse, packet.dst_port, packet.src_port);
}

void VirtioVsock::handle_known(VsockConnection& c, const vsock::Header& packet, std::span<const iovec> payload)
{
    const Key key = key_of(c.host_port(), c.guest_port());
    c.heard(packet);
    switch (packet.op) {
    case vsock::kResponse:
        if (c.open() || !c.accept()) {
            reset_connection(key);
        }
        return;
    case vsock::kRw:
        if (!c.open() || !c.send(payload)) {
            reset_connection(key);
        } else if (c.credit_update_due()) {
            owe_credit(c);
        }
        return;
    case vsock::kCreditUpdate:
        return;  // heard() took the credit; the next delivery uses it
    case vsock::kCreditRequest:
        owe_credit(c);
        return;
    case vsock::kShutdown:
        if (packet.flags & vsock::kShutdownReceive) c.guest_stopped_receiving();
        if (packet.flags & vsock::kShutdownSend) c.guest_stopped_sending();
        woken(key);  // a guest that closed waits for our RST once its bytes are out
        return;
    case vsock::kRst:
        connections_.erase(key);
        return;
    default:  // a second REQUEST, an unknown operation
        reset_connection(key);
        return;
    }
}

// A connection's stream turned readable or took kept bytes.
void VirtioVsock::woken(Key key)
{
    auto it = connections_.find(key);
    if (it == connections_.end()) {
        return;
    }
    VsockConnection& c = *it->second;
    if (c.broken() || (c.guest_closed() && c.flushed())) {
        reset_connection(key);
    } else if (c.credit_update_due()) {
        owe_credit(c);
    }
    deliver();
}

// One CREDIT_UPDATE on its way per connection at most: a guest asking
// again, or sending on, before it arrived learns nothing new from a second.
void VirtioVsock::owe_credit(VsockConnection& c)
{
    if (c.credit_update_queued()) {
        return;
    }
    c.queue_credit_update();
    owe(vsock::kCreditUpdate, c.host_port(), c.guest_port());
}

void VirtioVsock::owe(uint16_t op, uint32_t host_port, uint32_t guest_port, uint32_t flags)
{
    if (owed_.size() >= kMaxOwed) {
        return;
    }
    vsock::Header h = to_guest(op);
    h.src_port = host_port;
    h.dst_port = guest_port;
    h.flags = flags;
    owed_.push_back(h);
}

vsock::Header VirtioVsock::to_guest(uint16_t op) const
{
    vsock::Header h{};
    h.src_cid = vsock::kHostCid;
    h.dst_cid = guest_cid_;
    h.type = vsock::kTypeStream;
    h.op = op;
    return h;
}

void VirtioVsock::reset_connection(Key key)
{
    connections_.erase(key);
    owe(vsock::kRst, static_cast<uint32_t>(key >> 32), static_cast<uint32_t>(key));
}

// Fills the guest's receive buffers: control packets first, then stream
// bytes from the connections in turn, until either runs out.
void VirtioVsock::deliver()
{
    if (!rx_) {
        return;
    }
    bool interrupt = false;
    while (deliver_control(&interrupt) || deliver_data(&interrupt)) {
    }
    finish(*rx_, interrupt);
}

bool VirtioVsock::deliver_control(bool* interrupt)
{
    if (owed_.empty()) {
        return false;
    }
    auto chain = rx_->pop();
    if (!chain) {
        return false;
    }
    vsock::Header h = owed_.front();
    if (auto it = connections_.find(key_of(h.src_port, h.dst_port)); it != connections_.end()) {
        it->second->stamp(h);
    }
    if (chain_write(*chain, bytes_of(h))) {
        owed_.pop_front();
        *interrupt |= rx_->push(chain->head, sizeof h);
    } else {
        *interrupt |= rx_->push(chain->head, 0);  // too small for a header
    }
    return true;
}

bool VirtioVsock::deliver_data(bool* interrupt)
{
    Key key;
    VsockConnection* c = next_receiver(&key);
    if (!c) {
        return false;
    }
    auto chain = rx_->pop();
    if (!chain) {
        return false;
    }
    std::vector<iovec> buffers;
    if (!chain_iovecs(*chain, true, sizeof(vsock::Header), buffers) || buffers.empty()) {
        *interrupt |= rx_->push(chain->head, 0);  // no room for a byte
        return true;
    }
    size_t got = 0;
    switch (c->receive(buffers, &got)) {
    case VsockConnection::Read::kData: {
        vsock::Header h = to_guest(vsock::kRw);
        h.len = static_cast<uint32_t>(got);
        c->stamp(h);
        chain_write(*chain, bytes_of(h));
        *interrupt |= rx_->push(chain->head, static_cast<uint32_t>(sizeof h + got));
        return true;
    }
    case VsockConnection::Read::kEnd:
        rx_->unpop();
        owe(vsock::kShutdown, c->host_port(), c->guest_port(), vsock::kShutdownSend);
        return true;
    case VsockConnection::Read::kLater:
        rx_->unpop();
        return true;
    case VsockConnection::Read::kError:
        rx_->unpop();
        reset_connection(key);
        return true;
    }
    return true;
}

// The connection after the last one served that has bytes for the guest
// and credit to send them, so that one busy stream cannot starve the rest.
VsockConnection* VirtioVsock::next_receiver(Key* key)
{
    auto it = connections_.upper_bound(last_served_);
    for (size_t i = 0; i < connections_.size(); i++, ++it) {
        if (it == connections_.end()) {
            it = connections_.begin();
        }
        if (it->second->can_receive()) {
            *key = last_served_ = it->first;
            return it->second.get();
        }
    }
    return nullptr;
}

void VirtioVsock::accept_clients()
{
    if (!listener_watch_) {
        return;
    }
    for (;;) {
        base::UniqueFd stream(::accept4(listener_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
        if (!stream) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            break;
        }
        auto watch = clients_.size() < kMaxPendingClients ? host_.watch(stream.get()) : nullptr;
        if (!watch) {
            continue;  // closed: too many clients have not said what they want
        }
        const uint64_t id = next_client_++;
        clients_.emplace(id, Client{std::move(stream), std::move(watch), {}});
        read_request(id);
    }
    listener_watch_->when_readable([this] { accept_clients(); });
}

// Reads a client's "CONNECT <port>\n" a byte at a time: what follows the
// line is the stream's, for the guest to read once it accepts.
void VirtioVsock::read_request(uint64_t id)
{
    auto it = clients_.find(id);
    if (it == clients_.end()) {
        return;
    }
    Client& client = it->second;
    char c;
    ssize_t n;
    while ((n = ::read(client.stream.get(), &c, 1)) == 1) {
        if (c != '\n') {
            if (client.line.size() == kMaxRequestLine) break;
            client.line += c;
            continue;
        }
        constexpr std::string_view kVerb = "CONNECT ";
        const std::string_view line = client.line;
        uint32_t port = 0;
        const char* end = line.data() + line.size();
        if (line.starts_with(kVerb) && line.size() > kVerb.size() &&
            std::from_chars(line.data() + kVerb.size(), end, port).ptr == end) {
            Client taken = std::move(client);
            clients_.erase(it);
            dial_guest(std::move(taken), port);
            return;
        }
        break;
    }
    if (n == -1 && errno == EAGAIN) {
        client.watch->when_readable([this, id] { read_request(id); });
        return;
    }
    clients_.erase(it);  // closed, failed, or not a request
}

void VirtioVsock::dial_guest(Client client, uint32_t guest_port)
{
    if (connections_.size() >= kMaxConnections || !rx_) {
        return;
    }
    client.watch->cancel();
    const uint32_t host_port = free_host_port();
    const Key key = key_of(host_port, guest_port);
    connections_.emplace(key, std::make_unique<VsockConnection>(std::move(client.stream), std::move(client.watch),
                                                                host_port, guest_port, false,
                                                                [this, key] { woken(key); }));
    owe(vsock::kRequest, host_port, guest_port);
    deliver();
}

uint32_t VirtioVsock::free_host_port()
{
    for (;;) {
        const uint32_t port = next_host_port_++;
        if (next_host_port_ == 0) {
            next_host_port_ = kFirstHostPort;
        }
        auto it = connections_.lower_bound(key_of(port, 0));
        if (it == connections_.end() || it->first >> 32 != port) {
            return port;
        }
    }
}

}  // namespace vmruntime::dev
