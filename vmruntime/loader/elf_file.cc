// SPDX-License-Identifier: BSD-2-Clause
//
// ELF64 parsing.  Field and constant names are those of <elf.h> (the System
// V gABI and the x86-64 psABI).  Headers are copied out of the file before
// use, so a file buffer of any alignment is fine.
#include "vmruntime/loader/elf_file.h"

#include <cstring>
#include <string>

#include "vmruntime/loader/boot_area.h"

namespace vmruntime::loader {
namespace {

Error elf_error(const std::string& what)
{
    return Error{"ELF: " + what};
}

Error segment_error(unsigned index, const char* type, const std::string& what)
{
    return elf_error("program header " + std::to_string(index) + " (" + type + "): " + what);
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

Result<ElfSegment> check_load_segment(const Elf64_Phdr& ph, unsigned index, uint64_t file_size,
                                      uint64_t ram_size)
{
    if (ph.p_filesz > ph.p_memsz) {
        return segment_error(index, "PT_LOAD", "p_filesz " + hex(ph.p_filesz) +
                                                   " exceeds p_memsz " + hex(ph.p_memsz));
    }
    if (!fits(ph.p_offset, ph.p_filesz, file_size)) {
        return segment_error(index, "PT_LOAD", "file bytes at " + hex(ph.p_offset) + ", +" +
                                                   hex(ph.p_filesz) +
                                                   " run past the end of the file (" +
                                                   hex(file_size) + " bytes)");
    }
    const Extent memory{ph.p_paddr, ph.p_memsz};
    if (Status s = check_image_extent(memory, ram_size, Mode::Long64); !s.ok()) {
        return segment_error(index, "PT_LOAD", s.error());
    }
    return ElfSegment{index, ph.p_offset, ph.p_filesz, memory, (ph.p_flags & PF_X) != 0};
}

Status check_disjoint(const std::vector<ElfSegment>& segments)
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

Status read_program_headers(std::span<const uint8_t> file, uint64_t ram_size, ElfFile& elf)
{
    const Elf64_Ehdr& h = elf.header;
    for (unsigned i = 0; i < h.e_phnum; i++) {
        Elf64_Phdr ph;
        std::memcpy(&ph, file.data() + h.e_phoff + i * sizeof ph, sizeof ph);
        if (ph.p_type == PT_NOTE) {
            elf.notes.push_back({i, {ph.p_offset, ph.p_filesz},
                                 fits(ph.p_offset, ph.p_filesz, file.size())});
        }
        if (ph.p_type != PT_LOAD || ph.p_memsz == 0) continue;
        Result<ElfSegment> segment = check_load_segment(ph, i, file.size(), ram_size);
        if (!segment.ok()) return Error{segment.error()};
        elf.segments.push_back(segment.value());
    }
    if (elf.segments.empty()) return elf_error("no PT_LOAD segment with memory");
    return check_disjoint(elf.segments);
}

uint64_t align4(uint64_t n)
{
    return (n + 3) & ~uint64_t{3};
}

}  // namespace

bool has_elf_magic(std::span<const uint8_t> file)
{
    return file.size() >= SELFMAG && std::memcmp(file.data(), ELFMAG, SELFMAG) == 0;
}

Result<ElfFile> parse_elf64(std::span<const uint8_t> file, uint64_t ram_size)
{
    ElfFile elf{};
    if (file.size() < sizeof elf.header) {
        return elf_error("file is " + std::to_string(file.size()) + " bytes, shorter than the " +
                         std::to_string(sizeof elf.header) + "-byte ELF64 header");
    }
    std::memcpy(&elf.header, file.data(), sizeof elf.header);
    if (Status s = check_ident(elf.header); !s.ok()) return Error{s.error()};
    if (Status s = check_program_header_table(elf.header, file.size()); !s.ok()) {
        return Error{s.error()};
    }
    if (Status s = read_program_headers(file, ram_size, elf); !s.ok()) return Error{s.error()};
    return elf;
}

// Notes are n_namesz, n_descsz, n_type, then the name and the descriptor,
// each padded to 4 bytes.  A name's size counts its NUL.
Result<std::optional<std::span<const uint8_t>>> find_note(std::span<const uint8_t> file,
                                                          const ElfFile& elf,
                                                          std::string_view name, uint32_t type)
{
    for (const ElfNotes& n : elf.notes) {
        if (!n.in_file) {
            return segment_error(n.index, "PT_NOTE", "runs past the end of the file");
        }
        const Extent& segment = n.bytes;
        const std::span<const uint8_t> notes = file.subspan(segment.begin, segment.size);
        uint64_t at = 0;
        while (at < notes.size()) {
            Elf64_Nhdr nh;
            if (!fits(at, sizeof nh, notes.size())) return elf_error("truncated note header");
            std::memcpy(&nh, notes.data() + at, sizeof nh);
            const uint64_t name_at = at + sizeof nh;
            const uint64_t desc_at = name_at + align4(nh.n_namesz);
            if (!fits(name_at, align4(nh.n_namesz), notes.size()) ||
                !fits(desc_at, nh.n_descsz, notes.size())) {
                return elf_error("note at file offset " + hex(segment.begin + at) +
                                 " runs past its PT_NOTE segment");
            }
            const auto* note_name = reinterpret_cast<const char*>(notes.data() + name_at);
            if (nh.n_type == type && nh.n_namesz == name.size() + 1 &&
                std::string_view(note_name, name.size()) == name && note_name[name.size()] == 0) {
                return std::optional(notes.subspan(desc_at, nh.n_descsz));
            }
            at = desc_at + align4(nh.n_descsz);
        }
    }
    return std::optional<std::span<const uint8_t>>();
}

std::vector<Extent> segment_extents(const ElfFile& elf)
{
    std::vector<Extent> extents;
    for (const ElfSegment& s : elf.segments) extents.push_back(s.memory);
    return extents;
}

void copy_segments(std::span<const uint8_t> file, std::span<uint8_t> ram, const ElfFile& elf, bool ram_is_zero)
{
    for (const ElfSegment& s : elf.segments) {
        uint8_t* dst = ram.data() + s.memory.begin;
        if (s.filesz != 0) std::memcpy(dst, file.data() + s.offset, s.filesz);
        if (!ram_is_zero) std::memset(dst + s.filesz, 0, s.memory.size - s.filesz);
    }
}

}  // namespace vmruntime::loader
