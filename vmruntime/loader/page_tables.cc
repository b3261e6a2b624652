// SPDX-License-Identifier: BSD-2-Clause
//
// Identity map for the boot vCPU.  Every entry is also user-accessible: a
// small guest can then run its heavy part at CPL3 (where it is not
// interpreted on hosts without hardware virtualization) without building
// tables of its own.  CR4.SMEP/SMAP stay off, so CPL0 is not affected.
#include "vmruntime/loader/page_tables.h"

#include "vmruntime/loader/boot_state.h"
#include "vmruntime/loader/guest_ram.h"

namespace vmruntime::loader {
namespace {

constexpr uint64_t kPageSize = 0x1000;
constexpr uint64_t kEntries = 512;
constexpr uint64_t kLargePage = 2ULL << 20;
constexpr uint64_t kTable = PG_P | PG_RW | PG_U;

}  // namespace

void write_identity_page_tables(std::span<uint8_t> ram)
{
    store(ram, kPml4Gpa, kPdptGpa | kTable);
    for (uint64_t i = 1; i < kEntries; i++) store<uint64_t>(ram, kPml4Gpa + 8 * i, 0);
    for (uint64_t i = 0; i < kEntries; i++) {
        const uint64_t pdpte = i < kPageDirectories ? (kPdGpa + i * kPageSize) | kTable : 0;
        store(ram, kPdptGpa + 8 * i, pdpte);
    }
    for (uint64_t i = 0; i < kPageDirectories * kEntries; i++) {
        store(ram, kPdGpa + 8 * i, (i * kLargePage) | kTable | PG_PS);
    }
}

}  // namespace vmruntime::loader
