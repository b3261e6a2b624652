// SPDX-License-Identifier: BSD-2-Clause
//
// The parts of an ELF64 x86-64 executable that the ELF64 and PVH loaders
// share: the checked header, the PT_LOAD segments placed in guest RAM, the
// notes, and the copy into RAM.  Nothing here trusts the file: every offset
// and size is checked before it is used.
#pragma once

#include <elf.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "vmruntime/loader/guest_ram.h"
#include "vmruntime/loader/loader.h"

namespace vmruntime::loader {

// At most this many program headers are accepted (extended numbering,
// PN_XNUM, is not supported).
inline constexpr uint16_t kMaxProgramHeaders = 64;

struct ElfSegment {
    unsigned index;  // in the program header table
    uint64_t offset;
    uint64_t filesz;
    Extent memory;   // p_paddr, p_memsz
    bool executable;
};

struct ElfNotes {
    unsigned index;  // in the program header table
    Extent bytes;    // in the file, unless !in_file
    bool in_file;    // only loaders that read notes care
};

struct ElfFile {
    Elf64_Ehdr header;
    std::vector<ElfSegment> segments;  // PT_LOAD with memory, in table order
    std::vector<ElfNotes> notes;       // PT_NOTE
};

// Whether `file` starts with the ELF magic (whatever else it holds).
bool has_elf_magic(std::span<const uint8_t> file);

// Parses and checks `file`.  Refuses, with a message starting "ELF: " that
// names the field at fault: a short or non-ELF64/x86-64/ET_EXEC header, a
// program header table outside the file or of the wrong entry size, a
// PT_LOAD whose file bytes are outside the file, whose filesz exceeds
// memsz, whose memory is outside RAM, above 4 GiB, in the boot area or
// shared with another PT_LOAD.
Result<ElfFile> parse_elf64(std::span<const uint8_t> file, uint64_t ram_size);

// The descriptor of the first note called `name` of `type`, if any.
// Refuses a PT_NOTE outside the file and a note whose header, name or
// descriptor runs past its PT_NOTE.
Result<std::optional<std::span<const uint8_t>>> find_note(std::span<const uint8_t> file,
                                                          const ElfFile& elf,
                                                          std::string_view name, uint32_t type);

// The segments' memory extents, for stack placement.
std::vector<Extent> segment_extents(const ElfFile& elf);

// Copies each segment's file bytes and zeroes the rest of its memory, unless
// `ram_is_zero` says it is zero already (BootOptions).
void copy_segments(std::span<const uint8_t> file, std::span<uint8_t> ram, const ElfFile& elf, bool ram_is_zero);

}  // namespace vmruntime::loader
