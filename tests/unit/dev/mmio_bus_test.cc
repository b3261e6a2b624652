// SPDX-License-Identifier: BSD-2-Clause
// The MMIO bus: windows routed by address with window-relative offsets,
// overlaps refused, unclaimed addresses floating.
#include <gtest/gtest.h>

#include <vector>

#include "vmruntime/dev/mmio_bus.h"

namespace vmruntime::dev {
namespace {

class Recorder final : public MmioDevice {
public:
    uint64_t read(uint64_t offset, unsigned size) override { return offset * 16 + size; }
    void write(uint64_t offset, unsigned, uint64_t value) override { writes.push_back({offset, value}); }
    std::vector<std::pair<uint64_t, uint64_t>> writes;
};

TEST(MmioBusTest, RoutesByWindowWithRelativeOffsets)
{
    MmioBus bus;
    Recorder a, b;
    ASSERT_TRUE(bus.register_device(0xD0000000, 0x1000, a));
    ASSERT_TRUE(bus.register_device(0xD0001000, 0x1000, b));
    EXPECT_EQ(bus.read(0xD0000010, 4), 0x104u);
    EXPECT_EQ(bus.read(0xD0001FFF, 1), 0xFFF1u);
    bus.write(0xD0001050, 4, 7);
    EXPECT_TRUE(a.writes.empty());
    ASSERT_EQ(b.writes.size(), 1u);
    EXPECT_EQ(b.writes[0], std::make_pair(uint64_t{0x50}, uint64_t{7}));
    EXPECT_TRUE(bus.claims(0xD0000000));
    EXPECT_FALSE(bus.claims(0xD0002000));
    EXPECT_FALSE(bus.claims(0xCFFFFFFF));
    EXPECT_EQ(bus.read(0xD0002000, 4), ~uint64_t{0});
    bus.write(0xD0002000, 4, 1);
}

TEST(MmioBusTest, RefusesOverlapsEmptyAndWrappingWindows)
{
    MmioBus bus;
    Recorder a;
    ASSERT_TRUE(bus.register_device(0x1000, 0x1000, a));
    EXPECT_FALSE(bus.register_device(0x1800, 0x1000, a));
    EXPECT_FALSE(bus.register_device(0x800, 0x1000, a));
    EXPECT_FALSE(bus.register_device(0x0, 0x10000, a)) << "covers it";
    EXPECT_FALSE(bus.register_device(0x3000, 0, a));
    EXPECT_FALSE(bus.register_device(~0ULL - 10, 0x1000, a));
    EXPECT_TRUE(bus.register_device(0x2000, 0x1000, a)) << "adjacent is fine";
}

}  // namespace
}  // namespace vmruntime::dev
