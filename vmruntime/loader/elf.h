// SPDX-License-Identifier: BSD-2-Clause
//
// ELF64 loader for x86-64 executables (ET_EXEC): PT_LOAD segments are copied
// to their physical addresses (p_paddr) with the rest of p_memsz zeroed, and
// the boot vCPU enters e_entry in 64-bit long mode on the loader's identity
// page tables and GDT, RSI pointing at the command line.
#pragma once

#include <cstdint>
#include <span>

#include "vmruntime/loader/boot_state.h"
#include "vmruntime/loader/elf_file.h"
#include "vmruntime/loader/loader.h"

namespace vmruntime::loader {

// Loads `file` into `ram`.  Refuses, with a message naming the field at
// fault: a short or non-ELF64/x86-64/ET_EXEC header, a program header table
// outside the file or of the wrong entry size, a PT_LOAD whose file bytes
// are outside the file, whose filesz exceeds memsz, whose memory is outside
// RAM, above 4 GiB, in the boot area or shared with another PT_LOAD, and an
// entry point outside the file bytes of every executable PT_LOAD.
Result<BootState> load_elf64(std::span<const uint8_t> file, std::span<uint8_t> ram,
                             const BootOptions& options);

}  // namespace vmruntime::loader
