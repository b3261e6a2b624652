// SPDX-License-Identifier: BSD-2-Clause
//
// The format-independent parts: GDT descriptors against their well-known
// encodings (the values Linux's boot GDT uses), the GDT in RAM against the
// hidden state the vCPU gets, and stack placement.
#include "vmruntime/loader/boot_area.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "vmruntime/loader/gdt.h"

namespace vmruntime::loader {
namespace {

uint64_t read64(const std::vector<uint8_t>& ram, uint64_t gpa)
{
    uint64_t v;
    std::memcpy(&v, ram.data() + gpa, sizeof v);
    return v;
}

TEST(GdtTest, EncodesFlatDescriptors)
{
    EXPECT_EQ(encode_descriptor(flat_code_segment(Mode::Long64)), 0x00AF9B000000FFFFULL);
    EXPECT_EQ(encode_descriptor(flat_code_segment(Mode::Protected32)), 0x00CF9B000000FFFFULL);
    EXPECT_EQ(encode_descriptor(flat_data_segment()), 0x00CF93000000FFFFULL);
}

TEST(GdtTest, EncodesBaseAndByteGranularLimit)
{
    Segment s = flat_data_segment();
    s.base = 0x12345678;
    s.limit = 0xABCDE;
    s.g = false;
    EXPECT_EQ(encode_descriptor(s), 0x124A93345678BCDEULL);
}

TEST(GdtTest, RealModeSegmentBaseIsSelectorTimes16)
{
    const Segment s = real_mode_segment(0x1234, true);
    EXPECT_EQ(s.base, 0x12340u);
    EXPECT_EQ(s.limit, 0xFFFFu);
    EXPECT_EQ(s.type, 0xB);
    EXPECT_TRUE(s.p);
}

TEST(BootAreaTest, GdtInRamMatchesTheHiddenState)
{
    for (Mode mode : {Mode::Real16, Mode::Protected32, Mode::Long64}) {
        std::vector<uint8_t> ram(0x200000);
        const BootState s = write_boot_area(ram, mode, 0x100000, 0x90000, "");
        EXPECT_EQ(read64(ram, kGdtGpa), 0u);
        EXPECT_EQ(read64(ram, kGdtGpa + 8), 0u);
        const Segment code = mode == Mode::Real16 ? flat_code_segment(mode) : s.cs;
        const Segment data = mode == Mode::Real16 ? flat_data_segment() : s.ss;
        EXPECT_EQ(read64(ram, kGdtGpa + kBootCodeSelector), encode_descriptor(code));
        EXPECT_EQ(read64(ram, kGdtGpa + kBootDataSelector), encode_descriptor(data));
    }
}

TEST(BootAreaTest, RefusesRamSmallerThanTheBootArea)
{
    EXPECT_FALSE(check_boot_area(kReservedEnd - 1, "").ok());
    EXPECT_TRUE(check_boot_area(kReservedEnd, "").ok());
}

TEST(BootAreaTest, DefaultStackTopIsBelowTheLowestImageByteAligned)
{
    const Extent image[] = {{0x200000, 0x100}, {0x100008, 0x10}};
    const Result<uint64_t> top = place_stack(0, image, 0x400000, Mode::Long64);
    ASSERT_TRUE(top.ok()) << top.error();
    EXPECT_EQ(top.value(), 0x100000u);
}

TEST(BootAreaTest, StackNeedsRoomAboveTheBootArea)
{
    const Extent image[] = {{0x100000, 0x100}};
    EXPECT_TRUE(place_stack(kReservedEnd + kMinStackSize, image, 0x400000, Mode::Long64).ok());
    const Result<uint64_t> low = place_stack(kReservedEnd + kMinStackSize - 16, image, 0x400000,
                                             Mode::Long64);
    ASSERT_FALSE(low.ok());
    EXPECT_NE(low.error().find("above the boot area"), std::string::npos) << low.error();
}

TEST(BootAreaTest, StackMayEndRightAtTheImage)
{
    const Extent image[] = {{0x100000, 0x100}};
    EXPECT_TRUE(place_stack(0x100000, image, 0x400000, Mode::Long64).ok());
    EXPECT_FALSE(place_stack(0x100010, image, 0x400000, Mode::Long64).ok());
    EXPECT_TRUE(place_stack(0x100000 + kMinStackSize + 0x100, image, 0x400000, Mode::Long64).ok());
}

}  // namespace
}  // namespace vmruntime::loader
