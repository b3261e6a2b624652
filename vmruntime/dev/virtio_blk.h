// SPDX-License-Identifier: BSD-2-Clause
//
// virtio-blk (virtio 1.x, section 5.2) on a raw image file: read, write,
// flush (fdatasync: what the guest sees flushed is on stable storage), the
// disk's ID and discard (a hole punched in the file).  A read-only disk
// says so (VIRTIO_BLK_F_RO) and answers writes and discards with IOERR.
// Requests are served in place: the file is read into and written from the
// guest's buffers, one preadv/pwritev per request.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "vmruntime/dev/virtio_mmio.h"

namespace vmruntime::dev {

class VirtioBlk final : public VirtioDevice {
public:
    static constexpr uint32_t kDeviceId = 2;
    static constexpr uint64_t kFeatureSegMax = 1ULL << 2, kFeatureRo = 1ULL << 5, kFeatureFlush = 1ULL << 9,
                              kFeatureDiscard = 1ULL << 13;
    static constexpr uint64_t kSectorSize = 512;

    // `fd` (not owned, outlives the device) is open for reading, and for
    // writing unless `read_only`; the disk is its first `bytes` bytes,
    // whole sectors only.  `id` is what GET_ID answers (at most 20 bytes).
    VirtioBlk(int fd, uint64_t bytes, bool read_only, std::string id);

    uint32_t device_id() const override { return kDeviceId; }
    uint64_t device_features() const override;
    unsigned queue_count() const override { return 1; }
    uint16_t queue_max_size() const override { return kQueueSize; }
    std::span<const uint8_t> config() const override { return config_; }
    void activate(std::span<Virtqueue*> queues, uint64_t features, VirtioLink& link) override;
    void notify(unsigned index) override;
    void reset() override;

private:
    static constexpr uint16_t kQueueSize = 256;
    using Parts = std::vector<std::span<uint8_t>>;

    uint32_t serve(const Virtqueue::Chain& chain);
    uint8_t transfer(bool write, uint64_t sector, const Parts& data);
    uint8_t flush();
    uint8_t discard(Parts& ranges);
    bool in_disk(uint64_t sector, uint64_t bytes) const;

    const int fd_;
    const uint64_t sectors_;
    const bool read_only_;
    const std::string id_;
    std::vector<uint8_t> config_;
    Virtqueue* queue_ = nullptr;
    VirtioLink* link_ = nullptr;
};

}  // namespace vmruntime::dev
