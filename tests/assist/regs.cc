// SPDX-License-Identifier: BSD-2-Clause
// Register comparison for the assist tables, with NVMM's register names.
#include "regs.h"

#include <gtest/gtest.h>

#include "hex.h"

namespace vmruntime::assist_test {
namespace {

const char* const kGprNames[NVMM_X64_NGPR] = {"RAX", "RCX", "RDX", "RBX", "RSP", "RBP",
                                              "RSI", "RDI", "R8",  "R9",  "R10", "R11",
                                              "R12", "R13", "R14", "R15", "RIP", "RFLAGS"};

}  // namespace

void expect_regs(CpuMode mode, const uint64_t* gprs, const std::vector<RegValue>& want) {
  const uint64_t mask = mode == CpuMode::kLong64 ? ~uint64_t{0} : 0xFFFFFFFF;
  for (const RegValue& reg : want) {
    EXPECT_EQ(Hex{gprs[reg.gpr] & mask}, Hex{reg.value}) << kGprNames[reg.gpr];
  }
}

}  // namespace vmruntime::assist_test
