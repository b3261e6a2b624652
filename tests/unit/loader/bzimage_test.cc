// SPDX-License-Identifier: BSD-2-Clause
//
// bzImage loader: a well-formed image puts its protected-mode kernel at
// pref_address, the zero page gets the header, the command line, the initrd
// and the e820 map, and the vCPU enters startup_64 in long mode; each
// malformed header field is refused by name and leaves RAM untouched.
#include "vmruntime/loader/bzimage.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <string>
#include <vector>

#include "linux_image.h"
#include "vmruntime/loader/linux_boot.h"

namespace vmruntime::loader {
namespace {

using test::get;
using test::put;

constexpr uint64_t kRamSize = 64 << 20;
constexpr uint8_t kFill = 0xCC;

class BzimageTest : public ::testing::Test {
protected:
    BzimageTest() : ram_(kRamSize, kFill), kernel_(0x3000), file_()
    {
        std::iota(kernel_.begin(), kernel_.end(), uint8_t{1});
        file_ = test::make_bzimage(kernel_);
    }

    const uint8_t* zero_page() const { return ram_.data() + kBootInfoGpa; }

    void expect_refused(const std::string& fragment, const BootOptions& options = {})
    {
        Result<BootState> r = load_bzimage(file_, ram_, options);
        ASSERT_FALSE(r.ok()) << "expected a refusal mentioning \"" << fragment << "\"";
        EXPECT_EQ(r.error().rfind("bzImage: ", 0), 0u) << r.error();
        EXPECT_NE(r.error().find(fragment), std::string::npos) << r.error();
        EXPECT_TRUE(std::all_of(ram_.begin(), ram_.end(), [](uint8_t b) { return b == kFill; }))
            << "a refused image wrote guest RAM";
    }

    std::vector<uint8_t> ram_;
    std::vector<uint8_t> kernel_;
    std::vector<uint8_t> file_;
};

TEST_F(BzimageTest, KernelGoesToItsPreferredAddressAndEntersStartup64)
{
    Result<BootState> r = load_bzimage(file_, ram_, {.cmdline = "console=ttyS0"});
    ASSERT_TRUE(r.ok()) << r.error();
    const BootState& s = r.value();
    EXPECT_TRUE(std::equal(kernel_.begin(), kernel_.end(), ram_.begin() + test::kKernelAddress));
    EXPECT_EQ(s.mode, Mode::Long64);
    EXPECT_EQ(s.rip, test::kKernelAddress + 0x200);
    EXPECT_EQ(s.rsi, kBootInfoGpa);
    EXPECT_EQ(s.cs.selector, kBootCodeSelector);
    EXPECT_TRUE(s.cs.l);
    EXPECT_EQ(s.ds.selector, kBootDataSelector);
    EXPECT_NE(s.cr0 & CR0_PG, 0u);
    EXPECT_NE(s.efer & EFER_LMA, 0u);
    EXPECT_LE(s.rsp, test::kKernelAddress);
    EXPECT_GE(s.rsp, kReservedEnd + kMinStackSize);
}

TEST_F(BzimageTest, ZeroPageHoldsTheHeaderAndWhatTheLoaderFilledIn)
{
    ASSERT_TRUE(load_bzimage(file_, ram_, {.cmdline = "quiet"}).ok());
    const uint8_t* zp = zero_page();
    EXPECT_EQ(get<uint32_t>(zp, 0x202), kSetupHeaderMagic);
    EXPECT_EQ(get<uint16_t>(zp, 0x206), 0x020F);
    EXPECT_EQ(get<uint64_t>(zp, 0x258), test::kKernelAddress);
    EXPECT_EQ(zp[0x210], 0xFF) << "type_of_loader: undefined";
    EXPECT_EQ(zp[0x211] & 0x01, 0x01) << "LOADED_HIGH kept";
    EXPECT_EQ(zp[0x211] & 0x80, 0x80) << "CAN_USE_HEAP set";
    EXPECT_EQ(zp[0x211] & 0x40, 0) << "KEEP_SEGMENTS clear";
    EXPECT_EQ(get<uint16_t>(zp, 0x1FA), 0xFFFF) << "vid_mode: normal";
    EXPECT_EQ(get<uint32_t>(zp, 0x214), test::kKernelAddress) << "code32_start";
    EXPECT_EQ(get<uint32_t>(zp, 0x228), kCmdlineGpa);
    EXPECT_STREQ(reinterpret_cast<const char*>(ram_.data() + kCmdlineGpa), "quiet");
    EXPECT_EQ(get<uint32_t>(zp, 0x218), 0u) << "no initrd";
    EXPECT_EQ(get<uint32_t>(zp, 0x21C), 0u);
    // Nothing of the setup code past the header reaches the zero page.
    EXPECT_EQ(zp[0x290], 0);
}

TEST_F(BzimageTest, E820MapDescribesRamAndTheLowHoles)
{
    ASSERT_TRUE(load_bzimage(file_, ram_, {}).ok());
    const uint8_t* zp = zero_page();
    const std::vector<MemoryRegion> want = memory_map(kRamSize);
    ASSERT_EQ(zp[0x1E8], want.size());
    for (size_t i = 0; i < want.size(); i++) {
        const uint64_t at = 0x2D0 + i * 20;
        EXPECT_EQ(get<uint64_t>(zp, at), want[i].begin) << "entry " << i;
        EXPECT_EQ(get<uint64_t>(zp, at + 8), want[i].size) << "entry " << i;
        EXPECT_EQ(get<uint32_t>(zp, at + 16), want[i].type) << "entry " << i;
    }
}

TEST_F(BzimageTest, InitrdGoesHighAndPageAlignedWithItsAddressInTheZeroPage)
{
    std::vector<uint8_t> initrd(0x2345, 0x5A);
    ASSERT_TRUE(load_bzimage(file_, ram_, {.initrd = initrd}).ok());
    const uint32_t at = get<uint32_t>(zero_page(), 0x218);
    EXPECT_EQ(get<uint32_t>(zero_page(), 0x21C), initrd.size());
    EXPECT_EQ(get<uint32_t>(zero_page(), 0x0C0), 0u) << "ext_ramdisk_image";
    EXPECT_EQ(at % 0x1000, 0u);
    EXPECT_LE(at + initrd.size(), kRamSize);
    EXPECT_GT(at + initrd.size(), kRamSize - 0x1000) << "as high as RAM allows";
    EXPECT_GE(at, test::kKernelAddress + test::kInitSize);
    EXPECT_TRUE(std::equal(initrd.begin(), initrd.end(), ram_.begin() + at));
}

TEST_F(BzimageTest, InitrdStaysBelowInitrdAddrMax)
{
    put<uint32_t>(file_, 0x22C, 0x02FFFFFF);  // the highest byte it may use: 48 MiB - 1
    std::vector<uint8_t> initrd(0x1000, 1);
    ASSERT_TRUE(load_bzimage(file_, ram_, {.initrd = initrd}).ok());
    EXPECT_EQ(get<uint32_t>(zero_page(), 0x218), 0x03000000u - 0x1000);
}

TEST_F(BzimageTest, InitrdThatDoesNotFitIsRefused)
{
    std::vector<uint8_t> initrd(kRamSize - test::kKernelAddress - test::kInitSize + 1, 1);
    expect_refused("initrd of", {.initrd = initrd});
}

TEST_F(BzimageTest, FileTooShortForTheHeader)
{
    file_.resize(0x263);
    expect_refused("too short for a setup header");
}

TEST_F(BzimageTest, NoKernelAfterTheSetupSectors)
{
    file_.resize(test::kSetupBytes);
    expect_refused("leave no kernel");
}

TEST_F(BzimageTest, WrongBootFlag)
{
    put<uint16_t>(file_, 0x1FE, 0x1234);
    expect_refused("boot flag at 0x1fe");
}

TEST_F(BzimageTest, NoHdrSSignature)
{
    put<uint32_t>(file_, 0x202, 0x53726449);
    expect_refused("\"HdrS\"");
}

TEST_F(BzimageTest, ProtocolOlderThan212)
{
    put<uint16_t>(file_, 0x206, 0x020B);
    expect_refused("boot protocol 2.11 is older than 2.12");
}

TEST_F(BzimageTest, ZimageWithoutLoadedHigh)
{
    file_[0x211] = 0;
    expect_refused("LOADED_HIGH");
}

TEST_F(BzimageTest, NoSixtyFourBitEntry)
{
    put<uint16_t>(file_, 0x236, 0x02);
    expect_refused("XLF_KERNEL_64");
}

TEST_F(BzimageTest, InitSizeBeyondRam)
{
    put<uint32_t>(file_, 0x260, kRamSize);
    expect_refused("init_size");
}

TEST_F(BzimageTest, PreferredAddressInTheBootArea)
{
    put<uint64_t>(file_, 0x258, 0x1000);
    expect_refused("preferred address 0x1000");
}

TEST_F(BzimageTest, CommandLineLongerThanTheKernelTakes)
{
    put<uint32_t>(file_, 0x238, 8);
    expect_refused("the kernel takes at most 8", {.cmdline = "console=ttyS0"});
}

TEST_F(BzimageTest, HasSetupHeaderLooksOnlyAtTheSignature)
{
    EXPECT_TRUE(has_setup_header(file_));
    put<uint16_t>(file_, 0x206, 0x0200);
    EXPECT_TRUE(has_setup_header(file_)) << "an old protocol is still a bzImage, to be refused by name";
    EXPECT_FALSE(has_setup_header(std::vector<uint8_t>(0x205, 0)));
    put<uint32_t>(file_, 0x202, 0);
    EXPECT_FALSE(has_setup_header(file_));
}

}  // namespace
}  // namespace vmruntime::loader
