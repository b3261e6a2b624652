// SPDX-License-Identifier: BSD-2-Clause
//
// PVH loader: an ELF with the XEN_ELFNOTE_PHYS32_ENTRY note loads its
// segments, hvm_start_info names the command line, the initrd module and
// the memory map, and the vCPU enters the note's address in 32-bit
// protected mode with paging off and EBX at hvm_start_info; a broken or
// misplaced note is refused by name.
#include "vmruntime/loader/pvh.h"

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
using test::le32;
using test::make_elf;
using test::TestSegment;
using test::xen_note;

constexpr uint64_t kRamSize = 32 << 20;
constexpr uint8_t kFill = 0xCC;
constexpr uint64_t kTextGpa = 0x1000000;
constexpr uint64_t kTextSize = 0x2000;
constexpr uint64_t kBssSize = 0x100000;
constexpr uint64_t kEntry = kTextGpa + 0x40;

std::vector<uint8_t> text()
{
    std::vector<uint8_t> bytes(kTextSize);
    std::iota(bytes.begin(), bytes.end(), uint8_t{7});
    return bytes;
}

std::vector<uint8_t> kernel_with_note(const std::vector<uint8_t>& note, uint32_t text_flags = PF_R | PF_X)
{
    TestSegment load{kTextGpa, text(), kTextSize + kBssSize, text_flags};
    TestSegment notes{0, note, note.size(), PF_R, PT_NOTE};
    return make_elf(0x1000000, {load, notes});
}

std::vector<uint8_t> pvh_kernel(uint64_t entry = kEntry)
{
    return kernel_with_note(xen_note(kXenElfnotePhys32Entry, le32(static_cast<uint32_t>(entry))));
}

class PvhTest : public ::testing::Test {
protected:
    PvhTest() : ram_(kRamSize, kFill) {}

    const uint8_t* start_info() const { return ram_.data() + kBootInfoGpa; }

    void expect_refused(const std::vector<uint8_t>& file, const std::string& fragment,
                        const BootOptions& options = {})
    {
        Result<BootState> r = load_pvh(file, ram_, options);
        ASSERT_FALSE(r.ok()) << "expected a refusal mentioning \"" << fragment << "\"";
        EXPECT_NE(r.error().find(fragment), std::string::npos) << r.error();
        EXPECT_TRUE(std::all_of(ram_.begin(), ram_.end(), [](uint8_t b) { return b == kFill; }))
            << "a refused image wrote guest RAM";
    }

    std::vector<uint8_t> ram_;
};

TEST_F(PvhTest, EntersTheNoteAddressInProtectedModeWithEbxAtStartInfo)
{
    Result<BootState> r = load_pvh(pvh_kernel(), ram_, {.cmdline = "console=ttyS0"});
    ASSERT_TRUE(r.ok()) << r.error();
    const BootState& s = r.value();
    EXPECT_EQ(s.mode, Mode::Protected32);
    EXPECT_EQ(s.rip, kEntry);
    EXPECT_EQ(s.rbx, kBootInfoGpa);
    EXPECT_NE(s.cr0 & CR0_PE, 0u);
    EXPECT_EQ(s.cr0 & CR0_PG, 0u);
    EXPECT_EQ(s.efer & EFER_LME, 0u);
    EXPECT_TRUE(s.cs.db);
    EXPECT_FALSE(s.cs.l);
    EXPECT_EQ(s.cs.base, 0u);
    EXPECT_EQ(s.cs.limit, 0xFFFFFFFFu);
    const std::vector<uint8_t> want = text();
    EXPECT_TRUE(std::equal(want.begin(), want.end(), ram_.begin() + kTextGpa));
    EXPECT_TRUE(std::all_of(ram_.begin() + kTextGpa + kTextSize, ram_.begin() + kTextGpa + kTextSize + kBssSize,
                            [](uint8_t b) { return b == 0; }))
        << "bss zeroed";
}

TEST_F(PvhTest, StartInfoNamesTheCommandLineAndTheMemoryMap)
{
    ASSERT_TRUE(load_pvh(pvh_kernel(), ram_, {.cmdline = "root=/dev/ram0"}).ok());
    const uint8_t* si = start_info();
    EXPECT_EQ(get<uint32_t>(si, 0x00), kHvmStartMagic);
    EXPECT_EQ(get<uint32_t>(si, 0x04), 1u) << "version";
    EXPECT_EQ(get<uint32_t>(si, 0x0C), 0u) << "no modules without an initrd";
    EXPECT_EQ(get<uint64_t>(si, 0x18), kCmdlineGpa);
    EXPECT_STREQ(reinterpret_cast<const char*>(ram_.data() + kCmdlineGpa), "root=/dev/ram0");
    const uint64_t memmap = get<uint64_t>(si, 0x28);
    const std::vector<MemoryRegion> want = memory_map(kRamSize);
    ASSERT_EQ(get<uint32_t>(si, 0x30), want.size());
    ASSERT_GE(memmap, kBootInfoGpa);
    ASSERT_LE(memmap + want.size() * 24, kBootInfoGpa + kBootInfoSize);
    for (size_t i = 0; i < want.size(); i++) {
        const uint8_t* e = ram_.data() + memmap + i * 24;
        EXPECT_EQ(get<uint64_t>(e, 0), want[i].begin) << "entry " << i;
        EXPECT_EQ(get<uint64_t>(e, 8), want[i].size) << "entry " << i;
        EXPECT_EQ(get<uint32_t>(e, 16), want[i].type) << "entry " << i;
    }
}

TEST_F(PvhTest, InitrdIsModuleZeroAboveTheKernel)
{
    std::vector<uint8_t> initrd(0x1800, 0xA5);
    ASSERT_TRUE(load_pvh(pvh_kernel(), ram_, {.initrd = initrd}).ok());
    const uint8_t* si = start_info();
    ASSERT_EQ(get<uint32_t>(si, 0x0C), 1u);
    const uint8_t* module = ram_.data() + get<uint64_t>(si, 0x10);
    const uint64_t at = get<uint64_t>(module, 0);
    EXPECT_EQ(get<uint64_t>(module, 8), initrd.size());
    EXPECT_EQ(at % 0x1000, 0u);
    EXPECT_GE(at, kTextGpa + kTextSize + kBssSize);
    EXPECT_LE(at + initrd.size(), kRamSize);
    EXPECT_TRUE(std::equal(initrd.begin(), initrd.end(), ram_.begin() + at));
}

TEST_F(PvhTest, EightByteEntryNoteIsAccepted)
{
    std::vector<uint8_t> desc(8, 0);
    std::memcpy(desc.data(), &kEntry, sizeof kEntry);
    Result<BootState> r = load_pvh(kernel_with_note(xen_note(kXenElfnotePhys32Entry, desc)), ram_, {});
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_EQ(r.value().rip, kEntry);
}

TEST_F(PvhTest, ElfWithoutTheNoteIsRefused)
{
    expect_refused(kernel_with_note(xen_note(17, le32(kEntry))), "no XEN_ELFNOTE_PHYS32_ENTRY note");
}

TEST_F(PvhTest, NoteOfAnOddSizeIsRefused)
{
    expect_refused(kernel_with_note(xen_note(kXenElfnotePhys32Entry, {1, 2})), "2 bytes, not 4 or 8");
}

TEST_F(PvhTest, EntryOutsideTheKernelIsRefused)
{
    expect_refused(pvh_kernel(kTextGpa + kTextSize), "not in the file bytes of an executable");
}

TEST_F(PvhTest, EntryInANonExecutableSegmentIsRefused)
{
    expect_refused(kernel_with_note(xen_note(kXenElfnotePhys32Entry, le32(kEntry)), PF_R | PF_W),
                   "not in the file bytes of an executable");
}

TEST_F(PvhTest, EntryAbove4GiBIsRefused)
{
    std::vector<uint8_t> desc(8, 0);
    const uint64_t high = 1ULL << 32;
    std::memcpy(desc.data(), &high, sizeof high);
    expect_refused(kernel_with_note(xen_note(kXenElfnotePhys32Entry, desc)), "above 4 GiB");
}

TEST_F(PvhTest, NoteRunningPastItsSegmentIsRefused)
{
    std::vector<uint8_t> note = xen_note(kXenElfnotePhys32Entry, le32(kEntry));
    test::put<uint32_t>(note, 4, 64);  // descsz beyond the segment
    expect_refused(kernel_with_note(note), "runs past its PT_NOTE segment");
}

TEST_F(PvhTest, InitrdThatDoesNotFitIsRefused)
{
    std::vector<uint8_t> initrd(kRamSize - kTextGpa, 1);
    expect_refused(pvh_kernel(), "initrd of", {.initrd = initrd});
}

TEST_F(PvhTest, HasPvhNoteTellsPvhKernelsFromOtherElfs)
{
    EXPECT_TRUE(has_pvh_note(pvh_kernel()));
    EXPECT_FALSE(has_pvh_note(kernel_with_note(xen_note(17, le32(kEntry)))));
    EXPECT_FALSE(has_pvh_note(std::vector<uint8_t>(64, 0)));
    std::vector<uint8_t> broken = xen_note(kXenElfnotePhys32Entry, le32(kEntry));
    test::put<uint32_t>(broken, 4, 64);
    EXPECT_TRUE(has_pvh_note(kernel_with_note(broken))) << "a broken note is the PVH loader's to refuse";
}

}  // namespace
}  // namespace vmruntime::loader
