// SPDX-License-Identifier: BSD-2-Clause
//
// Builds ELF64 files in memory for the loader tests, from <elf.h> structs:
// the header, then the program header table, then each segment's file bytes.
// Tests corrupt the result with edit_header / edit_phdr.
#pragma once

#include <elf.h>

#include <cstdint>
#include <cstring>
#include <vector>

namespace vmruntime::loader::test {

struct TestSegment {
    uint64_t paddr;
    std::vector<uint8_t> bytes;  // p_filesz = bytes.size()
    uint64_t memsz;
    uint32_t flags;  // PF_R | PF_W | PF_X
    uint32_t type = PT_LOAD;
};

inline std::vector<uint8_t> make_elf(uint64_t entry, const std::vector<TestSegment>& segments)
{
    Elf64_Ehdr h{};
    std::memcpy(h.e_ident, ELFMAG, SELFMAG);
    h.e_ident[EI_CLASS] = ELFCLASS64;
    h.e_ident[EI_DATA] = ELFDATA2LSB;
    h.e_ident[EI_VERSION] = EV_CURRENT;
    h.e_type = ET_EXEC;
    h.e_machine = EM_X86_64;
    h.e_version = EV_CURRENT;
    h.e_entry = entry;
    h.e_phoff = sizeof h;
    h.e_ehsize = sizeof h;
    h.e_phentsize = sizeof(Elf64_Phdr);
    h.e_phnum = static_cast<uint16_t>(segments.size());

    std::vector<uint8_t> file(sizeof h + segments.size() * sizeof(Elf64_Phdr));
    std::memcpy(file.data(), &h, sizeof h);
    for (size_t i = 0; i < segments.size(); i++) {
        const TestSegment& s = segments[i];
        Elf64_Phdr ph{};
        ph.p_type = s.type;
        ph.p_flags = s.flags;
        ph.p_offset = file.size();
        ph.p_vaddr = ph.p_paddr = s.paddr;
        ph.p_filesz = s.bytes.size();
        ph.p_memsz = s.memsz;
        ph.p_align = 0x1000;
        std::memcpy(file.data() + sizeof h + i * sizeof ph, &ph, sizeof ph);
        file.insert(file.end(), s.bytes.begin(), s.bytes.end());
    }
    return file;
}

template <typename Edit>
void edit_header(std::vector<uint8_t>& file, Edit edit)
{
    Elf64_Ehdr h;
    std::memcpy(&h, file.data(), sizeof h);
    edit(h);
    std::memcpy(file.data(), &h, sizeof h);
}

template <typename Edit>
void edit_phdr(std::vector<uint8_t>& file, size_t index, Edit edit)
{
    Elf64_Phdr ph;
    uint8_t* at = file.data() + sizeof(Elf64_Ehdr) + index * sizeof ph;
    std::memcpy(&ph, at, sizeof ph);
    edit(ph);
    std::memcpy(at, &ph, sizeof ph);
}

}  // namespace vmruntime::loader::test
