// SPDX-License-Identifier: BSD-2-Clause
//
// The path of one vCPU's device accesses (ports and MMIO windows) to its
// machine's device strand: a lock-free single-producer/single-consumer
// ring (the vCPU thread produces, the strand consumes) and a completion
// counter the vCPU waits on for reads and for writes it may not post, and
// a count of the posted writes applied, so the vCPU knows when the devices
// have caught up.
#pragma once

#include <boost/lockfree/spsc_queue.hpp>

#include <atomic>
#include <cstdint>

namespace vmruntime::runtime {

struct IoRequest {
    enum class Kind : uint8_t {
        Read,         // answer: the value
        Write,        // answer: completion only
        PostedWrite,  // no answer
        Settle,       // answer: completion once every earlier request is done
    };
    enum class Space : uint8_t { Port, Memory };
    Kind kind;
    Space space;
    uint8_t size;
    uint64_t address;  // a port or a guest-physical address
    uint64_t value;
};

struct alignas(64) IoChannel {
    boost::lockfree::spsc_queue<IoRequest, boost::lockfree::capacity<256>> ring;
    // On their own cache lines: the strand writes them while the vCPU spins
    // on `done`, and the ring's indices must not share a line with them.
    alignas(64) std::atomic<uint32_t> done{0};
    uint64_t answer = 0;  // published by the release increment of `done`
    std::atomic<uint64_t> posted_done{0};  // posted writes applied
};

}  // namespace vmruntime::runtime
