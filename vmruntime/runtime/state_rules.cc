// SPDX-License-Identifier: BSD-2-Clause
#include "vmruntime/runtime/state_rules.h"

#include <cstdint>

namespace vmruntime::runtime {
namespace {

constexpr uint64_t bit(unsigned n)
{
    return uint64_t{1} << n;
}

constexpr uint64_t kCr0Pe = bit(0), kCr0Pg = bit(31);
constexpr uint64_t kCr4Pae = bit(5);
constexpr uint64_t kEferLme = bit(8), kEferLma = bit(10);
// EFER: SCE, LME, LMA, NXE, SVME, LMSLE, FFXSR, TCE and AutoIBRS are defined.
constexpr uint64_t kEferDefined = bit(0) | bit(8) | bit(10) | bit(11) | bit(12) | bit(13) | bit(14) |
                                  bit(15) | bit(21);

std::string lowest_bit(uint64_t bits)
{
    return std::to_string(__builtin_ctzll(bits));
}

}  // namespace

// Long mode is on exactly when EFER.LME and CR0.PG are: then EFER.LMA and
// CR4.PAE must be set; otherwise neither EFER.LMA nor a 64-bit CS may be.
std::optional<std::string> unrunnable(const nvmm_x64_state& s)
{
    const uint64_t cr0 = s.crs[NVMM_X64_CR_CR0];
    const uint64_t efer = s.msrs[NVMM_X64_MSR_EFER];
    if ((cr0 & kCr0Pg) && !(cr0 & kCr0Pe)) {
        return "cr0 sets PG without PE";
    }
    if (efer & ~kEferDefined) {
        return "efer sets reserved bit " + lowest_bit(efer & ~kEferDefined);
    }
    if ((efer & kEferLme) && (cr0 & kCr0Pg)) {
        if (!(s.crs[NVMM_X64_CR_CR4] & kCr4Pae)) {
            return "cr4 lacks PAE, which long mode (efer.LME with cr0.PG) needs";
        }
        if (!(efer & kEferLma)) {
            return "efer lacks LMA although long mode is on (efer.LME with cr0.PG)";
        }
        return std::nullopt;
    }
    if (efer & kEferLma) {
        return "efer sets LMA outside long mode (efer.LME with cr0.PG)";
    }
    if (s.segs[NVMM_X64_SEG_CS].attrib.l) {
        return "cs sets l (64-bit code) outside long mode";
    }
    return std::nullopt;
}

}  // namespace vmruntime::runtime
