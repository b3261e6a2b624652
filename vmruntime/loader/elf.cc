// SPDX-License-Identifier: BSD-2-Clause
//
// ELF64 loader.  Field and constant names are those of <elf.h> (the System V
// gABI and the x86-64 psABI).  Headers are copied out of the file before
// use, so a file buffer of any alignment is fine.  Errors start with "ELF: ".
#include "vmruntime/loader/elf.h"

#include <elf.h>

#include <cstring>
#include <string>
#include <vector>

#include "vmruntime/loader/boot_area.h"
#include "vmruntime/loader/guest_ram.h"

namespace vmruntime::loader {
namespace {

struct LoadSegment {
    unsigned index;  // in the program header table
    uint64_t offset;
    uint64_t filesz;
    Extent memory;  // p_paddr, p_memsz
    bool executable;
};

Error elf_error(const std::string& what)
{
    return Error{"ELF: " + what};
}

Error segment_error(unsigned index, const std::string& what)
{
    return elf_error("program header " + std::to_string(index) + " (PT_LOAD): " + what);
}

Status check_ident(const Elf64_Ehdr& h)
{
    if (std::memcmp(h.e_ident, ELFMAG, SELFMAG) != 0) {
        return elf_error("bad magic, not an ELF file");
    }
    if (h.e_ident[EI_CLASS] != ELFCLASS64) {
        return elf_error("class " + std::to_string(h.e_ident[EI_CLASS]) + " is not ELFCLASS64");
    }
    if (h.e_ident[EI_DATA] != ELFDATA2LSB) {
        return elf_error("data encoding " + std::to_string(h.e_ident[EI_DATA]) +
                         " is not ELFDATA2LSB");
    }
    if (h.e_ident[EI_VERSION] != EV_CURRENT || h.e_version != EV_CURRENT) {
        return elf_error("version is not EV_CURRENT");
    }
    if (h.e_machine != EM_X86_64) {
        return elf_error("machine " + std::to_string(h.e_machine) + " is not EM_X86_64");
    }
    if (h.e_type != ET_EXEC) {
        return elf_error("type " + std::to_string(h.e_type) + " is not ET_EXEC");
    }
    return {};
}

Status check_program_header_table(const Elf64_Ehdr& h, uint64_t file_size)
{
    if (h.e_phentsize != sizeof(Elf64_Phdr)) {
        return elf_error("program header size " + std::to_string(h.e_phentsize) + " is not " +
                         std::to_string(sizeof(Elf64_Phdr)));
    }
    if (h.e_phnum == 0) return elf_error("no program headers");
    if (h.e_phnum > kMaxProgramHeaders) {
        return elf_error(std::to_string(h.e_phnum) + " program headers, at most " +
                         std::to_string(kMaxProgramHeaders) + " are supported");
    }
    if (!fits(h.e_phoff, uint64_t{h.e_phnum} * sizeof(Elf64_Phdr), file_size)) {
        return elf_error("program header table at " + hex(h.e_phoff) +
                         " runs past the end of the file (" + hex(file_size) + " bytes)");
    }
    return {};
}

Result<LoadSegment> check_load_segment(const Elf64_Phdr& ph, unsigned index, uint64_t file_size,
                                       uint64_t ram_size)
{
    if (ph.p_filesz > ph.p_memsz) {
        return segment_error(index, "p_filesz " + hex(ph.p_filesz) + " exceeds p_memsz " +
                                        hex(ph.p_memsz));
    }
    if (!fits(ph.p_offset, ph.p_filesz, file_size)) {
        return segment_error(index, "file bytes at " + hex(ph.p_offset) + ", +" +
                                        hex(ph.p_filesz) + " run past the end of the file (" +
                                        hex(file_size) + " bytes)");
    }
    const Extent memory{ph.p_paddr, ph.p_memsz};
    if (Status s = check_image_extent(memory, ram_size, Mode::Long64); !s.ok()) {
        return segment_error(index, s.error());
    }
    return LoadSegment{index, ph.p_offset, ph.p_filesz, memory, (ph.p_flags & PF_X) != 0};
}

Status check_disjoint(const std::vector<LoadSegment>& segments)
{
    for (size_t i = 0; i < segments.size(); i++) {
        for (size_t j = i + 1; j < segments.size(); j++) {
            if (overlaps(segments[i].memory, segments[j].memory)) {
                return elf_error("PT_LOAD program headers " + std::to_string(segments[i].index) +
                                 " and " + std::to_string(segments[j].index) +
                                 " overlap in memory");
            }
        }
    }
    return {};
}

Result<std::vector<LoadSegment>> read_load_segments(std::span<const uint8_t> file,
                                                    const Elf64_Ehdr& h, uint64_t ram_size)
{
    std::vector<LoadSegment> segments;
    for (unsigned i = 0; i < h.e_phnum; i++) {
        Elf64_Phdr ph;
        std::memcpy(&ph, file.data() + h.e_phoff + i * sizeof ph, sizeof ph);
        if (ph.p_type != PT_LOAD || ph.p_memsz == 0) continue;
        Result<LoadSegment> segment = check_load_segment(ph, i, file.size(), ram_size);
        if (!segment.ok()) return Error{segment.error()};
        segments.push_back(segment.value());
    }
    if (segments.empty()) return elf_error("no PT_LOAD segment with memory");
    if (Status s = check_disjoint(segments); !s.ok()) return Error{s.error()};
    return segments;
}

// The entry point must be code the file actually provides, not zeroed bss.
Status check_entry(uint64_t entry, const std::vector<LoadSegment>& segments)
{
    for (const LoadSegment& s : segments) {
        if (s.executable && entry >= s.memory.begin && entry - s.memory.begin < s.filesz) return {};
    }
    return elf_error("entry point " + hex(entry) +
                     " is not in the file bytes of an executable PT_LOAD segment");
}

void copy_segments(std::span<const uint8_t> file, std::span<uint8_t> ram,
                   const std::vector<LoadSegment>& segments)
{
    for (const LoadSegment& s : segments) {
        uint8_t* dst = ram.data() + s.memory.begin;
        if (s.filesz != 0) std::memcpy(dst, file.data() + s.offset, s.filesz);
        std::memset(dst + s.filesz, 0, s.memory.size - s.filesz);
    }
}

}  // namespace

Result<BootState> load_elf64(std::span<const uint8_t> file, std::span<uint8_t> ram,
                             const BootOptions& options)
{
    Elf64_Ehdr h;
    if (file.size() < sizeof h) {
        return elf_error("file is " + std::to_string(file.size()) + " bytes, shorter than the " +
                         std::to_string(sizeof h) + "-byte ELF64 header");
    }
    std::memcpy(&h, file.data(), sizeof h);
    if (Status s = check_ident(h); !s.ok()) return Error{s.error()};
    if (Status s = check_program_header_table(h, file.size()); !s.ok()) return Error{s.error()};
    Result<std::vector<LoadSegment>> segments = read_load_segments(file, h, ram.size());
    if (!segments.ok()) return Error{segments.error()};
    if (Status s = check_entry(h.e_entry, segments.value()); !s.ok()) return Error{s.error()};
    if (Status s = check_boot_area(ram.size(), options.cmdline); !s.ok()) {
        return elf_error(s.error());
    }
    std::vector<Extent> extents;
    for (const LoadSegment& s : segments.value()) extents.push_back(s.memory);
    const Result<uint64_t> stack_top =
        place_stack(options.stack_top, extents, ram.size(), Mode::Long64);
    if (!stack_top.ok()) return elf_error(stack_top.error());

    copy_segments(file, ram, segments.value());
    return write_boot_area(ram, Mode::Long64, h.e_entry, stack_top.value(), options.cmdline);
}

}  // namespace vmruntime::loader
