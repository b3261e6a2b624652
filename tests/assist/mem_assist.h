// SPDX-License-Identifier: BSD-2-Clause
// Table-driven MMIO assist tests, in the style of NetBSD's h_mem_assist: a
// snippet runs on a fresh vCPU with the MmioDevice behind ASSIST_MMIO_GPA;
// every MEMORY exit is completed with nvmm_assist_mem; at the final HLT the
// device's first 32 bytes and the guest's registers must hold the table's
// values, and the rest of the device must still be zero.  Each case also
// runs with RAM at the same address, where no access exits: that checks the
// table itself, with no assist involved.
#pragma once

#include <gtest/gtest.h>

#include <array>
#include <initializer_list>
#include <ostream>
#include <string>
#include <tuple>
#include <vector>

#include "cpu_mode.h"
#include "guest_vm.h"
#include "guests/assist.h"
#include "mmio_device.h"
#include "regs.h"

namespace vmruntime::assist_test {

// What FLAGS (guests/assist.h) records per check.
inline constexpr uint64_t kZF = 1, kCF = 2, kSF = 4, kOF = 8, kPF = 16;

// The value FLAGS leaves after several checks, the first one highest.
constexpr uint64_t flag_trace(std::initializer_list<uint64_t> checks) {
  uint64_t trace = 0;
  for (uint64_t check : checks) trace = trace << 5 | check;
  return trace;
}

struct MemCase {
  const char* name;
  nvmm_test::GuestCode code;
  CpuMode mode;
  std::array<uint64_t, 4> init;  // device bytes 0-31 before the run
  std::array<uint64_t, 4> want;  // and after
  std::vector<RegValue> regs;    // at the final HLT
};

enum class MemPath {
  kAssist,          // nvmm_assist_mem, then run again
  kAssistGetSet,    // the same, with getstate and setstate of the GPRs right
                    // after every assist, as a VMM that edits a register
  kRam,             // RAM at the MMIO address: no exit, the reference
};

inline constexpr MemPath kMemPaths[] = {MemPath::kAssist, MemPath::kAssistGetSet,
                                        MemPath::kRam};

using MemParam = std::tuple<MemCase, MemPath>;

class MemAssistTest : public nvmm_test::NvmmTest, public ::testing::WithParamInterface<MemParam> {
 protected:
  void SetUp() override;
  // Runs the loaded snippet to its HLT; returns the number of MEMORY exits.
  size_t run_to_halt(MemPath path);

  MmioDevice device_{ASSIST_MMIO_GPA};
};

// Test names: the case's name and the path.
std::string mem_param_name(const ::testing::TestParamInfo<MemParam>& info);

void PrintTo(const MemCase& c, std::ostream* os);
void PrintTo(MemPath path, std::ostream* os);

}  // namespace vmruntime::assist_test
