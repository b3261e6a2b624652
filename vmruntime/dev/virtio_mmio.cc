// SPDX-License-Identifier: BSD-2-Clause
#include "vmruntime/dev/virtio_mmio.h"

#include <cstring>

namespace vmruntime::dev {
namespace {

// Register offsets (virtio 1.x, 4.2.2).
constexpr uint64_t kMagic = 0x000, kVersion = 0x004, kDeviceId = 0x008, kVendorId = 0x00C;
constexpr uint64_t kDeviceFeatures = 0x010, kDeviceFeaturesSel = 0x014;
constexpr uint64_t kDriverFeatures = 0x020, kDriverFeaturesSel = 0x024;
constexpr uint64_t kQueueSel = 0x030, kQueueNumMax = 0x034, kQueueNum = 0x038, kQueueReady = 0x044;
constexpr uint64_t kQueueNotify = 0x050, kInterruptStatus = 0x060, kInterruptAck = 0x064;
constexpr uint64_t kStatus = 0x070;
constexpr uint64_t kQueueDescLow = 0x080, kQueueDeviceHigh = 0x0A4;
constexpr uint64_t kConfigGeneration = 0x0FC, kConfig = 0x100;

constexpr uint32_t kMagicValue = 0x74726976;  // "virt"
constexpr uint32_t kVendor = 0x54524D56;      // "VMRT"
constexpr uint32_t kInterruptUsed = 1, kInterruptConfig = 2;

}  // namespace

VirtioMmio::VirtioMmio(VirtioDevice& device, GuestRam& ram, IrqLine& irq)
    : device_(device), ram_(ram), irq_(irq), queues_(device.queue_count())
{
}

uint64_t VirtioMmio::offered() const
{
    return device_.device_features() | kFeatureVersion1 | kFeatureIndirectDesc | kFeatureEventIdx;
}

VirtioMmio::Queue* VirtioMmio::selected()
{
    return queue_sel_ < queues_.size() ? &queues_[queue_sel_] : nullptr;
}

const VirtioMmio::Queue* VirtioMmio::selected() const
{
    return queue_sel_ < queues_.size() ? &queues_[queue_sel_] : nullptr;
}

uint64_t VirtioMmio::read(uint64_t offset, unsigned size)
{
    if (offset >= kConfig) {
        std::span<const uint8_t> config = device_.config();
        uint64_t at = offset - kConfig, value = 0;
        if (size <= 8 && at < config.size() && size <= config.size() - at) {
            std::memcpy(&value, config.data() + at, size);
        }
        return value;
    }
    // The registers are 32 bits wide and read as such only.
    return size == 4 && offset % 4 == 0 ? read_register(offset) : 0;
}

uint32_t VirtioMmio::read_register(uint64_t offset) const
{
    const Queue* q = selected();
    switch (offset) {
    case kMagic: return kMagicValue;
    case kVersion: return 2;
    case kDeviceId: return device_.device_id();
    case kVendorId: return kVendor;
    case kDeviceFeatures:
        return device_features_sel_ < 2 ? static_cast<uint32_t>(offered() >> (32 * device_features_sel_)) : 0;
    case kQueueNumMax: return q ? device_.queue_max_size() : 0;
    case kQueueReady: return q && q->ready;
    case kInterruptStatus: return interrupt_status_;
    case kStatus: return status_;
    case kConfigGeneration: return 0;  // the configuration never changes under the driver
    default: return 0;
    }
}

void VirtioMmio::write(uint64_t offset, unsigned size, uint64_t value)
{
    // The configuration spaces of our devices are read-only.
    if (offset < kConfig && size == 4 && offset % 4 == 0) {
        write_register(offset, static_cast<uint32_t>(value));
    }
}

void VirtioMmio::write_register(uint64_t offset, uint32_t value)
{
    Queue* q = selected();
    switch (offset) {
    case kDeviceFeaturesSel: device_features_sel_ = value; break;
    case kDriverFeaturesSel: driver_features_sel_ = value; break;
    case kDriverFeatures:
        // Fixed once the driver said FEATURES_OK.
        if (driver_features_sel_ < 2 && !(status_ & kStatusFeaturesOk)) {
            const unsigned shift = 32 * driver_features_sel_;
            driver_features_ = (driver_features_ & ~(0xFFFFFFFFULL << shift)) | (uint64_t{value} << shift);
        }
        break;
    case kQueueSel: queue_sel_ = value; break;
    case kQueueNum:
        if (q && !q->ready) {
            q->layout.size = value <= device_.queue_max_size() ? static_cast<uint16_t>(value) : 0;
        }
        break;
    case kQueueReady: set_queue_ready(value == 1); break;
    case kQueueNotify:
        if ((status_ & kStatusDriverOk) && !(status_ & kStatusNeedsReset) && value < queues_.size() &&
            queues_[value].ready) {
            device_.notify(value);
        }
        break;
    case kInterruptAck: acknowledge(value); break;
    case kStatus: set_status(value); break;
    default:
        if (offset >= kQueueDescLow && offset <= kQueueDeviceHigh) {
            set_queue_address(offset, value);
        }
        break;
    }
}

void VirtioMmio::set_queue_address(uint64_t offset, uint32_t value)
{
    Queue* q = selected();
    if (!q || q->ready) {
        return;
    }
    const uint64_t rel = offset - kQueueDescLow;  // 0x00/0x04 desc, 0x10/0x14 driver, 0x20/0x24 device
    uint64_t* field = nullptr;
    switch (rel & ~uint64_t{4}) {
    case 0x00: field = &q->layout.desc; break;
    case 0x10: field = &q->layout.avail; break;
    case 0x20: field = &q->layout.used; break;
    default: return;
    }
    const unsigned shift = (rel & 4) ? 32 : 0;
    *field = (*field & ~(0xFFFFFFFFULL << shift)) | (uint64_t{value} << shift);
}

// A queue is built when the driver makes it ready, with the features it
// accepted (FEATURES_OK comes first).
void VirtioMmio::set_queue_ready(bool ready)
{
    Queue* q = selected();
    if (!q || !(status_ & kStatusFeaturesOk) || (status_ & kStatusDriverOk)) {
        return;
    }
    if (!ready) {
        q->ready = false;
        q->ring.reset();
        return;
    }
    auto ring = std::make_unique<Virtqueue>(ram_, driver_features_ & kFeatureIndirectDesc,
                                            driver_features_ & kFeatureEventIdx);
    if (!ring->set_layout(q->layout)) {
        needs_reset();
        return;
    }
    q->ring = std::move(ring);
    q->ready = true;
}

void VirtioMmio::set_status(uint32_t value)
{
    if (value == 0) {
        reset();
        return;
    }
    // A driver never clears a bit (virtio 1.x, 2.1.2); keeping them all
    // means queues the device runs on cannot be rebuilt under it.
    value |= status_;
    const uint32_t added = value & ~status_;
    if (added & kStatusFeaturesOk) {
        // Only features we offered, and a modern driver: else FEATURES_OK
        // does not stick, which tells the driver so.
        if ((driver_features_ & ~offered()) != 0 || !(driver_features_ & kFeatureVersion1)) {
            value &= ~kStatusFeaturesOk;
        }
    }
    status_ = (value & ~kStatusNeedsReset) | (status_ & kStatusNeedsReset);
    if ((added & kStatusDriverOk) && (status_ & kStatusFeaturesOk) && !(status_ & kStatusNeedsReset)) {
        std::vector<Virtqueue*> rings;
        for (Queue& q : queues_) {
            rings.push_back(q.ready ? q.ring.get() : nullptr);
        }
        device_.activate(rings, driver_features_, *this);
    }
}

void VirtioMmio::reset()
{
    device_.reset();
    for (Queue& q : queues_) {
        q = Queue{};
    }
    status_ = 0;
    driver_features_ = 0;
    device_features_sel_ = driver_features_sel_ = queue_sel_ = 0;
    acknowledge(interrupt_status_);
}

void VirtioMmio::used()
{
    raise(kInterruptUsed);
}

void VirtioMmio::needs_reset()
{
    if (status_ & kStatusNeedsReset) {
        return;
    }
    status_ |= kStatusNeedsReset;
    raise(kInterruptConfig);
}

void VirtioMmio::raise(uint32_t bits)
{
    interrupt_status_ |= bits;
    irq_.set_level(true);
}

// The PIC takes edges: a line still high after the acknowledgement (more
// came meanwhile) drops and rises again, so the driver hears of it.
void VirtioMmio::acknowledge(uint32_t bits)
{
    interrupt_status_ &= ~bits;
    irq_.set_level(false);
    if (interrupt_status_ != 0) {
        irq_.set_level(true);
    }
}

}  // namespace vmruntime::dev
