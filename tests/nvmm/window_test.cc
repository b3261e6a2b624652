// SPDX-License-Identifier: BSD-2-Clause
// Interrupt and NMI windows, the way a VMM with a PIC uses them: with
// intr.int_window_exiting set, the run returns INT_READY once the guest can
// take an interrupt (IF set, STI shadow over) and an INTR injected then
// reaches its handler; nmi_window_exiting gives NMI_READY and INTR vector 2
// then reaches the NMI handler.  exitstate describes the vCPU on every exit.
#include "guest_vm.h"

GUEST_SNIPPET(long_window);
GUEST_EXIT_LABEL(long_window_masked);
GUEST_EXIT_LABEL(long_window_shadowed);
GUEST_LABEL(long_window_open);
GUEST_LABEL(long_window_handler);
GUEST_EXIT_LABEL(long_window_report);
GUEST_SNIPPET(user_window);
GUEST_LABEL(user_window_loop);
GUEST_LABEL(user_window_handler);
GUEST_EXIT_LABEL(user_window_report);
GUEST_SNIPPET(long_nmi);
GUEST_LABEL(long_nmi_handler);
GUEST_EXIT_LABEL(long_nmi_first);
GUEST_EXIT_LABEL(long_nmi_second);
GUEST_LABEL(long_nmi_main);

namespace vmruntime::nvmm_test {
namespace {

constexpr uint64_t kRflagsIf = 0x200;

class WindowTest : public NvmmTest {
 protected:
  // exitstate against getstate after the exit, as QEMU reads both.
  void expect_exitstate_consistent() {
    vm_.get(NVMM_X64_STATE_GPRS | NVMM_X64_STATE_INTR);
    const auto& es = vm_.exit().exitstate;
    EXPECT_EQ(es.rflags, vm_.state().gprs[NVMM_X64_GPR_RFLAGS]) << vm_.describe_exit();
    EXPECT_EQ(es.int_shadow, vm_.state().intr.int_shadow) << vm_.describe_exit();
    EXPECT_EQ(es.int_window_exiting, vm_.state().intr.int_window_exiting) << vm_.describe_exit();
    EXPECT_EQ(es.nmi_window_exiting, vm_.state().intr.nmi_window_exiting) << vm_.describe_exit();
    EXPECT_EQ(es.evt_pending, vm_.state().intr.evt_pending) << vm_.describe_exit();
  }

  void request_window(bool interrupt, bool nmi) {
    vm_.get(NVMM_X64_STATE_INTR);
    vm_.state().intr.int_window_exiting = interrupt;
    vm_.state().intr.nmi_window_exiting = nmi;
    vm_.set(NVMM_X64_STATE_INTR);
  }

  void inject_intr(uint8_t vector) {
    vm_.vcpu()->event->type = NVMM_VCPU_EVENT_INTR;
    vm_.vcpu()->event->vector = vector;
    ASSERT_EQ(nvmm_vcpu_inject(vm_.mach(), vm_.vcpu()), 0);
  }

  uint64_t saved_rip() {
    vm_.get(NVMM_X64_STATE_GPRS);
    return vm_.peek<uint64_t>(vm_.state().gprs[NVMM_X64_GPR_RSP]);
  }
};

void answer_zero(nvmm_mem* mem) { std::memset(mem->data, 0, mem->size); }

TEST_F(WindowTest, IntReadyWhenTheGuestEnablesInterrupts) {
  if (host_is_pvm()) {
    // kvm-pvm interprets CPL0 code without checking the window request (the
    // guest runs on into its HLT), and CLI at CPL3 faults there even with
    // IOPL 3: no guest can open the window with STI.
    GTEST_SKIP() << "*** kvm-pvm has no interrupt-window exit for STI: SKIPPED ***";
  }
  nvmm_assist_callbacks cbs{nullptr, answer_zero};
  ASSERT_EQ(nvmm_vcpu_configure(vm_.mach(), vm_.vcpu(), NVMM_VCPU_CONF_CALLBACKS, &cbs), 0);
  vm_.load(GUEST_CODE(long_window));
  vm_.set_idt_gate(0x30, GUEST_GPA(long_window, long_window_handler));
  vm_.enter_long_mode(GUEST_CODE_GPA);
  request_window(true, false);

  // Interrupts off: the request stays armed.
  ASSERT_EQ(vm_.run(), NVMM_VCPU_EXIT_IO) << vm_.describe_exit();
  EXPECT_EQ(vm_.exit().u.io.npc, GUEST_GPA(long_window, long_window_masked_next));
  EXPECT_EQ(vm_.exit().exitstate.rflags & kRflagsIf, 0u);
  EXPECT_EQ(vm_.exit().exitstate.int_window_exiting, 1u);
  EXPECT_EQ(vm_.exit().exitstate.evt_pending, 0u);
  expect_exitstate_consistent();

  // STI done, its shadow still covers the MMIO read.
  ASSERT_EQ(vm_.run(), NVMM_VCPU_EXIT_MEMORY) << vm_.describe_exit();
  EXPECT_NE(vm_.exit().exitstate.rflags & kRflagsIf, 0u);
  EXPECT_EQ(vm_.exit().exitstate.int_shadow, 1u);
  EXPECT_EQ(vm_.exit().exitstate.int_window_exiting, 1u);
  expect_exitstate_consistent();
  EXPECT_EQ(vm_.state().gprs[NVMM_X64_GPR_RIP], GUEST_GPA(long_window, long_window_shadowed));
  ASSERT_EQ(nvmm_assist_mem(vm_.mach(), vm_.vcpu()), 0) << std::strerror(errno);

  ASSERT_EQ(vm_.run(), NVMM_VCPU_EXIT_INT_READY) << vm_.describe_exit();
  EXPECT_NE(vm_.exit().exitstate.rflags & kRflagsIf, 0u);
  EXPECT_EQ(vm_.exit().exitstate.int_shadow, 0u);
  EXPECT_EQ(vm_.exit().exitstate.int_window_exiting, 0u) << "the exit disarms the request";
  expect_exitstate_consistent();
  EXPECT_EQ(vm_.state().gprs[NVMM_X64_GPR_RIP], GUEST_GPA(long_window, long_window_open));

  inject_intr(0x30);
  ASSERT_EQ(vm_.run(), NVMM_VCPU_EXIT_IO) << vm_.describe_exit() << " (the handler did not run)";
  EXPECT_EQ(vm_.exit().u.io.npc, GUEST_GPA(long_window, long_window_report_next));
  EXPECT_EQ(vm_.exit().exitstate.rflags & kRflagsIf, 0u) << "an interrupt gate clears IF";
  EXPECT_EQ(vm_.exit().exitstate.evt_pending, 0u);
  expect_exitstate_consistent();
  EXPECT_EQ(saved_rip(), GUEST_GPA(long_window, long_window_open));
}

// The window is open already: the run returns INT_READY before the guest
// gets anywhere, and the interrupt then goes through the TSS's RSP0 stack.
TEST_F(WindowTest, IntReadyAtOnceWhenInterruptsAreOn) {
  vm_.load(GUEST_CODE(user_window));
  vm_.set_idt_gate(0x30, GUEST_GPA(user_window, user_window_handler));
  vm_.poke(GUEST_TSS_GPA + 4, uint64_t{GUEST_STACK_TOP});  // RSP0
  vm_.enter_long_mode(GUEST_CODE_GPA, true);
  vm_.state().gprs[NVMM_X64_GPR_RFLAGS] |= kRflagsIf;
  vm_.set(NVMM_X64_STATE_GPRS);
  request_window(true, false);

  ASSERT_EQ(vm_.run(), NVMM_VCPU_EXIT_INT_READY) << vm_.describe_exit();
  EXPECT_NE(vm_.exit().exitstate.rflags & kRflagsIf, 0u);
  EXPECT_EQ(vm_.exit().exitstate.int_shadow, 0u);
  EXPECT_EQ(vm_.exit().exitstate.int_window_exiting, 0u) << "the exit disarms the request";
  expect_exitstate_consistent();

  inject_intr(0x30);
  ASSERT_EQ(vm_.run(), NVMM_VCPU_EXIT_IO) << vm_.describe_exit() << " (the handler did not run)";
  EXPECT_EQ(vm_.exit().u.io.npc, GUEST_GPA(user_window, user_window_report_next));
  expect_exitstate_consistent();
  EXPECT_EQ(saved_rip(), GUEST_GPA(user_window, user_window_loop));
  const uint64_t frame = vm_.state().gprs[NVMM_X64_GPR_RSP];
  EXPECT_EQ(frame, GUEST_STACK_TOP - 5 * 8u) << "a frame on the RSP0 stack";
  EXPECT_EQ(vm_.peek<uint64_t>(frame + 8), uint64_t{GUEST_SEL_UCODE}) << "saved CS";
}

// Without the request, the guest runs on into its HLT.
TEST_F(WindowTest, NoIntReadyUnlessRequested) {
  nvmm_assist_callbacks cbs{nullptr, answer_zero};
  ASSERT_EQ(nvmm_vcpu_configure(vm_.mach(), vm_.vcpu(), NVMM_VCPU_CONF_CALLBACKS, &cbs), 0);
  vm_.load(GUEST_CODE(long_window));
  vm_.enter_long_mode(GUEST_CODE_GPA);
  ASSERT_EQ(vm_.run(), NVMM_VCPU_EXIT_IO) << vm_.describe_exit();
  EXPECT_EQ(vm_.exit().exitstate.int_window_exiting, 0u);
  ASSERT_EQ(vm_.run(), NVMM_VCPU_EXIT_MEMORY) << vm_.describe_exit();
  ASSERT_EQ(nvmm_assist_mem(vm_.mach(), vm_.vcpu()), 0) << std::strerror(errno);
  EXPECT_EQ(vm_.run(), NVMM_VCPU_EXIT_HALTED) << vm_.describe_exit();
}

class NmiWindowTest : public WindowTest {
 protected:
  void SetUp() override {
    WindowTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    vm_.load(GUEST_CODE(long_nmi));
    vm_.set_idt_gate(2, GUEST_GPA(long_nmi, long_nmi_handler));
    vm_.enter_long_mode(GUEST_GPA(long_nmi, long_nmi_main));
  }

  // Runs into the NMI handler's first OUT; RBX counts the NMIs so far.
  void expect_nmi_handler(uint64_t count) {
    ASSERT_EQ(vm_.run(), NVMM_VCPU_EXIT_IO) << vm_.describe_exit() << " (no NMI handler ran)";
    EXPECT_EQ(vm_.exit().u.io.npc, GUEST_GPA(long_nmi, long_nmi_first_next));
    vm_.get(NVMM_X64_STATE_GPRS);
    EXPECT_EQ(vm_.state().gprs[NVMM_X64_GPR_RBX], count) << "NMIs taken";
    EXPECT_EQ(saved_rip(), GUEST_GPA(long_nmi, long_nmi_main));
  }
};

TEST_F(NmiWindowTest, NmiReadyThenNmi) {
  request_window(false, true);
  ASSERT_EQ(vm_.run(), NVMM_VCPU_EXIT_NMI_READY) << vm_.describe_exit();
  EXPECT_EQ(vm_.exit().exitstate.nmi_window_exiting, 0u) << "the exit disarms the request";
  expect_exitstate_consistent();
  inject_intr(2);
  expect_nmi_handler(1);
}

// An NMI injected while the guest is still in its NMI handler waits for
// the IRET; meanwhile the exits report it pending.
TEST_F(NmiWindowTest, SecondNmiWaitsForIret) {
  inject_intr(2);
  expect_nmi_handler(1);

  inject_intr(2);
  ASSERT_EQ(vm_.run(), NVMM_VCPU_EXIT_IO) << vm_.describe_exit();
  EXPECT_EQ(vm_.exit().u.io.npc, GUEST_GPA(long_nmi, long_nmi_second_next))
      << "the second NMI did not wait for the IRET";
  EXPECT_EQ(vm_.exit().exitstate.evt_pending, 1u);
  expect_exitstate_consistent();

  if (host_is_pvm()) {
    // kvm-pvm emulates the IRET (CPL0 code) and delivers the NMI it
    // unblocks only at the next exit: the guest's HLT comes first.
    GTEST_SKIP() << "*** kvm-pvm holds an NMI unblocked by IRET until the next exit: rest SKIPPED ***";
  }
  expect_nmi_handler(2);
}

}  // namespace
}  // namespace vmruntime::nvmm_test
