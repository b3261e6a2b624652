// SPDX-License-Identifier: BSD-2-Clause
//
// PVH loader.  The boot information page holds hvm_start_info, then the
// module list (the initrd), then the memory map.
#include "vmruntime/loader/pvh.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "vmruntime/loader/boot_area.h"
#include "vmruntime/loader/elf_file.h"
#include "vmruntime/loader/guest_ram.h"
#include "vmruntime/loader/linux_boot.h"

namespace vmruntime::loader {
namespace {

constexpr std::string_view kXenNoteName = "Xen";

// hvm_start_info
constexpr uint64_t kStartMagic = 0x00;
constexpr uint64_t kStartVersion = 0x04;
constexpr uint64_t kStartNrModules = 0x0C;
constexpr uint64_t kStartModlistPaddr = 0x10;
constexpr uint64_t kStartCmdlinePaddr = 0x18;
constexpr uint64_t kStartMemmapPaddr = 0x28;
constexpr uint64_t kStartMemmapEntries = 0x30;
constexpr uint32_t kStartInfoVersion = 1;  // the first with the memory map
// hvm_modlist_entry and hvm_memmap_table_entry, where they go in the page
constexpr uint64_t kModlistOffset = 0x40;
constexpr uint64_t kMemmapOffset = 0x80;
constexpr uint64_t kMemmapEntrySize = 24;
constexpr uint64_t kMaxMemmapEntries = (kBootInfoSize - kMemmapOffset) / kMemmapEntrySize;
constexpr uint64_t k4GiB = 1ULL << 32;

Error pvh_error(const std::string& what)
{
    return Error{"PVH: " + what};
}

Result<uint64_t> read_entry(std::span<const uint8_t> file, const ElfFile& elf)
{
    auto note = find_note(file, elf, kXenNoteName, kXenElfnotePhys32Entry);
    if (!note.ok()) return pvh_error(note.error());
    if (!note.value()) return pvh_error("no XEN_ELFNOTE_PHYS32_ENTRY note");
    const std::span<const uint8_t> desc = *note.value();
    uint64_t entry = 0;
    if (desc.size() == 4) {
        uint32_t e32;
        std::memcpy(&e32, desc.data(), 4);
        entry = e32;
    } else if (desc.size() == 8) {
        std::memcpy(&entry, desc.data(), 8);
    } else {
        return pvh_error("XEN_ELFNOTE_PHYS32_ENTRY note is " + std::to_string(desc.size()) +
                         " bytes, not 4 or 8");
    }
    if (entry >= k4GiB) return pvh_error("entry point " + hex(entry) + " is above 4 GiB");
    for (const ElfSegment& s : elf.segments) {
        if (s.executable && entry >= s.memory.begin && entry - s.memory.begin < s.filesz) {
            return entry;
        }
    }
    return pvh_error("entry point " + hex(entry) +
                     " is not in the file bytes of an executable PT_LOAD segment");
}

uint64_t kernel_end(const ElfFile& elf)
{
    uint64_t end = 0;
    for (const ElfSegment& s : elf.segments) end = std::max(end, s.memory.begin + s.memory.size);
    return end;
}

void write_start_info(std::span<uint8_t> ram, uint64_t initrd_gpa, uint64_t initrd_size)
{
    std::span<uint8_t> page = ram.subspan(kBootInfoGpa, kBootInfoSize);
    std::fill(page.begin(), page.end(), 0);
    store<uint32_t>(page, kStartMagic, kHvmStartMagic);
    store<uint32_t>(page, kStartVersion, kStartInfoVersion);
    store<uint64_t>(page, kStartCmdlinePaddr, kCmdlineGpa);
    if (initrd_size != 0) {
        store<uint32_t>(page, kStartNrModules, 1);
        store<uint64_t>(page, kStartModlistPaddr, kBootInfoGpa + kModlistOffset);
        store<uint64_t>(page, kModlistOffset, initrd_gpa);
        store<uint64_t>(page, kModlistOffset + 8, initrd_size);
    }
    const std::vector<MemoryRegion> map = memory_map(ram.size());
    const size_t n = std::min<size_t>(map.size(), kMaxMemmapEntries);
    for (size_t i = 0; i < n; i++) {
        const uint64_t at = kMemmapOffset + i * kMemmapEntrySize;
        store(page, at, map[i].begin);
        store(page, at + 8, map[i].size);
        store(page, at + 16, map[i].type);
    }
    store<uint64_t>(page, kStartMemmapPaddr, kBootInfoGpa + kMemmapOffset);
    store<uint32_t>(page, kStartMemmapEntries, static_cast<uint32_t>(n));
}

}  // namespace

bool has_pvh_note(std::span<const uint8_t> file)
{
    if (!has_elf_magic(file)) return false;
    Result<ElfFile> elf = parse_elf64(file, k4GiB);
    if (!elf.ok()) return false;
    auto note = find_note(file, elf.value(), kXenNoteName, kXenElfnotePhys32Entry);
    return !note.ok() || note.value().has_value();
}

Result<BootState> load_pvh(std::span<const uint8_t> file, std::span<uint8_t> ram,
                           const BootOptions& options)
{
    Result<ElfFile> parsed = parse_elf64(file, ram.size());
    if (!parsed.ok()) return Error{parsed.error()};
    const ElfFile& elf = parsed.value();
    Result<uint64_t> entry = read_entry(file, elf);
    if (!entry.ok()) return Error{entry.error()};
    if (Status s = check_boot_area(ram.size(), options.cmdline); !s.ok()) return pvh_error(s.error());
    uint64_t initrd_gpa = 0;
    if (!options.initrd.empty()) {
        Result<uint64_t> at = place_initrd(options.initrd.size(), ram.size(), k4GiB - 1,
                                           kernel_end(elf));
        if (!at.ok()) return pvh_error(at.error());
        initrd_gpa = at.value();
    }
    const std::vector<Extent> extents = segment_extents(elf);
    const Result<uint64_t> stack_top =
        place_stack(options.stack_top, extents, ram.size(), Mode::Protected32);
    if (!stack_top.ok()) return pvh_error(stack_top.error());

    copy_segments(file, ram, elf, options.ram_is_zero);
    if (!options.initrd.empty()) {
        std::memcpy(ram.data() + initrd_gpa, options.initrd.data(), options.initrd.size());
    }
    write_start_info(ram, initrd_gpa, options.initrd.size());
    BootState s = write_boot_area(ram, Mode::Protected32, entry.value(), stack_top.value(),
                                  options.cmdline);
    s.rbx = kBootInfoGpa;
    return s;
}

}  // namespace vmruntime::loader
