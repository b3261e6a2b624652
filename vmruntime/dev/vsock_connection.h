// SPDX-License-Identifier: BSD-2-Clause
//
// One vsock stream between a guest port and a host stream socket, and its
// credit (virtio 1.2, 5.10.6.3): each side tells the other how much it
// can buffer and how much of that it consumed, and never sends past what
// the other can hold.  Guest bytes the host socket cannot take yet wait
// here, at most kBufferBytes, which is the credit the guest is given; host
// bytes are read straight into the guest's buffers, no more than the
// guest's credit allows, so nothing from the host is ever buffered.
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "vmruntime/base/unique_fd.h"
#include "vmruntime/dev/device.h"
#include "vmruntime/dev/vsock_packet.h"

namespace vmruntime::dev {

class VsockConnection {
public:
    static constexpr uint32_t kBufferBytes = 256 * 1024;

    // `stream` is a connected non-blocking stream socket, `watch` its
    // readiness.  `wake` runs after the stream turned readable or took
    // kept bytes, for the device to see what changed.  An `open` connection
    // is one the guest asked for; a host client's waits for accept().
    VsockConnection(base::UniqueFd stream, std::unique_ptr<FdWatch> watch, uint32_t host_port, uint32_t guest_port,
                    bool open, std::function<void()> wake);

    uint32_t host_port() const { return host_port_; }
    uint32_t guest_port() const { return guest_port_; }
    bool open() const { return open_; }
    // Writing to the stream failed: the host end is gone.
    bool broken() const { return broken_; }

    // The guest took the host client's connection: tells the client
    // "OK <host port>\n".  False if it could not be told.
    bool accept();

    // Takes the credit fields of a packet from the guest.
    void heard(const vsock::Header& from_guest);
    // Fills in the ports and this side's credit of a packet to the guest.
    void stamp(vsock::Header& to_guest);

    // Guest to host: one packet's payload, written or kept.  False if the
    // guest sent past its credit or the stream is broken.
    bool send(std::span<const iovec> payload);
    // The guest sends no more: the host reads end-of-file once the kept
    // bytes are written.
    void guest_stopped_sending();
    // The guest consumed credit worth a CREDIT_UPDATE since it was last told.
    bool credit_update_due() const;
    // A CREDIT_UPDATE is on its way (any packet to the guest carries the
    // credit, and clears this).
    bool credit_update_queued() const { return update_queued_; }
    void queue_credit_update() { update_queued_ = true; }
    // Every byte the guest sent is written to the stream.
    bool flushed() const { return kept_from_ == kept_.size(); }
    // The guest shut both directions: the stream ends once flushed.
    bool guest_closed() const { return send_shut_ && receive_shut_; }

    // Host to guest.  Whether a read would be worth a receive buffer now.
    bool can_receive() const;
    enum class Read { kData, kEnd, kLater, kError };
    // Reads at most the guest's credit into `buffers`; `got` says how much.
    Read receive(std::span<const iovec> buffers, size_t* got);
    void guest_stopped_receiving() { receive_shut_ = true; }

private:
    uint32_t credit() const;
    void flush();
    void wait_writable();

    base::UniqueFd stream_;
    std::unique_ptr<FdWatch> watch_;
    const uint32_t host_port_, guest_port_;
    bool open_;
    std::function<void()> wake_;
    bool broken_ = false;

    // guest to host
    std::vector<uint8_t> kept_;
    size_t kept_from_ = 0;    // bytes of kept_ already written
    uint32_t received_ = 0;   // payload bytes taken from the guest
    uint32_t forwarded_ = 0;  // of which written to the stream (our fwd_cnt)
    uint32_t reported_ = 0;   // the fwd_cnt the guest last heard
    bool update_queued_ = false;
    bool send_shut_ = false;

    // host to guest
    uint32_t sent_ = 0;  // payload bytes given to the guest
    uint32_t peer_buf_alloc_ = 0, peer_fwd_cnt_ = 0;
    bool readable_ = true, end_ = false, receive_shut_ = false;
};

}  // namespace vmruntime::dev
