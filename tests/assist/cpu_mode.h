// SPDX-License-Identifier: BSD-2-Clause
// The processor modes the assist tests start their snippets in, on top of
// the nvmm test fixture (tests/nvmm/guest_vm.h), and the RIP of a snippet's
// label in each of them.
#pragma once

#include <cstdint>

#include "guest_vm.h"

namespace vmruntime::assist_test {

enum class CpuMode {
  kReal16,        // the fixture's real mode: CS = code, DS = ES = SS = data
  kProt32,        // flat 32-bit segments, paging off
  kProt32Paging,  // the same with the fixture's 32-bit 4 MiB-page tables
  kProt32Based,   // flat, but DS and ES start at ASSIST_MMIO_GPA, so that
                  // 16-bit addresses (0x67) reach the MMIO page
  kLong64,        // 64-bit, CPL0, the fixture's 4-level tables
};

// Loads nothing: starts vCPU 0 of vm at the first byte of the snippet that
// was loaded at GUEST_CODE_GPA.
void enter_mode(nvmm_test::GuestVm& vm, CpuMode mode);

// RIP of `label` inside the snippet starting at `begin`, in `mode`.
uint64_t snippet_rip(CpuMode mode, const uint8_t* begin, const uint8_t* label);

}  // namespace vmruntime::assist_test
