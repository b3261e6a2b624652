// SPDX-License-Identifier: BSD-2-Clause
//
// The ELF loader on a real compiler-and-linker product: guests/hello's
// hello.elf (path from the build, VMRUNTIME_HELLO_ELF).
#include <elf.h>
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <vector>

#include "vmruntime/loader/elf.h"

namespace vmruntime::loader {
namespace {

std::vector<uint8_t> read_file(const char* path)
{
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(HelloElfTest, LoadsEverySegmentAtItsPhysicalAddress)
{
    const std::vector<uint8_t> file = read_file(VMRUNTIME_HELLO_ELF);
    ASSERT_GE(file.size(), sizeof(Elf64_Ehdr)) << "cannot read " << VMRUNTIME_HELLO_ELF;
    std::vector<uint8_t> ram(8 << 20, 0xCC);

    const Result<BootState> r = load_elf64(file, ram, {.cmdline = "hz=50 ticks=10"});
    ASSERT_TRUE(r.ok()) << r.error();

    Elf64_Ehdr h;
    std::memcpy(&h, file.data(), sizeof h);
    EXPECT_EQ(r.value().rip, h.e_entry);
    EXPECT_EQ(r.value().mode, Mode::Long64);
    unsigned loads = 0;
    for (unsigned i = 0; i < h.e_phnum; i++) {
        Elf64_Phdr ph;
        std::memcpy(&ph, file.data() + h.e_phoff + i * sizeof ph, sizeof ph);
        if (ph.p_type != PT_LOAD) continue;
        loads++;
        EXPECT_EQ(std::memcmp(ram.data() + ph.p_paddr, file.data() + ph.p_offset, ph.p_filesz), 0)
            << "PT_LOAD " << i;
        for (uint64_t b = ph.p_filesz; b < ph.p_memsz; b++) {
            ASSERT_EQ(ram[ph.p_paddr + b], 0) << "bss of PT_LOAD " << i;
        }
    }
    EXPECT_GE(loads, 1u);
    EXPECT_LE(r.value().rsp, 0x100000u) << "stack below the image at 1 MiB";
}

}  // namespace
}  // namespace vmruntime::loader
