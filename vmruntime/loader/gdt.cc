// SPDX-License-Identifier: BSD-2-Clause
//
// Boot GDT: null, null, code, data, so the selectors land where Linux's
// boot protocol wants them.  Descriptors carry the accessed bit already, so
// the CPU never has to write it back into the table.
#include "vmruntime/loader/gdt.h"

#include "vmruntime/loader/guest_ram.h"

namespace vmruntime::loader {
namespace {

constexpr uint8_t kTypeDataReadWriteAccessed = 0x3;
constexpr uint8_t kTypeCodeReadAccessed = 0xB;
constexpr uint8_t kTypeBusyTss = 0xB;
constexpr uint32_t kFlatLimit = 0xFFFFFFFF;
constexpr uint32_t kRealModeSegmentLimit = 0xFFFF;
constexpr uint32_t kTssLimit = 0x67;  // a 64-bit TSS is 104 bytes

}  // namespace

Segment flat_code_segment(Mode mode)
{
    const bool is64 = mode == Mode::Long64;
    return Segment{.selector = kBootCodeSelector, .base = 0, .limit = kFlatLimit,
                   .type = kTypeCodeReadAccessed, .s = true, .dpl = 0, .p = true,
                   .l = is64, .db = !is64, .g = true};
}

Segment flat_data_segment()
{
    return Segment{.selector = kBootDataSelector, .base = 0, .limit = kFlatLimit,
                   .type = kTypeDataReadWriteAccessed, .s = true, .dpl = 0, .p = true,
                   .l = false, .db = true, .g = true};
}

Segment real_mode_segment(uint16_t selector, bool code)
{
    return Segment{.selector = selector, .base = uint64_t{selector} << 4,
                   .limit = kRealModeSegmentLimit,
                   .type = code ? kTypeCodeReadAccessed : kTypeDataReadWriteAccessed,
                   .s = true, .dpl = 0, .p = true, .l = false, .db = false, .g = false};
}

Segment boot_task_register()
{
    return Segment{.selector = 0, .base = 0, .limit = kTssLimit, .type = kTypeBusyTss,
                   .s = false, .dpl = 0, .p = true, .l = false, .db = false, .g = false};
}

uint64_t encode_descriptor(const Segment& s)
{
    const uint64_t limit = s.g ? s.limit >> 12 : s.limit;
    const uint64_t access = uint64_t{s.type} | uint64_t{s.s} << 4 | uint64_t{s.dpl} << 5 |
                            uint64_t{s.p} << 7;
    const uint64_t flags = uint64_t{s.l} << 1 | uint64_t{s.db} << 2 | uint64_t{s.g} << 3;
    return (limit & 0xFFFF) | (s.base & 0xFFFFFF) << 16 | access << 40 |
           ((limit >> 16) & 0xF) << 48 | flags << 52 | ((s.base >> 24) & 0xFF) << 56;
}

void write_gdt(std::span<uint8_t> ram, Mode mode)
{
    store<uint64_t>(ram, kGdtGpa, 0);
    store<uint64_t>(ram, kGdtGpa + 8, 0);
    store(ram, kGdtGpa + kBootCodeSelector, encode_descriptor(flat_code_segment(mode)));
    store(ram, kGdtGpa + kBootDataSelector, encode_descriptor(flat_data_segment()));
}

}  // namespace vmruntime::loader
