// SPDX-License-Identifier: BSD-2-Clause
//
// x86 guest page walk: guest-virtual (linear) to guest-physical, with the
// protection the guest's tables grant.  Real mode, 32-bit (4 KiB and 4 MiB
// pages), PAE and 4-level long mode (4 KiB, 2 MiB, 1 GiB pages).
#pragma once

#include <cstdint>

#include "guest_memory.h"

namespace vmruntime::nvmm {

struct PagingRegs {
    uint64_t cr0 = 0;
    uint64_t cr3 = 0;
    uint64_t cr4 = 0;
    uint64_t efer = 0;
    unsigned cpl = 0;
};

// 0 and the translation, or EFAULT when a level is not present, the tables
// are not in RAM, or the paging mode is invalid.  Accessed/dirty bits are
// not set: this is an inspection, not a guest access.
int walk_page_tables(const PagingRegs& regs, const GuestMemory& mem, uint64_t gva, uint64_t* gpa,
               uint64_t* prot);

}  // namespace vmruntime::nvmm
