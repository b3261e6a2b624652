// SPDX-License-Identifier: BSD-2-Clause
//
// What the two Linux entry paths (the boot protocol's bzImage and PVH)
// share: the machine's memory map as Linux is told it, where the initrd goes
// and the command-line rules.  The machine's RAM is one block from GPA 0;
// the map carves out what a PC has there that is not RAM (the top of
// conventional memory and the BIOS area below 1 MiB).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "vmruntime/loader/guest_ram.h"
#include "vmruntime/loader/loader.h"

namespace vmruntime::loader {

// e820 / hvm_memmap_table_entry types.
inline constexpr uint32_t kMemoryRam = 1;
inline constexpr uint32_t kMemoryReserved = 2;

// Conventional memory ends where a PC's EBDA starts; 0xA0000-0xEFFFF (VGA
// and option ROMs) is a hole; 0xF0000-0xFFFFF is the BIOS.
inline constexpr uint64_t kConventionalEnd = 0x9FC00;
inline constexpr uint64_t kEbdaEnd = 0xA0000;
inline constexpr uint64_t kBiosBegin = 0xF0000;
inline constexpr uint64_t kHighMemory = 0x100000;

struct MemoryRegion {
    uint64_t begin;
    uint64_t size;
    uint32_t type;
};

// The map of a machine with `ram_size` bytes of RAM, in address order.
std::vector<MemoryRegion> memory_map(uint64_t ram_size);

// The GPA for an initrd of `size` bytes: page-aligned, as high as RAM and
// `last_byte` (the highest address it may occupy) allow, and at or above
// `floor` (the end of the kernel's memory).  Refuses an empty initrd and one
// that does not fit, saying how much room there was.
Result<uint64_t> place_initrd(uint64_t size, uint64_t ram_size, uint64_t last_byte,
                              uint64_t floor);

// Whether the command line fits both the boot area and `kernel_max` bytes
// (the kernel's own limit, the NUL not counted).
Status check_linux_cmdline(std::string_view cmdline, uint64_t kernel_max);

}  // namespace vmruntime::loader
