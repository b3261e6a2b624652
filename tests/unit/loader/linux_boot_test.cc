// SPDX-License-Identifier: BSD-2-Clause
//
// What both Linux loaders share: the memory map, the initrd's place and the
// command-line limit.
#include "vmruntime/loader/linux_boot.h"

#include <gtest/gtest.h>

#include <string>
#include <tuple>
#include <vector>

namespace vmruntime::loader {
namespace {

using Region = std::tuple<uint64_t, uint64_t, uint32_t>;

std::vector<Region> regions(uint64_t ram_size)
{
    std::vector<Region> out;
    for (const MemoryRegion& r : memory_map(ram_size)) out.emplace_back(r.begin, r.size, r.type);
    return out;
}

TEST(MemoryMapTest, RamBelowAndAbove1MiBAroundThePcHoles)
{
    const std::vector<Region> want = {{0, 0x9FC00, kMemoryRam},
                                      {0x9FC00, 0x400, kMemoryReserved},
                                      {0xF0000, 0x10000, kMemoryReserved},
                                      {0x100000, (64 << 20) - 0x100000, kMemoryRam}};
    EXPECT_EQ(regions(64 << 20), want);
}

TEST(MemoryMapTest, NoHighRamEntryWhenRamEndsAt1MiB)
{
    const std::vector<MemoryRegion> map = memory_map(0x100000);
    ASSERT_EQ(map.size(), 3u);
    EXPECT_EQ(map.back().begin, kBiosBegin);
}

TEST(PlaceInitrdTest, HighestPageAlignedAddressBelowTheTop)
{
    Result<uint64_t> at = place_initrd(0x1800, 0x800000, UINT64_MAX, 0x200000);
    ASSERT_TRUE(at.ok()) << at.error();
    EXPECT_EQ(at.value(), 0x800000u - 0x2000);
}

TEST(PlaceInitrdTest, LastByteLowersTheTop)
{
    Result<uint64_t> at = place_initrd(0x1000, 0x800000, 0x3FFFFF, 0x200000);
    ASSERT_TRUE(at.ok()) << at.error();
    EXPECT_EQ(at.value(), 0x3FF000u);
}

TEST(PlaceInitrdTest, ExactFitAboveAnUnalignedFloor)
{
    Result<uint64_t> at = place_initrd(0x1000, 0x3000, UINT64_MAX, 0x1001);
    ASSERT_TRUE(at.ok()) << at.error();
    EXPECT_EQ(at.value(), 0x2000u);
    EXPECT_FALSE(place_initrd(0x1001, 0x3000, UINT64_MAX, 0x1001).ok());
}

TEST(PlaceInitrdTest, RefusesEmptyAndTooLargeSayingHowMuchRoomThereWas)
{
    Result<uint64_t> empty = place_initrd(0, 0x800000, UINT64_MAX, 0x200000);
    ASSERT_FALSE(empty.ok());
    EXPECT_NE(empty.error().find("empty"), std::string::npos) << empty.error();
    Result<uint64_t> big = place_initrd(0x700000, 0x800000, UINT64_MAX, 0x200000);
    ASSERT_FALSE(big.ok());
    EXPECT_NE(big.error().find(std::to_string(0x600000) + " bytes of RAM are free"), std::string::npos)
        << big.error();
    EXPECT_FALSE(place_initrd(1, 0x800000, 0x1FFFFF, 0x200000).ok()) << "top below the kernel's end";
}

TEST(LinuxCmdlineTest, KernelLimitCountsBytesWithoutTheNul)
{
    EXPECT_TRUE(check_linux_cmdline("12345678", 8).ok());
    Status s = check_linux_cmdline("123456789", 8);
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.error().find("9 bytes, the kernel takes at most 8"), std::string::npos) << s.error();
}

}  // namespace
}  // namespace vmruntime::loader
