// SPDX-License-Identifier: BSD-2-Clause
//
// The virtio-mmio transport, version 2 (virtio 1.x, section 4.2.2): one
// device's 4 KiB register window, its feature negotiation, its split
// virtqueues and its interrupt line.  Device types (block, network, vsock)
// plug in behind VirtioDevice and never see the registers; the transport
// never looks inside a queue's buffers.
//
// A driver that breaks the rules (a queue layout outside RAM, features it
// was not offered, a malformed chain) gets DEVICE_NEEDS_RESET and a
// configuration-change interrupt, as the spec has a device report an error
// it cannot recover from; nothing else of the machine notices.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "vmruntime/dev/device.h"
#include "vmruntime/dev/virtqueue.h"

namespace vmruntime::dev {

// What a device type tells the transport when its queues move.
class VirtioLink {
public:
    virtual ~VirtioLink() = default;
    // Buffers were put in the used ring of a queue and push() asked for an
    // interrupt.
    virtual void used() = 0;
    // The device cannot go on (a broken queue): DEVICE_NEEDS_RESET.
    virtual void needs_reset() = 0;
};

class VirtioDevice {
public:
    virtual ~VirtioDevice() = default;
    virtual uint32_t device_id() const = 0;
    // The device type's own feature bits (the transport adds VERSION_1,
    // INDIRECT_DESC and EVENT_IDX).
    virtual uint64_t device_features() const = 0;
    virtual unsigned queue_count() const = 0;
    virtual uint16_t queue_max_size() const = 0;
    // The device-specific configuration space, read by the driver in place.
    virtual std::span<const uint8_t> config() const = 0;
    // DRIVER_OK: the queues the driver made ready (the others are not
    // usable), the features it accepted, and where to report.
    virtual void activate(std::span<Virtqueue*> queues, uint64_t features, VirtioLink& link) = 0;
    // The driver notified queue `index` after activate().
    virtual void notify(unsigned index) = 0;
    // Back to the state before activate(): no buffer is touched after this.
    virtual void reset() = 0;
};

class VirtioMmio final : public MmioDevice, public VirtioLink {
public:
    static constexpr uint64_t kWindowSize = 0x1000;
    static constexpr uint64_t kFeatureVersion1 = 1ULL << 32;
    static constexpr uint64_t kFeatureIndirectDesc = 1ULL << 28;
    static constexpr uint64_t kFeatureEventIdx = 1ULL << 29;
    static constexpr uint32_t kStatusAcknowledge = 1, kStatusDriver = 2, kStatusDriverOk = 4,
                              kStatusFeaturesOk = 8, kStatusNeedsReset = 64, kStatusFailed = 128;

    // `device`, `ram` and `irq` outlive the transport.
    VirtioMmio(VirtioDevice& device, GuestRam& ram, IrqLine& irq);

    uint64_t read(uint64_t offset, unsigned size) override;
    void write(uint64_t offset, unsigned size, uint64_t value) override;

    uint32_t status() const { return status_; }

    void used() override;
    void needs_reset() override;

private:
    struct Queue {
        Virtqueue::Layout layout;
        bool ready = false;
        std::unique_ptr<Virtqueue> ring;
    };

    uint32_t read_register(uint64_t offset) const;
    void write_register(uint64_t offset, uint32_t value);
    void set_status(uint32_t value);
    void set_queue_ready(bool ready);
    void set_queue_address(uint64_t offset, uint32_t value);
    void raise(uint32_t bits);
    void acknowledge(uint32_t bits);
    void reset();
    uint64_t offered() const;
    Queue* selected();
    const Queue* selected() const;

    VirtioDevice& device_;
    GuestRam& ram_;
    IrqLine& irq_;
    std::vector<Queue> queues_;
    uint32_t status_ = 0;
    uint32_t interrupt_status_ = 0;
    uint32_t device_features_sel_ = 0;
    uint32_t driver_features_sel_ = 0;
    uint64_t driver_features_ = 0;
    uint32_t queue_sel_ = 0;
};

}  // namespace vmruntime::dev
