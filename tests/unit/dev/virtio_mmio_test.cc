// SPDX-License-Identifier: BSD-2-Clause
// The virtio-mmio transport as Linux's virtio_mmio driver drives it
// (virtio 1.x, 3.1.1 and 4.2.3): identification, feature negotiation, queue
// set-up, DRIVER_OK, notifications, interrupts and reset; and a driver that
// breaks the rules, which gets DEVICE_NEEDS_RESET and nothing else.
#include <gtest/gtest.h>

#include <vector>

#include "fakes.h"
#include "vmruntime/dev/virtio_mmio.h"

namespace vmruntime::dev {
namespace {

using testing::FakeIrqLine;
using testing::VectorRam;

constexpr uint64_t kDeviceFeature = 1ULL << 5;
constexpr uint64_t kDesc = 0x1000, kAvail = 0x2000, kUsed = 0x3000;

class FakeDevice final : public VirtioDevice {
public:
    uint32_t device_id() const override { return 2; }  // block
    uint64_t device_features() const override { return kDeviceFeature; }
    unsigned queue_count() const override { return 2; }
    uint16_t queue_max_size() const override { return 256; }
    std::span<const uint8_t> config() const override { return config_; }
    void activate(std::span<Virtqueue*> queues, uint64_t features, VirtioLink& link) override
    {
        queues_.assign(queues.begin(), queues.end());
        features_ = features;
        link_ = &link;
    }
    void notify(unsigned index) override { notified_.push_back(index); }
    void reset() override
    {
        resets_++;
        queues_.clear();
        link_ = nullptr;
    }

    std::vector<uint8_t> config_ = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    std::vector<Virtqueue*> queues_;
    uint64_t features_ = 0;
    VirtioLink* link_ = nullptr;
    std::vector<unsigned> notified_;
    unsigned resets_ = 0;
};

class VirtioMmioTest : public ::testing::Test {
protected:
    uint32_t reg(uint64_t offset) { return static_cast<uint32_t>(mmio_.read(offset, 4)); }
    void set(uint64_t offset, uint32_t value) { mmio_.write(offset, 4, value); }

    // Linux's order: ACKNOWLEDGE, DRIVER, features, FEATURES_OK.
    void negotiate(uint64_t features)
    {
        set(0x070, VirtioMmio::kStatusAcknowledge);
        set(0x070, VirtioMmio::kStatusAcknowledge | VirtioMmio::kStatusDriver);
        set(0x024, 0);
        set(0x020, static_cast<uint32_t>(features));
        set(0x024, 1);
        set(0x020, static_cast<uint32_t>(features >> 32));
        set(0x070, VirtioMmio::kStatusAcknowledge | VirtioMmio::kStatusDriver | VirtioMmio::kStatusFeaturesOk);
    }

    void setup_queue(uint32_t index, uint32_t size, uint64_t desc = kDesc)
    {
        set(0x030, index);
        set(0x038, size);
        set(0x080, static_cast<uint32_t>(desc));
        set(0x084, static_cast<uint32_t>(desc >> 32));
        set(0x090, kAvail);
        set(0x094, 0);
        set(0x0A0, kUsed);
        set(0x0A4, 0);
        set(0x044, 1);
    }

    void driver_ok()
    {
        set(0x070, VirtioMmio::kStatusAcknowledge | VirtioMmio::kStatusDriver | VirtioMmio::kStatusFeaturesOk |
                       VirtioMmio::kStatusDriverOk);
    }

    VectorRam ram_;
    FakeIrqLine irq_;
    FakeDevice device_;
    VirtioMmio mmio_{device_, ram_, irq_};
};

TEST_F(VirtioMmioTest, Identification)
{
    EXPECT_EQ(reg(0x000), 0x74726976u) << "\"virt\"";
    EXPECT_EQ(reg(0x004), 2u) << "modern layout";
    EXPECT_EQ(reg(0x008), 2u);
    EXPECT_NE(reg(0x00C), 0u);
    set(0x014, 0);
    EXPECT_EQ(reg(0x010), (1u << 28) | (1u << 29) | (1u << 5)) << "indirect, event index, the device's";
    set(0x014, 1);
    EXPECT_EQ(reg(0x010), 1u) << "VERSION_1";
    set(0x014, 2);
    EXPECT_EQ(reg(0x010), 0u);
}

TEST_F(VirtioMmioTest, BringUpNotifyInterruptAndReset)
{
    negotiate(VirtioMmio::kFeatureVersion1 | VirtioMmio::kFeatureEventIdx | kDeviceFeature);
    EXPECT_TRUE(reg(0x070) & VirtioMmio::kStatusFeaturesOk);
    set(0x030, 0);
    EXPECT_EQ(reg(0x034), 256u);
    EXPECT_EQ(reg(0x044), 0u);
    setup_queue(0, 16);
    EXPECT_EQ(reg(0x044), 1u);
    set(0x030, 2);
    EXPECT_EQ(reg(0x034), 0u) << "no third queue";
    set(0x050, 0);
    EXPECT_TRUE(device_.notified_.empty()) << "not before DRIVER_OK";

    driver_ok();
    ASSERT_EQ(device_.queues_.size(), 2u);
    EXPECT_NE(device_.queues_[0], nullptr);
    EXPECT_EQ(device_.queues_[1], nullptr) << "never made ready";
    EXPECT_EQ(device_.features_, VirtioMmio::kFeatureVersion1 | VirtioMmio::kFeatureEventIdx | kDeviceFeature);
    set(0x050, 0);
    set(0x050, 1);  // not ready: dropped
    EXPECT_EQ(device_.notified_, std::vector<unsigned>{0});

    device_.link_->used();
    EXPECT_TRUE(irq_.level());
    EXPECT_EQ(reg(0x060), 1u);
    set(0x064, 1);
    EXPECT_FALSE(irq_.level());
    EXPECT_EQ(reg(0x060), 0u);

    set(0x070, 0);
    EXPECT_EQ(device_.resets_, 1u);
    EXPECT_EQ(reg(0x070), 0u);
    set(0x030, 0);
    EXPECT_EQ(reg(0x044), 0u) << "queues gone";
}

// More used buffers while the driver handles the interrupt: the line goes
// down and up again at the acknowledgement, an edge for the PIC.
TEST_F(VirtioMmioTest, InterruptStillPendingAfterAckIsANewEdge)
{
    negotiate(VirtioMmio::kFeatureVersion1);
    setup_queue(0, 8);
    driver_ok();
    device_.link_->used();
    device_.link_->needs_reset();
    EXPECT_EQ(irq_.rising_edges(), 1u);
    EXPECT_EQ(reg(0x060), 3u);
    set(0x064, 1);
    EXPECT_TRUE(irq_.level());
    EXPECT_EQ(irq_.rising_edges(), 2u);
    set(0x064, 2);
    EXPECT_FALSE(irq_.level());
}

TEST_F(VirtioMmioTest, ConfigurationSpaceReadsInPlace)
{
    EXPECT_EQ(mmio_.read(0x100, 1), 1u);
    EXPECT_EQ(mmio_.read(0x102, 2), 0x0403u);
    EXPECT_EQ(mmio_.read(0x100, 8), 0x0807060504030201ULL);
    EXPECT_EQ(mmio_.read(0x108, 4), 0u) << "past the end";
    EXPECT_EQ(mmio_.read(0x800, 4), 0u);
}

TEST_F(VirtioMmioTest, FeaturesNotOfferedDoNotStick)
{
    negotiate(VirtioMmio::kFeatureVersion1 | (1ULL << 7));
    EXPECT_FALSE(reg(0x070) & VirtioMmio::kStatusFeaturesOk);
    setup_queue(0, 8);
    EXPECT_EQ(reg(0x044), 0u) << "no queue without FEATURES_OK";
    driver_ok();
    EXPECT_EQ(device_.link_, nullptr) << "not activated";
}

TEST_F(VirtioMmioTest, ALegacyDriverIsRefused)
{
    negotiate(kDeviceFeature);
    EXPECT_FALSE(reg(0x070) & VirtioMmio::kStatusFeaturesOk) << "no VERSION_1";
}

TEST_F(VirtioMmioTest, AQueueOutsideRamNeedsReset)
{
    negotiate(VirtioMmio::kFeatureVersion1);
    setup_queue(0, 8, (1ULL << 20) - 16);
    EXPECT_EQ(reg(0x044), 0u);
    EXPECT_TRUE(reg(0x070) & VirtioMmio::kStatusNeedsReset);
    EXPECT_EQ(reg(0x060), 2u) << "a configuration-change interrupt";
    EXPECT_TRUE(irq_.level());
    driver_ok();
    EXPECT_EQ(device_.link_, nullptr) << "a device that needs a reset is not started";
    set(0x070, 0);
    EXPECT_EQ(reg(0x070), 0u) << "a reset clears it";
    EXPECT_FALSE(irq_.level());
}

TEST_F(VirtioMmioTest, AQueueLargerThanItsMaximumNeedsReset)
{
    negotiate(VirtioMmio::kFeatureVersion1);
    setup_queue(0, 512);
    EXPECT_EQ(reg(0x044), 0u);
    EXPECT_TRUE(reg(0x070) & VirtioMmio::kStatusNeedsReset);
}

// Only a write of 0 resets: a status without DRIVER_OK leaves the device
// running, so a ready queue cannot be rebuilt under it.
TEST_F(VirtioMmioTest, StatusBitsAreNeverCleared)
{
    negotiate(VirtioMmio::kFeatureVersion1);
    setup_queue(0, 8);
    driver_ok();
    Virtqueue* running = device_.queues_.at(0);
    set(0x070, VirtioMmio::kStatusAcknowledge | VirtioMmio::kStatusDriver | VirtioMmio::kStatusFeaturesOk);
    EXPECT_TRUE(reg(0x070) & VirtioMmio::kStatusDriverOk);
    set(0x030, 0);
    set(0x044, 0);
    set(0x044, 1);
    EXPECT_EQ(reg(0x044), 1u);
    EXPECT_EQ(device_.resets_, 0u);
    EXPECT_EQ(device_.queues_.at(0), running);
}

TEST_F(VirtioMmioTest, OddAccessesAreIgnored)
{
    EXPECT_EQ(mmio_.read(0x000, 2), 0u) << "registers read 32 bits at a time";
    EXPECT_EQ(mmio_.read(0x002, 4), 0u);
    mmio_.write(0x070, 1, VirtioMmio::kStatusAcknowledge);
    EXPECT_EQ(reg(0x070), 0u);
    mmio_.write(0x100, 4, 0xFFFFFFFF);
    EXPECT_EQ(mmio_.read(0x100, 1), 1u) << "the configuration space is read-only";
    set(0x030, 0xFFFFFFFF);
    set(0x044, 1);
    set(0x050, 0xFFFFFFFF);
    EXPECT_TRUE(device_.notified_.empty());
}

}  // namespace
}  // namespace vmruntime::dev
