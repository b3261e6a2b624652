// SPDX-License-Identifier: BSD-2-Clause
//
// The guest both halves of nvmm-bench run: guests/out_loop.S copied into a
// small anonymous mapping, entered in real mode at kGuestEntry with CS base 0.
// The raw KVM VM and the libnvmm machine each get their own GuestRam, loaded
// the same way, so the two loops differ only in the host side of the exit.
#pragma once

#include <cstddef>
#include <cstdint>

namespace vmruntime::bench {

inline constexpr uint64_t kGuestRamSize = 0x10000;  // 64 KiB at GPA 0
inline constexpr uint64_t kGuestEntry = 0x1000;     // GPA and real-mode IP, CS base 0
inline constexpr uint16_t kGuestPort = 0x10;        // port of the OUT in out_loop.S
inline constexpr uint64_t kMmioEntry = 0x2000;      // the MMIO loop of out_loop.S
inline constexpr uint64_t kMmioGpa = 0x20000;       // where it writes: no RAM there

class GuestRam {
public:
    GuestRam();  // exits the process if the mapping fails
    ~GuestRam();
    GuestRam(const GuestRam&) = delete;
    GuestRam& operator=(const GuestRam&) = delete;

    // Copies out_loop.S's OUT loop to kGuestEntry and its MMIO loop to kMmioEntry.  Call it after nvmm_hva_map: NetBSD's
    // hva_map replaces the content (ours keeps it), so loading after works on both.
    void load_guest();
    uint8_t* hva() const { return bytes_; }

private:
    uint8_t* bytes_;
};

// Print "nvmm-bench: <what>: <strerror(errno)>" / "nvmm-bench: <message>" and exit 1.
[[noreturn]] void die_errno(const char* what);
[[noreturn]] void die(const char* message);

}  // namespace vmruntime::bench
