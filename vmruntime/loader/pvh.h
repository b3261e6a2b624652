// SPDX-License-Identifier: BSD-2-Clause
//
// PVH loader: an ELF64 kernel (Linux's vmlinux) with a Xen
// XEN_ELFNOTE_PHYS32_ENTRY note.  PT_LOAD segments go to their physical
// addresses, hvm_start_info (version 1) at kBootInfoGpa names the command
// line, the initrd as module 0 and the memory map, and the boot vCPU enters
// the note's address in 32-bit protected mode with paging off (flat 4 GiB
// segments, a busy TSS), EBX pointing at hvm_start_info.  Layouts follow
// Xen's public arch-x86/hvm/start_info.h.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "vmruntime/loader/boot_state.h"
#include "vmruntime/loader/loader.h"

namespace vmruntime::loader {

inline constexpr uint32_t kXenElfnotePhys32Entry = 18;
inline constexpr uint32_t kHvmStartMagic = 0x336ec578;

// Whether `file` is an ELF64 image carrying the PVH entry note.  A file
// whose ELF headers are broken is not a PVH kernel here: the ELF64 loader
// will say what is wrong with it.
bool has_pvh_note(std::span<const uint8_t> file);

// Loads `file` and options.initrd into `ram`.  Refuses what the ELF64
// loader refuses (messages starting "ELF: "), and with "PVH: " a missing
// or malformed entry note, an entry point above 4 GiB or outside the file
// bytes of an executable segment, and an initrd that does not fit above
// the kernel.
Result<BootState> load_pvh(std::span<const uint8_t> file, std::span<uint8_t> ram,
                           const BootOptions& options);

}  // namespace vmruntime::loader
