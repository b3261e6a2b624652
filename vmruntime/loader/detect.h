// SPDX-License-Identifier: BSD-2-Clause
//
// Which loader an image wants, from its own bytes: a Linux setup header
// makes a bzImage, an ELF with the PVH note a PVH kernel, any other ELF an
// ELF64 executable.  Flat binaries carry no signature: they are never
// detected, only named.
#pragma once

#include <cstdint>
#include <span>

namespace vmruntime::loader {

enum class ImageKind { Bzimage, Pvh, Elf64, Unknown };

ImageKind detect_image(std::span<const uint8_t> file);
const char* to_string(ImageKind kind);

}  // namespace vmruntime::loader
