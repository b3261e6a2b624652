// SPDX-License-Identifier: BSD-2-Clause
// NetBSD's kernel corrects what a VMM commits instead of refusing it, and
// so does the library (docs/nvmm.3.md, nvmm_vcpu_setstate): a state
// committed with values KVM would refuse still runs, and getstate after
// the run shows what was corrected.  Each case commits a zeroed or garbage
// field to a long-mode guest that halts.
#include <cstring>

#include "guest_vm.h"

GUEST_SNIPPET(long_gprs);

namespace vmruntime::nvmm_test {
namespace {

constexpr uint64_t kCr0Et = 1ULL << 4, kCr0Nw = 1ULL << 29, kCr0Cd = 1ULL << 30;

class FixupRun : public NvmmTest {
 protected:
  void SetUp() override {
    NvmmTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    vm_.load(GUEST_CODE(long_gprs));
    vm_.enter_long_mode(GUEST_CODE_GPA);
    vm_.get(NVMM_X64_STATE_ALL);
  }

  // Commits `flags` and runs the guest to its HLT.
  void commit_and_run(uint64_t flags) {
    vm_.set(flags);
    ASSERT_EQ(vm_.run(), NVMM_VCPU_EXIT_HALTED) << vm_.describe_exit();
    vm_.get(NVMM_X64_STATE_ALL);
  }

  uint64_t* crs() { return vm_.state().crs; }
};

TEST_F(FixupRun, Xcr0WithoutX87GetsX87) {
  crs()[NVMM_X64_CR_XCR0] = 0;
  ASSERT_NO_FATAL_FAILURE(commit_and_run(NVMM_X64_STATE_CRS));
  EXPECT_EQ(crs()[NVMM_X64_CR_XCR0], 1u);
}

TEST_F(FixupRun, Xcr0BeyondTheMaskIsMasked) {
  struct nvmm_capability cap {};
  ASSERT_EQ(nvmm_capability(&cap), 0);
  crs()[NVMM_X64_CR_XCR0] = ~0ULL;
  ASSERT_NO_FATAL_FAILURE(commit_and_run(NVMM_X64_STATE_CRS));
  EXPECT_EQ(crs()[NVMM_X64_CR_XCR0], cap.arch.xcr0_mask | 1);
}

TEST_F(FixupRun, Cr0Cr4Cr8ReservedBitsAreCleared) {
  const uint64_t cr0 = crs()[NVMM_X64_CR_CR0], cr4 = crs()[NVMM_X64_CR_CR4];
  crs()[NVMM_X64_CR_CR0] = (cr0 | 0xFFFFFFFF00000000ULL | kCr0Nw) & ~(kCr0Cd | kCr0Et);
  // Bit 15 is reserved everywhere, 13 (VMXE) and 22 (PKE) are not NVMM's.
  crs()[NVMM_X64_CR_CR4] = cr4 | 1ULL << 15 | 1ULL << 13 | 1ULL << 22 | 0xFFFFFFFF00000000ULL;
  crs()[NVMM_X64_CR_CR8] = 0xA5;
  ASSERT_NO_FATAL_FAILURE(commit_and_run(NVMM_X64_STATE_CRS));
  EXPECT_EQ(crs()[NVMM_X64_CR_CR0], (cr0 | kCr0Et) & ~kCr0Nw) << "high half, and NW without CD, cleared; ET set";
  EXPECT_EQ(crs()[NVMM_X64_CR_CR4], cr4);
  EXPECT_EQ(crs()[NVMM_X64_CR_CR8], 0x5u) << "the TPR's 4 bits";
}

TEST_F(FixupRun, Dr6Dr7HighHalvesAreCleared) {
  vm_.state().drs[NVMM_X64_DR_DR6] = 0xFFFFFFFFFFFF0FF0ULL;
  vm_.state().drs[NVMM_X64_DR_DR7] = 0xABCD000000000400ULL;
  ASSERT_NO_FATAL_FAILURE(commit_and_run(NVMM_X64_STATE_DRS));
  EXPECT_EQ(vm_.state().drs[NVMM_X64_DR_DR6], 0xFFFF0FF0u);
  EXPECT_EQ(vm_.state().drs[NVMM_X64_DR_DR7], 0x400u);
}

TEST_F(FixupRun, MxcsrOutsideItsMaskIsMasked) {
  struct nvmm_capability cap {};
  ASSERT_EQ(nvmm_capability(&cap), 0);
  const uint32_t host_mask = cap.arch.mxcsr_mask;
  ASSERT_NE(host_mask, 0u);
  vm_.state().fpu.fx_mxcsr = 0x1F80 | 1u << 20 | 1u << 31;  // reserved bits
  vm_.state().fpu.fx_mxcsr_mask = 0xFFFFFFFF;
  ASSERT_NO_FATAL_FAILURE(commit_and_run(NVMM_X64_STATE_FPU));
  EXPECT_EQ(vm_.state().fpu.fx_mxcsr, 0x1F80u & host_mask);
}

// A program that zeroes the whole state, fills what a long-mode guest needs
// and commits it all: the rest stays zero, corrected where zero is not a
// value the hardware takes (XCR0, MXCSR's mask).
TEST_F(FixupRun, AZeroedStateFilledForLongModeRuns) {
  const nvmm_x64_state filled = vm_.state();
  nvmm_x64_state& s = vm_.state();
  std::memset(&s, 0, sizeof s);
  std::memcpy(s.segs, filled.segs, sizeof s.segs);
  s.gprs[NVMM_X64_GPR_RIP] = filled.gprs[NVMM_X64_GPR_RIP];
  s.gprs[NVMM_X64_GPR_RSP] = filled.gprs[NVMM_X64_GPR_RSP];
  s.gprs[NVMM_X64_GPR_RFLAGS] = 0x2;
  for (int cr : {NVMM_X64_CR_CR0, NVMM_X64_CR_CR3, NVMM_X64_CR_CR4}) s.crs[cr] = filled.crs[cr];
  s.msrs[NVMM_X64_MSR_EFER] = filled.msrs[NVMM_X64_MSR_EFER];
  s.msrs[NVMM_X64_MSR_PAT] = filled.msrs[NVMM_X64_MSR_PAT];
  ASSERT_NO_FATAL_FAILURE(commit_and_run(NVMM_X64_STATE_ALL));
  EXPECT_EQ(s.crs[NVMM_X64_CR_XCR0], 1u);
  EXPECT_EQ(s.gprs[NVMM_X64_GPR_RAX], 1u) << "the guest ran: it adds 1 to each GPR";
  EXPECT_EQ(s.fpu.fx_mxcsr, 0u) << "MXCSR as committed";
}

}  // namespace
}  // namespace vmruntime::nvmm_test
