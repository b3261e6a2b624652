// SPDX-License-Identifier: BSD-2-Clause
//
// Flat binary loader: the image lands at the load address in each mode,
// with the segment, control-register and stack state of that mode; bad
// placements are refused before anything is written.
#include "vmruntime/loader/flat.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

namespace vmruntime::loader {
namespace {

constexpr uint64_t kRamSize = 2 << 20;
constexpr uint8_t kFill = 0xCC;

class FlatLoaderTest : public ::testing::Test {
protected:
    Result<BootState> load(Mode mode, uint64_t gpa, const BootOptions& options = {})
    {
        return load_flat(image_, ram_, mode, gpa, options);
    }

    void expect_refused(Mode mode, uint64_t gpa, const std::string& fragment,
                        const BootOptions& options = {})
    {
        const Result<BootState> r = load(mode, gpa, options);
        ASSERT_FALSE(r.ok()) << "expected a refusal mentioning \"" << fragment << "\"";
        EXPECT_NE(r.error().find(fragment), std::string::npos) << "message: " << r.error();
        EXPECT_EQ(r.error().rfind("flat image: ", 0), 0u) << "message: " << r.error();
        EXPECT_TRUE(std::all_of(ram_.begin(), ram_.end(), [](uint8_t b) { return b == kFill; }))
            << "a refused image wrote to RAM";
    }

    std::vector<uint8_t> ram_ = std::vector<uint8_t>(kRamSize, kFill);
    std::vector<uint8_t> image_ = {0xF4, 0x01, 0x02, 0x03, 0x04};
};

TEST_F(FlatLoaderTest, RealModeUsesTheTinyModel)
{
    const Result<BootState> r = load(Mode::Real16, 0x12340);
    ASSERT_TRUE(r.ok()) << r.error();
    const BootState& s = r.value();
    EXPECT_EQ(std::memcmp(ram_.data() + 0x12340, image_.data(), image_.size()), 0);
    EXPECT_EQ(s.mode, Mode::Real16);
    EXPECT_EQ(s.cs.selector, 0x1234);
    EXPECT_EQ(s.cs.base, 0x12340u);
    EXPECT_EQ(s.cs.limit, 0xFFFFu);
    EXPECT_EQ(s.rip, 0u);
    for (const Segment* seg : {&s.ds, &s.es, &s.fs, &s.gs}) EXPECT_EQ(seg->selector, 0x1234);
    EXPECT_EQ(s.cr0 & (CR0_PE | CR0_PG), 0u);
    EXPECT_EQ(s.efer, 0u);
}

TEST_F(FlatLoaderTest, RealModeStackSitsBelowTheImage)
{
    const Result<BootState> r = load(Mode::Real16, 0x12340);
    ASSERT_TRUE(r.ok()) << r.error();
    const BootState& s = r.value();
    EXPECT_EQ(s.ss.base + s.rsp, 0x12340u);
    EXPECT_LE(s.rsp, 0xFFFFu);
}

// SP = 0 is right at a 64 KiB boundary: the first push wraps to SS:FFFE.
TEST_F(FlatLoaderTest, RealModeStackAtA64KiBBoundaryWraps)
{
    const Result<BootState> r = load(Mode::Real16, 0x20000);
    ASSERT_TRUE(r.ok()) << r.error();
    const BootState& s = r.value();
    EXPECT_EQ(s.rsp, 0u);
    EXPECT_EQ(s.ss.base + 0xFFFE, 0x20000u - 2);
}

TEST_F(FlatLoaderTest, RefusesAnUnalignedRealModeAddress)
{
    expect_refused(Mode::Real16, 0x12348, "not 16-byte aligned");
}

TEST_F(FlatLoaderTest, RefusesARealModeImagePast1MiB)
{
    image_.resize(0x100);
    expect_refused(Mode::Real16, 0xFFF80, "out of reach at entry");
}

TEST_F(FlatLoaderTest, RefusesARealModeStackPast1MiB)
{
    expect_refused(Mode::Real16, 0x10000, "out of reach", {.stack_top = 0x180000});
}

TEST_F(FlatLoaderTest, ProtectedModeIsFlatWithoutPaging)
{
    const Result<BootState> r = load(Mode::Protected32, 0x100000, {.stack_top = 0x90000});
    ASSERT_TRUE(r.ok()) << r.error();
    const BootState& s = r.value();
    EXPECT_EQ(std::memcmp(ram_.data() + 0x100000, image_.data(), image_.size()), 0);
    EXPECT_EQ(s.rip, 0x100000u);
    EXPECT_EQ(s.rsp, 0x90000u);
    EXPECT_EQ(s.cs.selector, kBootCodeSelector);
    EXPECT_TRUE(s.cs.db);
    EXPECT_FALSE(s.cs.l);
    EXPECT_EQ(s.cs.limit, 0xFFFFFFFFu);
    EXPECT_EQ(s.ss.selector, kBootDataSelector);
    EXPECT_EQ(s.cr0 & (CR0_PE | CR0_PG), CR0_PE);
    EXPECT_EQ(s.efer, 0u);
}

TEST_F(FlatLoaderTest, LongModeHasPagingAndA64BitCodeSegment)
{
    const Result<BootState> r = load(Mode::Long64, 0x100000, {.cmdline = "x=1"});
    ASSERT_TRUE(r.ok()) << r.error();
    const BootState& s = r.value();
    EXPECT_EQ(s.rip, 0x100000u);
    EXPECT_EQ(s.rsp, 0x100000u);
    EXPECT_TRUE(s.cs.l);
    EXPECT_EQ(s.cr0 & (CR0_PE | CR0_PG), CR0_PE | CR0_PG);
    EXPECT_EQ(s.cr3, kPml4Gpa);
    EXPECT_EQ(s.efer, EFER_LME | EFER_LMA);
    EXPECT_STREQ(reinterpret_cast<const char*>(ram_.data() + s.rsi), "x=1");
}

TEST_F(FlatLoaderTest, RefusesAnEmptyImage)
{
    image_.clear();
    expect_refused(Mode::Long64, 0x100000, "empty");
}

TEST_F(FlatLoaderTest, RefusesAnImagePastTheEndOfRam)
{
    expect_refused(Mode::Long64, kRamSize - 2, "past the end of RAM");
}

TEST_F(FlatLoaderTest, RefusesALoadAddressThatWraps)
{
    expect_refused(Mode::Long64, ~0ULL - 1, "past the end of RAM");
}

TEST_F(FlatLoaderTest, RefusesAnImageInTheBootArea)
{
    expect_refused(Mode::Protected32, kCmdlineGpa, "overlap the loader's boot area");
}

TEST_F(FlatLoaderTest, RefusesRamTooSmallForTheBootArea)
{
    ram_.resize(0x100);
    expect_refused(Mode::Real16, 0x0, "does not hold the loader's boot area");
}

TEST_F(FlatLoaderTest, RefusesAnImageLeavingNoRoomForTheDefaultStack)
{
    expect_refused(Mode::Long64, kReservedEnd + 0x100, "no room for a stack below the image");
}

}  // namespace
}  // namespace vmruntime::loader
