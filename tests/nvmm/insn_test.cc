// SPDX-License-Identifier: BSD-2-Clause
// Instructions the VMM answers or refuses: RDMSR/WRMSR of an MSR KVM does
// not implement exit to the VMM (RIP on the instruction, npc after it),
// which completes them by hand (RAX/RDX, RIP = npc) or raises #GP, by
// injection or by not answering.  MONITOR/MWAIT raise #UD in the guest.
#include "guest_vm.h"

GUEST_SNIPPET(long_msr);
GUEST_EXIT_LABEL(long_msr_rd);
GUEST_EXIT_LABEL(long_msr_wr);
GUEST_EXIT_LABEL(long_msr_done);
GUEST_LABEL(long_msr_gp);
GUEST_EXIT_LABEL(long_msr_gp_report);
GUEST_SNIPPET(long_mwait);
GUEST_EXIT_LABEL(long_mwait_monitor);
GUEST_EXIT_LABEL(long_mwait_mwait);
GUEST_LABEL(long_mwait_ud);
GUEST_EXIT_LABEL(long_mwait_report);

namespace vmruntime::nvmm_test {
namespace {

// The MSR of guests/insn64.S.  KVM emulates a handful of MSRs in the
// 0xC001xxxx range (HWCR, the K7/F15H counters, DE_CFG, VM_CR...), not this
// one, whatever the host vendor: its accesses go to userspace.
constexpr uint32_t kUnknownMsr = 0xC0011234;
constexpr uint64_t kWritten = 0x1122334455667788ULL;

class MsrTest : public NvmmTest {
 protected:
  void SetUp() override {
    NvmmTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    vm_.load(GUEST_CODE(long_msr));
    vm_.set_idt_gate(13, GUEST_GPA(long_msr, long_msr_gp));
    vm_.enter_long_mode(GUEST_CODE_GPA);
  }

  void expect_rdmsr_exit() {
    ASSERT_EQ(vm_.run(), NVMM_VCPU_EXIT_RDMSR) << vm_.describe_exit();
    EXPECT_EQ(vm_.exit().u.rdmsr.msr, kUnknownMsr);
    EXPECT_EQ(vm_.exit().u.rdmsr.npc, GUEST_GPA(long_msr, long_msr_rd_next));
    vm_.get(NVMM_X64_STATE_GPRS);
    EXPECT_EQ(vm_.state().gprs[NVMM_X64_GPR_RIP], GUEST_GPA(long_msr, long_msr_rd))
        << "RIP stays on the RDMSR";
    EXPECT_EQ(vm_.state().gprs[NVMM_X64_GPR_RCX], kUnknownMsr);
    EXPECT_EQ(vm_.exit().exitstate.rflags, vm_.state().gprs[NVMM_X64_GPR_RFLAGS]);
  }

  // Completes the RDMSR as QEMU does: EDX:EAX = value, RIP = npc.
  void answer_rdmsr(uint64_t value) {
    uint64_t* gprs = vm_.state().gprs;
    gprs[NVMM_X64_GPR_RAX] = value & 0xFFFFFFFF;
    gprs[NVMM_X64_GPR_RDX] = value >> 32;
    gprs[NVMM_X64_GPR_RIP] = vm_.exit().u.rdmsr.npc;
    vm_.set(NVMM_X64_STATE_GPRS);
  }

  void expect_wrmsr_exit() {
    ASSERT_EQ(vm_.run(), NVMM_VCPU_EXIT_WRMSR) << vm_.describe_exit();
    EXPECT_EQ(vm_.exit().u.wrmsr.msr, kUnknownMsr);
    EXPECT_EQ(vm_.exit().u.wrmsr.val, kWritten);
    EXPECT_EQ(vm_.exit().u.wrmsr.npc, GUEST_GPA(long_msr, long_msr_wr_next));
    vm_.get(NVMM_X64_STATE_GPRS);
    EXPECT_EQ(vm_.state().gprs[NVMM_X64_GPR_RIP], GUEST_GPA(long_msr, long_msr_wr))
        << "RIP stays on the WRMSR";
  }

  // The guest's #GP handler ran, for a #GP(0) raised at `at`.
  void expect_gp_at(const uint8_t* at) {
    ASSERT_EQ(vm_.run(), NVMM_VCPU_EXIT_IO) << vm_.describe_exit() << " (no #GP handler ran)";
    EXPECT_EQ(vm_.exit().u.io.npc, GUEST_GPA(long_msr, long_msr_gp_report_next));
    vm_.get(NVMM_X64_STATE_GPRS);
    EXPECT_EQ(vm_.state().gprs[NVMM_X64_GPR_RBX], 0u) << "error code";
    const uint64_t rsp = vm_.state().gprs[NVMM_X64_GPR_RSP];
    ASSERT_EQ(rsp, GUEST_STACK_TOP - 5 * 8u) << "one interrupt frame";
    EXPECT_EQ(vm_.peek<uint64_t>(rsp), GUEST_GPA(long_msr, at)) << "faulting RIP";
  }
};

TEST_F(MsrTest, AnsweredByTheVmm) {
  constexpr uint64_t kRead = 0xCAFEF00D12345678ULL;
  ASSERT_NO_FATAL_FAILURE(expect_rdmsr_exit());
  answer_rdmsr(kRead);
  ASSERT_NO_FATAL_FAILURE(expect_wrmsr_exit());
  EXPECT_EQ(vm_.peek<uint64_t>(GUEST_DATA_GPA), kRead) << "EDX:EAX the guest read";
  vm_.state().gprs[NVMM_X64_GPR_RIP] = vm_.exit().u.wrmsr.npc;
  vm_.set(NVMM_X64_STATE_GPRS);
  ASSERT_EQ(vm_.run(), NVMM_VCPU_EXIT_IO) << vm_.describe_exit();
  EXPECT_EQ(vm_.exit().u.io.npc, GUEST_GPA(long_msr, long_msr_done_next));
}

TEST_F(MsrTest, GpInjectedByTheVmm) {
  ASSERT_NO_FATAL_FAILURE(expect_rdmsr_exit());
  vm_.vcpu()->event->type = NVMM_VCPU_EVENT_EXCP;
  vm_.vcpu()->event->vector = 13;
  vm_.vcpu()->event->u.excp.error = 0;
  ASSERT_EQ(nvmm_vcpu_inject(vm_.mach(), vm_.vcpu()), 0);
  expect_gp_at(long_msr_rd);
}

TEST_F(MsrTest, UnansweredRdmsrIsGp) {
  ASSERT_NO_FATAL_FAILURE(expect_rdmsr_exit());
  expect_gp_at(long_msr_rd);
}

TEST_F(MsrTest, UnansweredWrmsrIsGp) {
  ASSERT_NO_FATAL_FAILURE(expect_rdmsr_exit());
  answer_rdmsr(0);
  ASSERT_NO_FATAL_FAILURE(expect_wrmsr_exit());
  expect_gp_at(long_msr_wr);
}

// KVM's MWAIT quirks are off and KVM's CPUID has no MONITOR: where NetBSD
// exits with MONITOR/MWAIT for the VMM to inject #UD, KVM raises it itself.
class MwaitTest : public NvmmTest {
 protected:
  void SetUp() override {
    NvmmTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    if (host_is_pvm()) {
      // kvm-pvm interprets CPL0 code with KVM's instruction emulator, which
      // does not decode MONITOR/MWAIT: the run ends INVALID (emulation
      // failure), and at CPL3 the CPU faults without asking KVM.
      GTEST_SKIP() << "*** kvm-pvm cannot emulate MONITOR/MWAIT at CPL0: SKIPPED ***";
    }
  }

  void expect_ud_at(const uint8_t* at) {
    vm_.load(GUEST_CODE(long_mwait));
    vm_.set_idt_gate(6, GUEST_GPA(long_mwait, long_mwait_ud));
    vm_.enter_long_mode(GUEST_GPA(long_mwait, at));
    vm_.state().gprs[NVMM_X64_GPR_RAX] = GUEST_DATA_GPA;
    vm_.set(NVMM_X64_STATE_GPRS);
    ASSERT_EQ(vm_.run(), NVMM_VCPU_EXIT_IO) << vm_.describe_exit() << " (no #UD handler ran)";
    EXPECT_EQ(vm_.exit().u.io.npc, GUEST_GPA(long_mwait, long_mwait_report_next));
    vm_.get(NVMM_X64_STATE_GPRS);
    EXPECT_EQ(vm_.peek<uint64_t>(vm_.state().gprs[NVMM_X64_GPR_RSP]), GUEST_GPA(long_mwait, at))
        << "faulting RIP";
  }
};

TEST_F(MwaitTest, MonitorIsUd) { expect_ud_at(long_mwait_monitor); }

TEST_F(MwaitTest, MwaitIsUd) { expect_ud_at(long_mwait_mwait); }

}  // namespace
}  // namespace vmruntime::nvmm_test
