// SPDX-License-Identifier: BSD-2-Clause
//
// The virtio-vsock packet header (virtio 1.2, section 5.10.6), as it lies
// in guest memory: little-endian, packed, 44 bytes, before every packet's
// payload.  Only stream sockets exist here.
#pragma once

#include <cstdint>

namespace vmruntime::dev::vsock {

struct [[gnu::packed]] Header {
    uint64_t src_cid, dst_cid;
    uint32_t src_port, dst_port;
    uint32_t len;  // payload bytes after the header
    uint16_t type, op;
    uint32_t flags;
    uint32_t buf_alloc, fwd_cnt;  // the sender's receive buffer and what it consumed of it
};
static_assert(sizeof(Header) == 44);

constexpr uint64_t kHostCid = 2;
constexpr uint16_t kTypeStream = 1;

enum Op : uint16_t {
    kRequest = 1,
    kResponse = 2,
    kRst = 3,
    kShutdown = 4,
    kRw = 5,
    kCreditUpdate = 6,
    kCreditRequest = 7,
};

// Shutdown flags: the sender will receive, or send, no more.
constexpr uint32_t kShutdownReceive = 1, kShutdownSend = 2;

}  // namespace vmruntime::dev::vsock
