// SPDX-License-Identifier: BSD-2-Clause
// Expected guest register values for the assist tables.
#pragma once

#include <nvmm.h>

#include <cstdint>
#include <vector>

#include "cpu_mode.h"

namespace vmruntime::assist_test {

inline constexpr int kRax = NVMM_X64_GPR_RAX, kRcx = NVMM_X64_GPR_RCX, kRdx = NVMM_X64_GPR_RDX,
                     kRbx = NVMM_X64_GPR_RBX, kRbp = NVMM_X64_GPR_RBP, kRsi = NVMM_X64_GPR_RSI,
                     kRdi = NVMM_X64_GPR_RDI, kR8 = NVMM_X64_GPR_R8, kR9 = NVMM_X64_GPR_R9,
                     kR10 = NVMM_X64_GPR_R10, kR11 = NVMM_X64_GPR_R11, kR12 = NVMM_X64_GPR_R12,
                     kR13 = NVMM_X64_GPR_R13;

struct RegValue {
  int gpr;  // NVMM_X64_GPR_*
  uint64_t value;
};

// Records a failure for every register of `want` that `gprs` does not hold.
// Outside long mode only the low 32 bits count: the upper halves are not the
// snippet's business there.
void expect_regs(CpuMode mode, const uint64_t* gprs, const std::vector<RegValue>& want);

}  // namespace vmruntime::assist_test
