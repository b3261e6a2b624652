// SPDX-License-Identifier: BSD-2-Clause
//
// The state a loader leaves for the boot vCPU, and the low memory every
// loader reserves for it.  Field names follow nvmm_x64_state_seg and the
// Intel SDM (CR0.PE, EFER.LME); selectors follow Linux's boot protocol
// (__BOOT_CS = 0x10, __BOOT_DS = 0x18) so one GDT also serves a Linux entry.
//
// Reserved low memory, written by the loader and never by an image:
//
//   0x0000 - 0x04ff  real-mode IVT and BIOS data area: not reserved, untouched
//   0x0500 - 0x051f  GDT: null, null, code (0x10), data (0x18)
//   0x0600 - 0x0dff  kernel command line, NUL-terminated, at most 2 KiB
//   0x1000 - 0x1fff  PML4
//   0x2000 - 0x2fff  PDPT
//   0x3000 - 0x6fff  four page directories: 2 MiB pages identity-mapping
//                    the first 4 GiB
//   0x7000 - 0x7fff  boot information for Linux: the zero page (boot_params)
//                    of the boot protocol, or PVH's hvm_start_info
//
// Image bytes may not overlap [kReservedBegin, kReservedEnd).  The stack
// is by default just below the image's lowest byte and needs at least
// kMinStackSize bytes above kReservedEnd.
#pragma once

#include <cstdint>

namespace vmruntime::loader {

inline constexpr uint64_t kReservedBegin = 0x500;
inline constexpr uint64_t kGdtGpa = 0x500;
inline constexpr uint64_t kCmdlineGpa = 0x600;
inline constexpr uint64_t kCmdlineMax = 0x800;  // bytes, the NUL included
inline constexpr uint64_t kPml4Gpa = 0x1000;
inline constexpr uint64_t kPdptGpa = 0x2000;
inline constexpr uint64_t kPdGpa = 0x3000;  // kPageDirectories consecutive pages
inline constexpr uint64_t kPageDirectories = 4;
inline constexpr uint64_t kBootInfoGpa = 0x7000;
inline constexpr uint64_t kBootInfoSize = 0x1000;
inline constexpr uint64_t kReservedEnd = 0x8000;

// What the boot page tables identity-map.
inline constexpr uint64_t kIdentityMapSize = kPageDirectories << 30;
inline constexpr uint64_t kMinStackSize = 0x1000;
// Real-mode code cannot address beyond it.
inline constexpr uint64_t kRealModeLimit = 0x100000;

inline constexpr uint16_t kBootCodeSelector = 0x10;
inline constexpr uint16_t kBootDataSelector = 0x18;
inline constexpr uint16_t kGdtLimit = 4 * 8 - 1;

inline constexpr uint64_t CR0_PE = 1ULL << 0;
inline constexpr uint64_t CR0_ET = 1ULL << 4;
inline constexpr uint64_t CR0_NE = 1ULL << 5;
inline constexpr uint64_t CR0_PG = 1ULL << 31;
inline constexpr uint64_t CR4_PAE = 1ULL << 5;
inline constexpr uint64_t EFER_LME = 1ULL << 8;
inline constexpr uint64_t EFER_LMA = 1ULL << 10;
inline constexpr uint64_t RFLAGS_FIXED = 1ULL << 1;  // reads as one

enum class Mode { Real16, Protected32, Long64 };

// A segment register's selector and hidden part.
struct Segment {
    uint16_t selector = 0;
    uint64_t base = 0;
    uint32_t limit = 0;  // in bytes, already scaled when g is set
    uint8_t type = 0;    // 4-bit descriptor type
    bool s = false;      // code or data (not a system segment)
    uint8_t dpl = 0;
    bool p = false;
    bool l = false;      // 64-bit code
    bool db = false;     // 32-bit default operand size
    bool g = false;      // 4 KiB limit granularity
};

struct BootState {
    Mode mode = Mode::Real16;
    uint64_t rip = 0;
    uint64_t rsp = 0;
    uint64_t rflags = RFLAGS_FIXED;
    // GPA of the command line (of the zero page for a Linux bzImage).
    // Real-mode code reaches it through a segment whose base is 0.
    uint64_t rsi = 0;
    // GPA of hvm_start_info for a PVH kernel, else 0.
    uint64_t rbx = 0;
    uint64_t cr0 = 0;
    uint64_t cr3 = 0;
    uint64_t cr4 = 0;
    uint64_t efer = 0;
    uint64_t gdt_base = 0;
    uint16_t gdt_limit = 0;
    Segment cs, ds, es, fs, gs, ss;
    // No TSS in memory: TR only has to satisfy VM entry.  A guest that
    // changes privilege level loads its own.
    Segment tr;
};

}  // namespace vmruntime::loader
