// SPDX-License-Identifier: BSD-2-Clause
//
// The part of loading that does not depend on the image format: where image
// bytes and the stack may go, and the reserved low memory (GDT, page tables,
// command line) that every loader writes before handing over a BootState.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "vmruntime/loader/boot_state.h"
#include "vmruntime/loader/guest_ram.h"
#include "vmruntime/loader/loader.h"

namespace vmruntime::loader {

// Whether image bytes at `extent` are in RAM, clear of the reserved area and
// reachable from `mode` at entry (1 MiB in real mode, otherwise the 4 GiB
// the boot GDT and page tables cover).
Status check_image_extent(Extent extent, uint64_t ram_size, Mode mode);

// Whether RAM holds the reserved area and the command line fits it.
Status check_boot_area(uint64_t ram_size, std::string_view cmdline);

// The stack top: `requested`, or just below the image when it is 0.  The
// kMinStackSize bytes under it must be RAM above the reserved area, clear
// of the image and reachable from `mode`.
Result<uint64_t> place_stack(uint64_t requested, std::span<const Extent> image,
                             uint64_t ram_size, Mode mode);

// Writes the GDT, page tables and command line and returns the state that
// enters `mode` at `entry` with the given stack.  Preconditions: the checks
// above passed; in Real16 mode `entry` is 16-byte aligned.
BootState write_boot_area(std::span<uint8_t> ram, Mode mode, uint64_t entry,
                          uint64_t stack_top, std::string_view cmdline);

}  // namespace vmruntime::loader
