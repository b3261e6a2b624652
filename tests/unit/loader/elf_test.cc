// SPDX-License-Identifier: BSD-2-Clause
//
// ELF64 loader: a valid two-segment image (text, then data with bss) loads
// byte for byte and enters long mode; every malformed variant is refused
// with a message naming the problem, and leaves guest RAM untouched.
#include "vmruntime/loader/elf.h"

#include <gtest/gtest.h>
#include <sys/mman.h>

#include <algorithm>
#include <cstring>
#include <numeric>
#include <string>
#include <vector>

#include "elf_image.h"
#include "vmruntime/loader/page_tables.h"

namespace vmruntime::loader {
namespace {

using test::edit_header;
using test::edit_phdr;
using test::make_elf;
using test::TestSegment;

constexpr uint64_t kRamSize = 4 << 20;
constexpr uint8_t kFill = 0xCC;
constexpr uint64_t kTextGpa = 0x100000;
constexpr uint64_t kDataGpa = 0x200000;
constexpr uint64_t kDataMemsz = 0x100;
constexpr uint64_t kEntry = kTextGpa + 0x10;

std::vector<uint8_t> sequence(size_t size, uint8_t first)
{
    std::vector<uint8_t> bytes(size);
    std::iota(bytes.begin(), bytes.end(), first);
    return bytes;
}

class ElfLoaderTest : public ::testing::Test {
protected:
    ElfLoaderTest()
        : ram_(kRamSize, kFill),
          file_(make_elf(kEntry, {{kTextGpa, sequence(0x40, 1), 0x40, PF_R | PF_X},
                                  {kDataGpa, sequence(0x10, 0x80), kDataMemsz, PF_R | PF_W}}))
    {
    }

    Result<BootState> load(const BootOptions& options = {})
    {
        return load_elf64(file_, ram_, options);
    }

    // Refused with a message containing `fragment`, and RAM left as it was.
    void expect_refused(const std::string& fragment, const BootOptions& options = {})
    {
        const Result<BootState> r = load(options);
        ASSERT_FALSE(r.ok()) << "expected a refusal mentioning \"" << fragment << "\"";
        EXPECT_NE(r.error().find(fragment), std::string::npos) << "message: " << r.error();
        EXPECT_EQ(r.error().rfind("ELF: ", 0), 0u) << "message: " << r.error();
        EXPECT_TRUE(ram_untouched()) << "a refused image wrote to RAM";
    }

    bool ram_untouched() const
    {
        return std::all_of(ram_.begin(), ram_.end(), [](uint8_t b) { return b == kFill; });
    }

    uint64_t ram64(uint64_t gpa) const
    {
        uint64_t v;
        std::memcpy(&v, ram_.data() + gpa, sizeof v);
        return v;
    }

    std::vector<uint8_t> ram_;
    std::vector<uint8_t> file_;
};

TEST_F(ElfLoaderTest, CopiesSegmentsAndZeroesBss)
{
    ASSERT_TRUE(load().ok());
    const std::vector<uint8_t> text = sequence(0x40, 1);
    const std::vector<uint8_t> data = sequence(0x10, 0x80);
    EXPECT_EQ(std::memcmp(ram_.data() + kTextGpa, text.data(), text.size()), 0);
    EXPECT_EQ(std::memcmp(ram_.data() + kDataGpa, data.data(), data.size()), 0);
    for (uint64_t gpa = kDataGpa + data.size(); gpa < kDataGpa + kDataMemsz; gpa++) {
        ASSERT_EQ(ram_[gpa], 0) << "bss byte at 0x" << std::hex << gpa;
    }
    EXPECT_EQ(ram_[kTextGpa + text.size()], kFill);
    EXPECT_EQ(ram_[kDataGpa + kDataMemsz], kFill);
}

// On RAM that is zero already the bss is not written: a huge bss then
// costs no memory until the guest touches it.
TEST_F(ElfLoaderTest, LeavesBssAloneOnRamThatIsZeroAlready)
{
    BootOptions options;
    options.ram_is_zero = true;
    ASSERT_TRUE(load(options).ok());
    const std::vector<uint8_t> data = sequence(0x10, 0x80);
    EXPECT_EQ(std::memcmp(ram_.data() + kDataGpa, data.data(), data.size()), 0);
    for (uint64_t gpa = kDataGpa + data.size(); gpa < kDataGpa + kDataMemsz; gpa++) {
        ASSERT_EQ(ram_[gpa], kFill) << "bss byte at 0x" << std::hex << gpa << " was written";
    }
}

TEST_F(ElfLoaderTest, EntersLongModeAtTheEntryPoint)
{
    const Result<BootState> r = load();
    ASSERT_TRUE(r.ok()) << r.error();
    const BootState& s = r.value();
    EXPECT_EQ(s.mode, Mode::Long64);
    EXPECT_EQ(s.rip, kEntry);
    EXPECT_EQ(s.rsp, kTextGpa) << "default stack: just below the image";
    EXPECT_EQ(s.rflags, RFLAGS_FIXED) << "interrupts off";
    EXPECT_EQ(s.rsi, kCmdlineGpa);
    EXPECT_EQ(s.cr0 & (CR0_PE | CR0_PG), CR0_PE | CR0_PG);
    EXPECT_EQ(s.cr3, kPml4Gpa);
    EXPECT_EQ(s.cr4 & CR4_PAE, CR4_PAE);
    EXPECT_EQ(s.efer, EFER_LME | EFER_LMA);
    EXPECT_EQ(s.gdt_base, kGdtGpa);
    EXPECT_EQ(s.gdt_limit, kGdtLimit);
    EXPECT_EQ(s.cs.selector, kBootCodeSelector);
    EXPECT_TRUE(s.cs.l);
    EXPECT_FALSE(s.cs.db);
    for (const Segment* seg : {&s.ds, &s.es, &s.fs, &s.gs, &s.ss}) {
        EXPECT_EQ(seg->selector, kBootDataSelector);
        EXPECT_EQ(seg->base, 0u);
        EXPECT_TRUE(seg->p);
    }
    EXPECT_EQ(s.tr.type, 0xB) << "busy TSS, as VM entry in long mode needs";
}

TEST_F(ElfLoaderTest, CopiesTheCommandLine)
{
    const std::string cmdline = "console=ttyS0 hz=50";
    ASSERT_TRUE(load({.cmdline = cmdline}).ok());
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(ram_.data() + kCmdlineGpa)), cmdline);
}

TEST_F(ElfLoaderTest, EmptyCommandLineIsAnEmptyString)
{
    ASSERT_TRUE(load().ok());
    EXPECT_EQ(ram_[kCmdlineGpa], 0);
}

TEST_F(ElfLoaderTest, LongestCommandLineFits)
{
    const std::string cmdline(kCmdlineMax - 1, 'x');
    ASSERT_TRUE(load({.cmdline = cmdline}).ok());
    EXPECT_EQ(ram_[kCmdlineGpa + kCmdlineMax - 1], 0);
    EXPECT_EQ(ram_[kCmdlineGpa + kCmdlineMax], kFill);
}

TEST_F(ElfLoaderTest, WritesIdentityPageTables)
{
    ASSERT_TRUE(load().ok());
    EXPECT_EQ(ram64(kPml4Gpa) & ~0xFFFULL, kPdptGpa);
    for (uint64_t i = 0; i < kPageDirectories; i++) {
        EXPECT_EQ(ram64(kPdptGpa + 8 * i) & ~0xFFFULL, kPdGpa + 0x1000 * i);
    }
    const uint64_t last = kPageDirectories * 512 - 1;
    for (uint64_t i : {uint64_t{0}, uint64_t{1}, last}) {
        const uint64_t pde = ram64(kPdGpa + 8 * i);
        EXPECT_EQ(pde & ~0xFFFULL, i << 21);
        EXPECT_EQ(pde & (PG_P | PG_RW | PG_PS), PG_P | PG_RW | PG_PS);
    }
}

TEST_F(ElfLoaderTest, UsesTheGivenStackTop)
{
    const Result<BootState> r = load({.stack_top = 0x300000});
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_EQ(r.value().rsp, 0x300000u);
}

TEST_F(ElfLoaderTest, IgnoresProgramHeadersOtherThanLoad)
{
    file_ = make_elf(kEntry, {{0, {}, 0, PF_R, PT_NOTE},
                              {kTextGpa, sequence(0x40, 1), 0x40, PF_R | PF_X},
                              {0, {}, 0, PF_R | PF_W, PT_GNU_STACK}});
    edit_phdr(file_, 0, [](Elf64_Phdr& ph) { ph.p_offset = ~0ULL; });
    EXPECT_TRUE(load().ok());
}

TEST_F(ElfLoaderTest, RefusesAnEmptyFile)
{
    file_.clear();
    expect_refused("shorter than the 64-byte ELF64 header");
}

TEST_F(ElfLoaderTest, RefusesATruncatedHeader)
{
    file_.resize(40);
    expect_refused("shorter than the 64-byte ELF64 header");
}

TEST_F(ElfLoaderTest, RefusesBadMagic)
{
    file_[1] = 'X';
    expect_refused("bad magic");
}

TEST_F(ElfLoaderTest, RefusesElf32)
{
    edit_header(file_, [](Elf64_Ehdr& h) { h.e_ident[EI_CLASS] = ELFCLASS32; });
    expect_refused("not ELFCLASS64");
}

TEST_F(ElfLoaderTest, RefusesBigEndian)
{
    edit_header(file_, [](Elf64_Ehdr& h) { h.e_ident[EI_DATA] = ELFDATA2MSB; });
    expect_refused("not ELFDATA2LSB");
}

TEST_F(ElfLoaderTest, RefusesAnotherVersion)
{
    edit_header(file_, [](Elf64_Ehdr& h) { h.e_version = 2; });
    expect_refused("EV_CURRENT");
}

TEST_F(ElfLoaderTest, RefusesAnotherMachine)
{
    edit_header(file_, [](Elf64_Ehdr& h) { h.e_machine = EM_AARCH64; });
    expect_refused("machine 183 is not EM_X86_64");
}

TEST_F(ElfLoaderTest, RefusesASharedObject)
{
    edit_header(file_, [](Elf64_Ehdr& h) { h.e_type = ET_DYN; });
    expect_refused("not ET_EXEC");
}

TEST_F(ElfLoaderTest, RefusesAWrongProgramHeaderSize)
{
    edit_header(file_, [](Elf64_Ehdr& h) { h.e_phentsize = 32; });
    expect_refused("program header size 32");
}

TEST_F(ElfLoaderTest, RefusesNoProgramHeaders)
{
    edit_header(file_, [](Elf64_Ehdr& h) { h.e_phnum = 0; });
    expect_refused("no program headers");
}

TEST_F(ElfLoaderTest, RefusesHugePhnum)
{
    edit_header(file_, [](Elf64_Ehdr& h) { h.e_phnum = PN_XNUM; });
    expect_refused("65535 program headers, at most 64");
}

TEST_F(ElfLoaderTest, RefusesAProgramHeaderTablePastTheEnd)
{
    edit_header(file_, [this](Elf64_Ehdr& h) { h.e_phoff = file_.size() - 8; });
    expect_refused("program header table");
}

TEST_F(ElfLoaderTest, RefusesAProgramHeaderTableOffsetThatWraps)
{
    edit_header(file_, [](Elf64_Ehdr& h) { h.e_phoff = ~0ULL - 16; });
    expect_refused("program header table");
}

TEST_F(ElfLoaderTest, RefusesASegmentPastTheEndOfTheFile)
{
    edit_phdr(file_, 1, [](Elf64_Phdr& ph) { ph.p_filesz = ph.p_memsz = 0x1000; });
    expect_refused("program header 1 (PT_LOAD): file bytes");
}

TEST_F(ElfLoaderTest, RefusesASegmentOffsetThatWraps)
{
    edit_phdr(file_, 0, [](Elf64_Phdr& ph) { ph.p_offset = ~0ULL - 8; });
    expect_refused("run past the end of the file");
}

TEST_F(ElfLoaderTest, RefusesFileszAboveMemsz)
{
    edit_phdr(file_, 1, [](Elf64_Phdr& ph) { ph.p_memsz = ph.p_filesz - 1; });
    expect_refused("exceeds p_memsz");
}

TEST_F(ElfLoaderTest, RefusesASegmentPastTheEndOfRam)
{
    edit_phdr(file_, 1, [](Elf64_Phdr& ph) { ph.p_paddr = kRamSize - 0x20; });
    expect_refused("past the end of RAM");
}

TEST_F(ElfLoaderTest, RefusesASegmentAddressThatWraps)
{
    edit_phdr(file_, 1, [](Elf64_Phdr& ph) {
        ph.p_paddr = ~0ULL - 8;
        ph.p_memsz = 0x20;
    });
    expect_refused("past the end of RAM");
}

TEST_F(ElfLoaderTest, RefusesASegmentInTheBootArea)
{
    edit_phdr(file_, 1, [](Elf64_Phdr& ph) { ph.p_paddr = kPml4Gpa; });
    expect_refused("overlap the loader's boot area");
}

TEST_F(ElfLoaderTest, RefusesASegmentEndingInTheBootArea)
{
    edit_phdr(file_, 1, [](Elf64_Phdr& ph) { ph.p_paddr = kReservedBegin - 0x10; });
    expect_refused("overlap the loader's boot area");
}

TEST_F(ElfLoaderTest, RefusesOverlappingSegments)
{
    edit_phdr(file_, 1, [](Elf64_Phdr& ph) { ph.p_paddr = kTextGpa + 0x20; });
    expect_refused("PT_LOAD program headers 0 and 1 overlap");
}

TEST_F(ElfLoaderTest, RefusesAnEntryOutsideEverySegment)
{
    edit_header(file_, [](Elf64_Ehdr& h) { h.e_entry = 0x180000; });
    expect_refused("entry point 0x180000");
}

TEST_F(ElfLoaderTest, RefusesAnEntryInBss)
{
    file_ = make_elf(kTextGpa + 0x80, {{kTextGpa, sequence(0x40, 1), 0x100, PF_R | PF_X}});
    expect_refused("entry point");
}

TEST_F(ElfLoaderTest, RefusesAnEntryInDataThatIsNotExecutable)
{
    edit_header(file_, [](Elf64_Ehdr& h) { h.e_entry = kDataGpa; });
    expect_refused("not in the file bytes of an executable PT_LOAD");
}

TEST_F(ElfLoaderTest, RefusesAFileWithoutLoadSegments)
{
    file_ = make_elf(kEntry, {{kTextGpa, sequence(0x40, 1), 0x40, PF_R | PF_X, PT_NOTE}});
    expect_refused("no PT_LOAD segment");
}

TEST_F(ElfLoaderTest, RefusesACommandLineTooLong)
{
    const std::string cmdline(kCmdlineMax, 'x');
    expect_refused("command line is 2048 bytes, at most 2047", {.cmdline = cmdline});
}

TEST_F(ElfLoaderTest, RefusesACommandLineWithANul)
{
    const std::string cmdline("a\0b", 3);
    expect_refused("NUL", {.cmdline = cmdline});
}

TEST_F(ElfLoaderTest, RefusesAStackTopInsideTheImage)
{
    expect_refused("overlaps image bytes", {.stack_top = kTextGpa + 0x20});
}

TEST_F(ElfLoaderTest, RefusesAnUnalignedStackTop)
{
    expect_refused("not 16-byte aligned", {.stack_top = 0x300008});
}

TEST_F(ElfLoaderTest, RefusesAStackTopPastRam)
{
    expect_refused("past the end of RAM", {.stack_top = kRamSize + 0x1000});
}

TEST_F(ElfLoaderTest, RefusesAnImageLeavingNoRoomForTheDefaultStack)
{
    file_ = make_elf(kReservedEnd, {{kReservedEnd, sequence(0x40, 1), 0x40, PF_R | PF_X}});
    expect_refused("no room for a stack below the image");
}

// Guest RAM above 4 GiB exists, but the boot page tables do not reach it.
TEST(ElfLoaderBigRamTest, RefusesASegmentAbove4GiB)
{
    const size_t size = (4ULL << 30) + (4 << 20);
    void* mem = mmap(nullptr, size, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    ASSERT_NE(mem, MAP_FAILED);
    const std::span<uint8_t> ram(static_cast<uint8_t*>(mem), size);
    const uint64_t gpa = 4ULL << 30;
    const std::vector<uint8_t> file = make_elf(gpa, {{gpa, sequence(0x40, 1), 0x40, PF_R | PF_X}});
    const Result<BootState> r = load_elf64(file, ram, {});
    munmap(mem, size);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().find("out of reach at entry"), std::string::npos) << r.error();
}

}  // namespace
}  // namespace vmruntime::loader
