// SPDX-License-Identifier: BSD-2-Clause
#include "vmruntime/loader/detect.h"

#include "vmruntime/loader/bzimage.h"
#include "vmruntime/loader/elf_file.h"
#include "vmruntime/loader/pvh.h"

namespace vmruntime::loader {

ImageKind detect_image(std::span<const uint8_t> file)
{
    if (has_setup_header(file)) return ImageKind::Bzimage;
    if (has_pvh_note(file)) return ImageKind::Pvh;
    if (has_elf_magic(file)) return ImageKind::Elf64;
    return ImageKind::Unknown;
}

const char* to_string(ImageKind kind)
{
    switch (kind) {
    case ImageKind::Bzimage: return "bzImage";
    case ImageKind::Pvh: return "PVH";
    case ImageKind::Elf64: return "ELF64";
    case ImageKind::Unknown: break;
    }
    return "unknown";
}

}  // namespace vmruntime::loader
