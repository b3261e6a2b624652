// SPDX-License-Identifier: BSD-2-Clause
#include "guest_images.h"

#include <elf.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iterator>

namespace vmruntime::runtime_test {
namespace {

constexpr uint64_t kHelloMemory = 2ULL << 20;
constexpr uint64_t kFlatMemory = 4ULL << 20;

template <typename T>
std::optional<T> read_at(std::span<const uint8_t> bytes, uint64_t offset)
{
    if (offset > bytes.size() || bytes.size() - offset < sizeof(T)) {
        return std::nullopt;
    }
    T value;
    std::memcpy(&value, bytes.data() + offset, sizeof value);
    return value;
}

std::optional<Elf64_Ehdr> elf_header(std::span<const uint8_t> elf)
{
    auto ehdr = read_at<Elf64_Ehdr>(elf, 0);
    if (!ehdr || std::memcmp(ehdr->e_ident, ELFMAG, SELFMAG) != 0 ||
        ehdr->e_ident[EI_CLASS] != ELFCLASS64) {
        return std::nullopt;
    }
    return ehdr;
}

std::optional<Elf64_Shdr> section(std::span<const uint8_t> elf, const Elf64_Ehdr& ehdr, unsigned i)
{
    if (i >= ehdr.e_shnum) {
        return std::nullopt;
    }
    return read_at<Elf64_Shdr>(elf, ehdr.e_shoff + uint64_t{i} * ehdr.e_shentsize);
}

std::string_view string_at(std::span<const uint8_t> elf, const Elf64_Shdr& strtab, uint32_t index)
{
    if (index >= strtab.sh_size || strtab.sh_offset + strtab.sh_size > elf.size()) {
        return {};
    }
    const char* begin = reinterpret_cast<const char*>(elf.data() + strtab.sh_offset + index);
    return {begin, strnlen(begin, strtab.sh_size - index)};
}

std::optional<uint64_t> find_in_symtab(std::span<const uint8_t> elf, const Elf64_Shdr& symtab,
                                       const Elf64_Shdr& strtab, std::string_view name)
{
    for (uint64_t off = 0; off + sizeof(Elf64_Sym) <= symtab.sh_size; off += sizeof(Elf64_Sym)) {
        auto sym = read_at<Elf64_Sym>(elf, symtab.sh_offset + off);
        if (!sym) {
            return std::nullopt;
        }
        if (sym->st_name != 0 && string_at(elf, strtab, sym->st_name) == name) {
            return sym->st_value;
        }
    }
    return std::nullopt;
}

}  // namespace

std::vector<uint8_t> snippet_bytes(const uint8_t* begin, const uint8_t* end)
{
    return {begin, end};
}

const std::vector<uint8_t>& hello_image()
{
    static const std::vector<uint8_t> image = [] {
        std::ifstream file(VMRUNTIME_HELLO_ELF, std::ios::binary);
        return std::vector<uint8_t>(std::istreambuf_iterator<char>(file),
                                    std::istreambuf_iterator<char>());
    }();
    return image;
}

runtime::MachineSpec hello_spec(const std::string& name, const std::string& cmdline)
{
    runtime::MachineSpec spec;
    spec.name = name;
    spec.memory_bytes = kHelloMemory;
    spec.image = hello_image();
    spec.format = runtime::ImageFormat::Elf64;
    spec.cmdline = cmdline;
    return spec;
}

runtime::MachineSpec flat_spec(const std::string& name, std::vector<uint8_t> image)
{
    runtime::MachineSpec spec;
    spec.name = name;
    spec.memory_bytes = kFlatMemory;
    spec.image = std::move(image);
    spec.format = runtime::ImageFormat::FlatLong;
    spec.load_address = kFlatLoadAddress;
    return spec;
}

std::optional<AddressRange> elf_code_range(std::span<const uint8_t> elf)
{
    auto ehdr = elf_header(elf);
    if (!ehdr) {
        return std::nullopt;
    }
    std::optional<AddressRange> range;
    for (unsigned i = 0; i < ehdr->e_phnum; i++) {
        auto phdr = read_at<Elf64_Phdr>(elf, ehdr->e_phoff + uint64_t{i} * ehdr->e_phentsize);
        if (!phdr || phdr->p_type != PT_LOAD || !(phdr->p_flags & PF_X)) {
            continue;
        }
        AddressRange r{phdr->p_vaddr, phdr->p_vaddr + phdr->p_memsz};
        range = range ? AddressRange{std::min(range->begin, r.begin), std::max(range->end, r.end)} : r;
    }
    return range;
}

std::optional<uint64_t> elf_symbol(std::span<const uint8_t> elf, std::string_view name)
{
    auto ehdr = elf_header(elf);
    if (!ehdr) {
        return std::nullopt;
    }
    for (unsigned i = 0; i < ehdr->e_shnum; i++) {
        auto symtab = section(elf, *ehdr, i);
        if (!symtab || symtab->sh_type != SHT_SYMTAB) {
            continue;
        }
        auto strtab = section(elf, *ehdr, symtab->sh_link);
        if (!strtab) {
            return std::nullopt;
        }
        return find_in_symtab(elf, *symtab, *strtab, name);
    }
    return std::nullopt;
}

}  // namespace vmruntime::runtime_test
