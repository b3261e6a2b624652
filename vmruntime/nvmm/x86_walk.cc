// SPDX-License-Identifier: BSD-2-Clause
//
// Page-table formats per the Intel SDM vol. 3 ch. 4 and AMD APM vol. 2 ch. 5.
#include "x86_walk.h"

#include <cerrno>

#include "nvmm.h"

namespace vmruntime::nvmm {
namespace {

constexpr uint64_t kCr0Pg = 1ULL << 31;
constexpr uint64_t kCr0Wp = 1ULL << 16;
constexpr uint64_t kCr4Pse = 1ULL << 4;
constexpr uint64_t kCr4Pae = 1ULL << 5;
constexpr uint64_t kCr4La57 = 1ULL << 12;
constexpr uint64_t kEferLma = 1ULL << 10;
constexpr uint64_t kEferNxe = 1ULL << 11;

constexpr uint64_t kPteP = 1ULL << 0;
constexpr uint64_t kPteW = 1ULL << 1;
constexpr uint64_t kPteU = 1ULL << 2;
constexpr uint64_t kPtePs = 1ULL << 7;
constexpr uint64_t kPteNx = 1ULL << 63;
constexpr uint64_t kFrame64 = 0x000FFFFFFFFFF000ULL;

struct Walk {
    const PagingRegs& regs;
    const GuestMemory& mem;
    uint64_t prot = NVMM_PROT_ALL;

    // Reads one entry and narrows the protection by what it grants.
    bool entry(uint64_t gpa, unsigned width, uint64_t* out)
    {
        uint64_t e = 0;
        if (!mem.read(gpa, &e, width) || !(e & kPteP)) {
            return false;
        }
        if (!(e & kPteU)) {
            prot &= ~static_cast<uint64_t>(NVMM_PROT_USER);
        }
        // With CR0.WP clear, supervisor code writes through read-only pages.
        bool wp_applies = (regs.cr0 & kCr0Wp) || regs.cpl == 3;
        if (!(e & kPteW) && wp_applies) {
            prot &= ~static_cast<uint64_t>(NVMM_PROT_WRITE);
        }
        if (width == 8 && (regs.efer & kEferNxe) && (e & kPteNx)) {
            prot &= ~static_cast<uint64_t>(NVMM_PROT_EXEC);
        }
        *out = e;
        return true;
    }

    // Levels of 512 eight-byte entries, from `shift` down to 12.
    int walk_wide(uint64_t table, unsigned shift, uint64_t gva, uint64_t* gpa)
    {
        for (;; shift -= 9) {
            uint64_t e = 0;
            if (!entry(table + ((gva >> shift) & 0x1FF) * 8, 8, &e)) {
                return EFAULT;
            }
            uint64_t page = 1ULL << shift;
            bool large = shift != 12 && (e & kPtePs);
            if (large && shift > 30) {
                return EFAULT;  // no 512 GiB pages
            }
            if (shift == 12 || large) {
                *gpa = ((e & kFrame64) & ~(page - 1)) | (gva & (page - 1));
                return 0;
            }
            table = e & kFrame64;
        }
    }

    int walk_long(uint64_t gva, uint64_t* gpa)
    {
        if (regs.cr4 & kCr4La57) {
            return EFAULT;  // 5-level paging is not offered to guests
        }
        uint64_t high = static_cast<uint64_t>(static_cast<int64_t>(gva << 16) >> 16);
        if (high != gva) {
            return EFAULT;  // non-canonical
        }
        return walk_wide(regs.cr3 & kFrame64, 39, gva, gpa);
    }

    int walk_pae(uint64_t gva, uint64_t* gpa)
    {
        gva &= 0xFFFFFFFFULL;
        uint64_t pdpte = 0;
        uint64_t at = (regs.cr3 & 0xFFFFFFE0ULL) + ((gva >> 30) & 3) * 8;
        uint64_t saved = prot;
        if (!entry(at, 8, &pdpte)) {
            return EFAULT;
        }
        prot = saved;  // PDPTEs carry no U/W/NX in PAE mode
        return walk_wide(pdpte & kFrame64, 21, gva, gpa);
    }

    int walk_legacy(uint64_t gva, uint64_t* gpa)
    {
        gva &= 0xFFFFFFFFULL;
        uint64_t pde = 0, pte = 0;
        if (!entry((regs.cr3 & 0xFFFFF000ULL) + ((gva >> 22) & 0x3FF) * 4, 4, &pde)) {
            return EFAULT;
        }
        if ((pde & kPtePs) && (regs.cr4 & kCr4Pse)) {
            // PSE-36: bits 20:13 of the PDE are physical address bits 39:32.
            uint64_t base = (pde & 0xFFC00000ULL) | (((pde >> 13) & 0xFF) << 32);
            *gpa = base | (gva & 0x3FFFFF);
            return 0;
        }
        if (!entry((pde & 0xFFFFF000ULL) + ((gva >> 12) & 0x3FF) * 4, 4, &pte)) {
            return EFAULT;
        }
        *gpa = (pte & 0xFFFFF000ULL) | (gva & 0xFFF);
        return 0;
    }
};

}  // namespace

int walk_page_tables(const PagingRegs& regs, const GuestMemory& mem, uint64_t gva, uint64_t* gpa,
               uint64_t* prot)
{
    Walk w{regs, mem};
    int err;
    if (!(regs.cr0 & kCr0Pg)) {
        *gpa = gva;
        err = 0;
    } else if (regs.efer & kEferLma) {
        err = (regs.cr4 & kCr4Pae) ? w.walk_long(gva, gpa) : EFAULT;
    } else if (regs.cr4 & kCr4Pae) {
        err = w.walk_pae(gva, gpa);
    } else {
        err = w.walk_legacy(gva, gpa);
    }
    if (err == 0) {
        *prot = w.prot;
    }
    return err;
}

}  // namespace vmruntime::nvmm
