// SPDX-License-Identifier: BSD-2-Clause
//
// Flat binary loader: the image is copied as is to a chosen GPA and entered
// at its first byte, in real mode (CS:IP = load_gpa / 16 : 0), 32-bit
// protected mode (flat segments, paging off) or 64-bit long mode (flat
// segments, identity-mapped 2 MiB pages).
#pragma once

#include <cstdint>
#include <span>

#include "vmruntime/loader/boot_state.h"
#include "vmruntime/loader/loader.h"

namespace vmruntime::loader {

// Copies `image` to RAM at `load_gpa` and writes the boot area.  Refuses an
// empty image, one that does not fit in RAM, overlaps the boot area or ends
// out of reach of `mode`, and in real mode a load_gpa not 16-byte aligned.
Result<BootState> load_flat(std::span<const uint8_t> image, std::span<uint8_t> ram, Mode mode,
                            uint64_t load_gpa, const BootOptions& options);

}  // namespace vmruntime::loader
