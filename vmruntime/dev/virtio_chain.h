// SPDX-License-Identifier: BSD-2-Clause
//
// A descriptor chain's buffers as a packet device uses them: a header of
// fixed size at the front of one direction's bytes, whatever the driver's
// split of it into descriptors, and the rest handed to readv/writev in place.
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <span>
#include <vector>

#include "vmruntime/dev/virtqueue.h"

namespace vmruntime::dev {

// The chain's buffers of one direction as iovecs, without their first
// `skip` bytes and at most `limit` bytes; false if they hold fewer than
// `skip`.
bool chain_iovecs(const Virtqueue::Chain& chain, bool writable, size_t skip, std::vector<iovec>& out,
                  size_t limit = SIZE_MAX);

// Copies the first bytes of the chain's readable buffers into `out`; false
// if they hold fewer.
bool chain_read(const Virtqueue::Chain& chain, std::span<uint8_t> out);

// Copies `bytes` into the first bytes of the chain's writable buffers;
// false if they hold fewer.
bool chain_write(const Virtqueue::Chain& chain, std::span<const uint8_t> bytes);

}  // namespace vmruntime::dev
