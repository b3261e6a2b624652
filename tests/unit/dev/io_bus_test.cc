// SPDX-License-Identifier: BSD-2-Clause
//
// IoBus: routing by range with offsets, overlap rejection, and how
// unclaimed ports read, count and log.
#include "vmruntime/dev/io_bus.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "captured_log.h"
#include "fakes.h"
#include "vmruntime/base/log.h"

namespace vmruntime::dev {
namespace {

// Records every access it gets; reads return a value that names the
// access so a test can tell who answered.
class RecordingDevice final : public PioDevice {
public:
    struct Access {
        bool write;
        uint16_t offset;
        unsigned size;
        uint32_t value;
        bool operator==(const Access&) const = default;
    };

    explicit RecordingDevice(uint32_t tag) : tag_(tag) {}
    uint32_t read(uint16_t offset, unsigned size) override
    {
        log_.push_back({false, offset, size, 0});
        return tag_ | offset;
    }
    void write(uint16_t offset, unsigned size, uint32_t value) override
    {
        log_.push_back({true, offset, size, value});
    }
    const std::vector<Access>& log() const { return log_; }

private:
    uint32_t tag_;
    std::vector<Access> log_;
};

// A bus with the guest log of a machine named "m".
struct TestBus {
    testing::FakeClock clock;
    GuestLog log{"m", clock};
    IoBus bus{log};
};

TEST(IoBus, RoutesByRangeWithOffsets)
{
    TestBus t;
    IoBus& bus = t.bus;
    RecordingDevice com1(0x1000), rtc(0x2000);
    ASSERT_TRUE(bus.register_device(0x3f8, 8, com1));
    ASSERT_TRUE(bus.register_device(0x70, 2, rtc));

    EXPECT_EQ(bus.read(0x3fd, 1), 0x05u);  // tag masked to the width, offset 5
    bus.write(0x3f8, 1, 'A');
    bus.write(0x71, 1, 0x26);
    EXPECT_EQ(bus.read(0x70, 4), 0x2000u);
    EXPECT_EQ(bus.read(0x3ff, 2), 0x1007u);

    EXPECT_EQ(com1.log(), (std::vector<RecordingDevice::Access>{
                              {false, 5, 1, 0}, {true, 0, 1, 'A'}, {false, 7, 2, 0}}));
    EXPECT_EQ(rtc.log(), (std::vector<RecordingDevice::Access>{{true, 1, 1, 0x26}, {false, 0, 4, 0}}));
    EXPECT_EQ(bus.counters().unclaimed_reads, 0u);
}

TEST(IoBus, WritesAreMaskedToTheAccessWidth)
{
    TestBus t;
    IoBus& bus = t.bus;
    RecordingDevice dev(0);
    ASSERT_TRUE(bus.register_device(0x80, 1, dev));
    bus.write(0x80, 1, 0x12345678);
    bus.write(0x80, 2, 0x12345678);
    EXPECT_EQ(dev.log()[0].value, 0x78u);
    EXPECT_EQ(dev.log()[1].value, 0x5678u);
}

TEST(IoBus, RejectsOverlapsEmptyAndWrappingRanges)
{
    TestBus t;
    IoBus& bus = t.bus;
    RecordingDevice a(0xa000), b(0xb000);
    ASSERT_TRUE(bus.register_device(0x40, 4, a));   // 0x40-0x43
    EXPECT_FALSE(bus.register_device(0x43, 1, b));  // last port
    EXPECT_FALSE(bus.register_device(0x3f, 2, b));  // first port
    EXPECT_FALSE(bus.register_device(0x30, 0x20, b));  // covers it
    EXPECT_FALSE(bus.register_device(0x41, 1, b));     // inside it
    EXPECT_FALSE(bus.register_device(0x50, 0, b));
    EXPECT_FALSE(bus.register_device(0xfff0, 0x11, b));
    EXPECT_TRUE(bus.register_device(0xfff0, 0x10, b));  // up to 0xffff exactly
    EXPECT_TRUE(bus.register_device(0x44, 1, b));       // adjacent is fine
    EXPECT_TRUE(bus.register_device(0x3f, 1, b));

    // The failed registrations changed nothing.
    EXPECT_EQ(bus.read(0x43, 1), 0x03u);
    EXPECT_EQ(bus.read(0x44, 1), 0x00u);
    EXPECT_EQ(bus.read(0xffff, 2), 0xb00fu);
}

TEST(IoBus, UnclaimedPortsFloatHighAndAreCounted)
{
    testing::CapturedLog warnings(base::LogLevel::kWarn);
    TestBus t;
    IoBus& bus = t.bus;
    EXPECT_EQ(bus.read(0x2f8, 1), 0xffu);
    EXPECT_EQ(bus.read(0x2f8, 2), 0xffffu);
    EXPECT_EQ(bus.read(0x2f8, 4), 0xffffffffu);
    bus.write(0x2f8, 1, 0);
    bus.write(0x2f9, 1, 0);
    EXPECT_EQ(bus.counters().unclaimed_reads, 3u);
    EXPECT_EQ(bus.counters().unclaimed_writes, 2u);
}

TEST(IoBus, UnclaimedPortsAreLoggedOncePerPort)
{
    testing::CapturedLog warnings(base::LogLevel::kWarn);
    TestBus t;
    IoBus& bus = t.bus;
    for (int i = 0; i < 5; ++i) {
        bus.read(0x2f9, 1);
        bus.write(0x2f9, 1, 0);
    }
    bus.write(0x3e8, 2, 0);
    ASSERT_EQ(warnings.lines().size(), 2u);
    EXPECT_NE(warnings.lines()[0].find("WARN [io_bus] machine 'm': unclaimed 1-byte read of port 0x2f9"),
              std::string::npos)
        << warnings.lines()[0];
    EXPECT_NE(warnings.lines()[1].find("unclaimed 2-byte write of port 0x3e8"), std::string::npos)
        << warnings.lines()[1];
}

TEST(IoBus, AGuestProbingEveryPortLogsOnlyTheFirstFew)
{
    testing::CapturedLog warnings(base::LogLevel::kWarn);
    {
        TestBus t;
        for (uint32_t port = 0; port < 0x10000; ++port) {
            t.bus.read(static_cast<uint16_t>(port), 1);
        }
        ASSERT_EQ(warnings.lines().size(), 16u);
        EXPECT_NE(warnings.lines().back().find("machine 'm': unclaimed 1-byte read of port 0xf (accesses to "
                                             "further ports are counted, not logged)"),
                  std::string::npos)
            << warnings.lines().back();
        EXPECT_EQ(t.bus.counters().unclaimed_reads, 0x10000u);
    }
    ASSERT_EQ(warnings.lines().size(), 17u);
    EXPECT_NE(warnings.lines().back().find("WARN [io_bus] machine 'm': unclaimed accesses to 65520 more ports "
                                         "were not logged"),
              std::string::npos)
        << warnings.lines().back();
}

TEST(IoBus, PortsBetweenRangesAreUnclaimed)
{
    testing::CapturedLog warnings(base::LogLevel::kWarn);
    TestBus t;
    IoBus& bus = t.bus;
    RecordingDevice a(0), b(0);
    ASSERT_TRUE(bus.register_device(0x20, 2, a));
    ASSERT_TRUE(bus.register_device(0xa0, 2, b));
    EXPECT_EQ(bus.read(0x22, 1), 0xffu);
    EXPECT_EQ(bus.read(0x1f, 1), 0xffu);
    EXPECT_EQ(bus.read(0xa2, 1), 0xffu);
    EXPECT_EQ(bus.counters().unclaimed_reads, 3u);
    EXPECT_TRUE(a.log().empty());
    EXPECT_TRUE(b.log().empty());
}

}  // namespace
}  // namespace vmruntime::dev
