// SPDX-License-Identifier: BSD-2-Clause
//
// ELF64 loader.  Errors start with "ELF: ".
#include "vmruntime/loader/elf.h"

#include "vmruntime/loader/boot_area.h"
#include "vmruntime/loader/elf_file.h"
#include "vmruntime/loader/guest_ram.h"

namespace vmruntime::loader {
namespace {

Error elf_error(const std::string& what)
{
    return Error{"ELF: " + what};
}

// The entry point must be code the file actually provides, not zeroed bss.
Status check_entry(uint64_t entry, const std::vector<ElfSegment>& segments)
{
    for (const ElfSegment& s : segments) {
        if (s.executable && entry >= s.memory.begin && entry - s.memory.begin < s.filesz) return {};
    }
    return elf_error("entry point " + hex(entry) +
                     " is not in the file bytes of an executable PT_LOAD segment");
}

}  // namespace

Result<BootState> load_elf64(std::span<const uint8_t> file, std::span<uint8_t> ram,
                             const BootOptions& options)
{
    Result<ElfFile> parsed = parse_elf64(file, ram.size());
    if (!parsed.ok()) return Error{parsed.error()};
    const ElfFile& elf = parsed.value();
    if (Status s = check_entry(elf.header.e_entry, elf.segments); !s.ok()) return Error{s.error()};
    if (Status s = check_boot_area(ram.size(), options.cmdline); !s.ok()) {
        return elf_error(s.error());
    }
    const std::vector<Extent> extents = segment_extents(elf);
    const Result<uint64_t> stack_top =
        place_stack(options.stack_top, extents, ram.size(), Mode::Long64);
    if (!stack_top.ok()) return elf_error(stack_top.error());

    copy_segments(file, ram, elf, options.ram_is_zero);
    return write_boot_area(ram, Mode::Long64, elf.header.e_entry, stack_top.value(),
                           options.cmdline);
}

}  // namespace vmruntime::loader
