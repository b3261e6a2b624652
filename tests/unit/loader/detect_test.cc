// SPDX-License-Identifier: BSD-2-Clause
//
// The loader is chosen from the image: a setup header makes a bzImage
// (whatever else the file holds), an ELF with the PVH note a PVH kernel, any
// other ELF an ELF64 image, the rest nothing.
#include "vmruntime/loader/detect.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "linux_image.h"
#include "vmruntime/loader/pvh.h"

namespace vmruntime::loader {
namespace {

using test::le32;
using test::make_elf;
using test::xen_note;

std::vector<uint8_t> elf_with_note(uint32_t type)
{
    std::vector<uint8_t> note = xen_note(type, le32(0x100000));
    return make_elf(0x100000, {{0x100000, std::vector<uint8_t>(16, 0x90), 16, PF_R | PF_X},
                               {0, note, note.size(), PF_R, PT_NOTE}});
}

TEST(DetectTest, EachKindFromItsOwnBytes)
{
    EXPECT_EQ(detect_image(test::make_bzimage(std::vector<uint8_t>(512, 0))), ImageKind::Bzimage);
    EXPECT_EQ(detect_image(elf_with_note(kXenElfnotePhys32Entry)), ImageKind::Pvh);
    EXPECT_EQ(detect_image(elf_with_note(17)), ImageKind::Elf64);
    EXPECT_EQ(detect_image(std::vector<uint8_t>(4096, 0xF4)), ImageKind::Unknown);
    EXPECT_EQ(detect_image({}), ImageKind::Unknown);
}

TEST(DetectTest, BrokenElfHeadersAreStillElf64ForItsLoaderToRefuse)
{
    std::vector<uint8_t> file = elf_with_note(kXenElfnotePhys32Entry);
    test::edit_header(file, [](Elf64_Ehdr& h) { h.e_phentsize = 12; });
    EXPECT_EQ(detect_image(file), ImageKind::Elf64);
}

TEST(DetectTest, NamesForMessages)
{
    EXPECT_STREQ(to_string(ImageKind::Bzimage), "bzImage");
    EXPECT_STREQ(to_string(ImageKind::Pvh), "PVH");
    EXPECT_STREQ(to_string(ImageKind::Elf64), "ELF64");
    EXPECT_STREQ(to_string(ImageKind::Unknown), "unknown");
}

}  // namespace
}  // namespace vmruntime::loader
