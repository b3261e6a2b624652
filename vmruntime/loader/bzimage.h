// SPDX-License-Identifier: BSD-2-Clause
//
// Linux bzImage loader through the 64-bit boot protocol
// (Documentation/x86/boot.rst): the setup header is checked (boot flag,
// "HdrS", protocol 2.12 or later, a bzImage that has a 64-bit entry), the
// protected-mode kernel is copied to its preferred address, the zero page
// (boot_params) at kBootInfoGpa gets the header, the e820 map, the command
// line and the initrd, and the boot vCPU enters startup_64 (load address +
// 0x200) in long mode on the loader's identity page tables and flat GDT
// (__BOOT_CS 0x10, __BOOT_DS 0x18), RSI pointing at the zero page.
#pragma once

#include <cstdint>
#include <span>

#include "vmruntime/loader/boot_state.h"
#include "vmruntime/loader/loader.h"

namespace vmruntime::loader {

// The setup header's signature at offset 0x202, "HdrS".
inline constexpr uint32_t kSetupHeaderMagic = 0x53726448;
// Protocol 2.12 added xloadflags, which says whether there is a 64-bit entry.
inline constexpr uint16_t kMinBootProtocol = 0x020C;

// Whether `file` carries a setup header signature (whatever else it holds).
bool has_setup_header(std::span<const uint8_t> file);

// Loads `file` and options.initrd into `ram`.  Refuses, with a message
// starting "bzImage: " that names the field at fault: a file too short for
// its setup header or its setup sectors, a wrong boot flag or signature, a
// protocol older than 2.12, no LOADED_HIGH or no XLF_KERNEL_64, a kernel
// whose memory (init_size) does not fit in RAM above the boot area, a
// command line longer than the kernel takes, and an initrd that does not
// fit between the kernel and initrd_addr_max.
Result<BootState> load_bzimage(std::span<const uint8_t> file, std::span<uint8_t> ram,
                               const BootOptions& options);

}  // namespace vmruntime::loader
