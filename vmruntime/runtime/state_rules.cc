// SPDX-License-Identifier: BSD-2-Clause
#include "vmruntime/runtime/state_rules.h"

#include <cstdint>

namespace vmruntime::runtime {
namespace {

constexpr uint64_t bit(unsigned n)
{
    return uint64_t{1} << n;
}

constexpr uint64_t kCr0Pe = bit(0), kCr0Nw = bit(29), kCr0Cd = bit(30), kCr0Pg = bit(31);
constexpr uint64_t kCr4Pae = bit(5);
// CR4 bits no x86 processor defines (15, and 25 up).
constexpr uint64_t kCr4Reserved = bit(15) | ~(bit(25) - 1);
constexpr uint64_t kEferLme = bit(8), kEferLma = bit(10);
// EFER: SCE, LME, LMA, NXE, SVME, LMSLE, FFXSR, TCE and AutoIBRS are defined.
constexpr uint64_t kEferDefined = bit(0) | bit(8) | bit(10) | bit(11) | bit(12) | bit(13) | bit(14) |
                                  bit(15) | bit(21);
constexpr uint64_t kXcr0X87 = bit(0), kXcr0Sse = bit(1), kXcr0Avx = bit(2);
constexpr uint64_t kHigh32 = ~uint64_t{0xFFFFFFFF};

std::string lowest_bit(uint64_t bits)
{
    return std::to_string(__builtin_ctzll(bits));
}

std::optional<std::string> control_registers(const nvmm_x64_state& s)
{
    const uint64_t cr0 = s.crs[NVMM_X64_CR_CR0];
    const uint64_t cr4 = s.crs[NVMM_X64_CR_CR4];
    const uint64_t xcr0 = s.crs[NVMM_X64_CR_XCR0];
    if (cr0 & kHigh32) {
        return "cr0 sets reserved bit " + lowest_bit(cr0 & kHigh32);
    }
    if ((cr0 & kCr0Pg) && !(cr0 & kCr0Pe)) {
        return "cr0 sets PG without PE";
    }
    if ((cr0 & kCr0Nw) && !(cr0 & kCr0Cd)) {
        return "cr0 sets NW without CD";
    }
    if (cr4 & kCr4Reserved) {
        return "cr4 sets reserved bit " + lowest_bit(cr4 & kCr4Reserved);
    }
    if (!(xcr0 & kXcr0X87)) {
        return "xcr0 lacks x87 (bit 0), which is always enabled";
    }
    if ((xcr0 & kXcr0Avx) && !(xcr0 & kXcr0Sse)) {
        return "xcr0 sets AVX (bit 2) without SSE (bit 1)";
    }
    return std::nullopt;
}

// Long mode is on exactly when EFER.LME and CR0.PG are: then EFER.LMA and
// CR4.PAE must be set; otherwise neither EFER.LMA nor a 64-bit CS may be.
std::optional<std::string> paging_mode(const nvmm_x64_state& s)
{
    const uint64_t efer = s.msrs[NVMM_X64_MSR_EFER];
    if (efer & ~kEferDefined) {
        return "efer sets reserved bit " + lowest_bit(efer & ~kEferDefined);
    }
    if ((efer & kEferLme) && (s.crs[NVMM_X64_CR_CR0] & kCr0Pg)) {
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

std::optional<std::string> debug_registers(const nvmm_x64_state& s)
{
    if (s.drs[NVMM_X64_DR_DR6] & kHigh32) {
        return "dr6 sets reserved bit " + lowest_bit(s.drs[NVMM_X64_DR_DR6] & kHigh32);
    }
    if (s.drs[NVMM_X64_DR_DR7] & kHigh32) {
        return "dr7 sets reserved bit " + lowest_bit(s.drs[NVMM_X64_DR_DR7] & kHigh32);
    }
    return std::nullopt;
}

}  // namespace

std::optional<std::string> unrunnable(const nvmm_x64_state& state)
{
    if (auto why = control_registers(state)) {
        return why;
    }
    if (auto why = paging_mode(state)) {
        return why;
    }
    return debug_registers(state);
}

}  // namespace vmruntime::runtime
