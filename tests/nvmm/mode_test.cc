// SPDX-License-Identifier: BSD-2-Clause
// A guest runs in each x86 mode the nvmm.h API must support: 16-bit real
// mode from the vCPU's RESET state, 32-bit protected mode with paging off and
// on, and 64-bit long mode on 4-level page tables.
#include "guest_vm.h"

GUEST_SNIPPET(real_basic);
GUEST_EXIT_LABEL(real_basic_out);
GUEST_SNIPPET(prot32_flat);
GUEST_SNIPPET(prot32_paging);
GUEST_SNIPPET(long_alias);

namespace vmruntime::nvmm_test {
namespace {

using ModeTest = NvmmTest;

TEST_F(ModeTest, ResetStateIsRealModeAtTheResetVector) {
  vm_.get(NVMM_X64_STATE_ALL);
  const nvmm_x64_state& s = vm_.state();
  EXPECT_EQ(s.segs[NVMM_X64_SEG_CS].selector, 0xF000);
  EXPECT_EQ(s.segs[NVMM_X64_SEG_CS].base, 0xFFFF0000u);
  EXPECT_EQ(s.segs[NVMM_X64_SEG_CS].limit, 0xFFFFu);
  EXPECT_EQ(s.gprs[NVMM_X64_GPR_RIP], 0xFFF0u);
  EXPECT_EQ(s.gprs[NVMM_X64_GPR_RFLAGS], 0x2u);
  EXPECT_EQ(s.gprs[NVMM_X64_GPR_RDX], 0x600u);
  EXPECT_EQ(s.crs[NVMM_X64_CR_CR0], 0x60000010u);
  EXPECT_EQ(s.msrs[NVMM_X64_MSR_EFER], 0u);
  EXPECT_EQ(s.fpu.fx_mxcsr, 0x1F80u);
}

TEST_F(ModeTest, RealMode) {
  vm_.load(GUEST_CODE(real_basic));
  vm_.enter_real_mode(GUEST_CODE_GPA);
  ASSERT_EQ(vm_.run(), NVMM_VCPU_EXIT_IO) << vm_.describe_exit();
  vm_.get(NVMM_X64_STATE_GPRS | NVMM_X64_STATE_SEGS);
  // IP is relative to CS base.
  EXPECT_EQ(vm_.exit().u.io.npc + GUEST_CODE_GPA, GUEST_GPA(real_basic, real_basic_out_next));
  EXPECT_EQ(vm_.exit().u.io.operand_size, 2);
  EXPECT_EQ(vm_.state().gprs[NVMM_X64_GPR_RAX] & 0xFFFF, 0x1335u);
  EXPECT_EQ(vm_.state().gprs[NVMM_X64_GPR_RBX] & 0xFFFF, GUEST_DATA_GPA >> 4);
  EXPECT_EQ(vm_.peek<uint16_t>(GUEST_DATA_GPA + 0x20), 0x1335);
  vm_.finish_io_by_hand(0);
  ASSERT_EQ(vm_.run(), NVMM_VCPU_EXIT_HALTED) << vm_.describe_exit();
  vm_.get(NVMM_X64_STATE_GPRS);
  EXPECT_EQ(vm_.state().gprs[NVMM_X64_GPR_RIP] + GUEST_CODE_GPA, GUEST_GPA(real_basic, real_basic_end));
}

TEST_F(ModeTest, ProtectedModePagingOff) {
  vm_.load(GUEST_CODE(prot32_flat));
  vm_.enter_protected_mode(GUEST_CODE_GPA, false);
  ASSERT_EQ(vm_.run(), NVMM_VCPU_EXIT_HALTED) << vm_.describe_exit();
  vm_.get(NVMM_X64_STATE_GPRS | NVMM_X64_STATE_CRS);
  EXPECT_EQ(vm_.peek<uint32_t>(GUEST_DATA_GPA), vm_.state().crs[NVMM_X64_CR_CR0]);
  EXPECT_EQ(vm_.state().crs[NVMM_X64_CR_CR0] & 0x80000001u, 1u) << "PE set, PG clear";
  EXPECT_EQ(vm_.state().gprs[NVMM_X64_GPR_RIP], GUEST_GPA(prot32_flat, prot32_flat_end));
}

TEST_F(ModeTest, ProtectedModePagingOn) {
  if (host_is_pvm()) {
    // kvm-pvm (dmesg): "supports paging only in long mode, so CR0.PG stays
    // clear and the vCPU shuts down when it next runs".
    GTEST_SKIP() << "*** kvm-pvm cannot run 32-bit paging: SKIPPED ***";
  }
  vm_.load(GUEST_CODE(prot32_paging));
  vm_.enter_protected_mode(GUEST_CODE_GPA, true);
  const uint64_t cr0 = vm_.state().crs[NVMM_X64_CR_CR0];
  const uint64_t cr4 = vm_.state().crs[NVMM_X64_CR_CR4];
  ASSERT_EQ(vm_.run(), NVMM_VCPU_EXIT_HALTED) << vm_.describe_exit();
  // Reaching PA GUEST_DATA_GPA through the alias VA needs the PSE directory.
  EXPECT_EQ(vm_.peek<uint32_t>(GUEST_DATA_GPA), cr0);
  EXPECT_EQ(vm_.peek<uint32_t>(GUEST_DATA_GPA + 4), uint32_t{GUEST_PD32_GPA});
  EXPECT_EQ(vm_.peek<uint32_t>(GUEST_DATA_GPA + 8), cr4);
  vm_.get(NVMM_X64_STATE_GPRS);
  EXPECT_EQ(vm_.state().gprs[NVMM_X64_GPR_RIP], GUEST_GPA(prot32_paging, prot32_paging_end));
}

TEST_F(ModeTest, LongMode) {
  vm_.load(GUEST_CODE(long_alias));
  vm_.enter_long_mode(GUEST_CODE_GPA);
  ASSERT_EQ(vm_.run(), NVMM_VCPU_EXIT_HALTED) << vm_.describe_exit();
  EXPECT_EQ(vm_.peek<uint64_t>(GUEST_DATA_GPA), 0x1122334455667788u);
  vm_.get(NVMM_X64_STATE_GPRS | NVMM_X64_STATE_SEGS | NVMM_X64_STATE_MSRS);
  EXPECT_EQ(vm_.state().gprs[NVMM_X64_GPR_RIP], GUEST_GPA(long_alias, long_alias_end));
  EXPECT_EQ(vm_.state().segs[NVMM_X64_SEG_CS].attrib.l, 1);
  EXPECT_EQ(vm_.state().msrs[NVMM_X64_MSR_EFER] & 0x500u, 0x500u) << "LME and LMA";
}

}  // namespace
}  // namespace vmruntime::nvmm_test
