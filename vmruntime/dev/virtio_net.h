// SPDX-License-Identifier: BSD-2-Clause
//
// virtio-net (virtio 1.x, section 5.1) on a host descriptor that carries
// one Ethernet frame per read and write: a tap device without packet
// information (or, in tests, a datagram socket).  One receive and one
// transmit queue, a fixed MAC and the link always up; no offloads, so each
// frame is a 12-byte virtio_net_hdr (zero, one buffer) and the frame.
// Frames go between the descriptor and the guest's buffers in place
// (readv/writev); receive is driven by the descriptor's readiness and
// stops while the guest has no buffers posted, until it posts more.  A
// frame the host cannot take (its queue full) is dropped, as a NIC drops.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "vmruntime/dev/virtio_mmio.h"

namespace vmruntime::dev {

class VirtioNet final : public VirtioDevice {
public:
    static constexpr uint32_t kDeviceId = 1;
    static constexpr uint64_t kFeatureMac = 1ULL << 5, kFeatureStatus = 1ULL << 16;
    static constexpr size_t kHeaderSize = 12;
    static constexpr unsigned kReceiveQueue = 0, kTransmitQueue = 1;

    // `fd` (not owned, non-blocking) and `watch` outlive the device.
    VirtioNet(int fd, FdWatch& watch, const std::array<uint8_t, 6>& mac);

    uint32_t device_id() const override { return kDeviceId; }
    uint64_t device_features() const override { return kFeatureMac | kFeatureStatus; }
    unsigned queue_count() const override { return 2; }
    uint16_t queue_max_size() const override { return 256; }
    std::span<const uint8_t> config() const override { return config_; }
    void activate(std::span<Virtqueue*> queues, uint64_t features, VirtioLink& link) override;
    void notify(unsigned index) override;
    void reset() override;

    struct Counters {
        uint64_t received = 0, sent = 0, dropped = 0;
    };
    const Counters& counters() const { return counters_; }

private:
    void receive();
    void transmit();
    void finish(Virtqueue& queue, bool interrupt);

    const int fd_;
    FdWatch& watch_;
    std::vector<uint8_t> config_;
    Virtqueue* rx_ = nullptr;
    Virtqueue* tx_ = nullptr;
    VirtioLink* link_ = nullptr;
    Counters counters_;
};

}  // namespace vmruntime::dev
