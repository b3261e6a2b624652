// SPDX-License-Identifier: BSD-2-Clause
// Event injection reaches the guest's handlers: #UD through the IVT in real
// mode and through the IDT in long mode, #GP with its error code, an
// external interrupt (INTR 0x30) and an NMI (INTR vector 2).
#include "guest_vm.h"

GUEST_SNIPPET(real_inject);
GUEST_LABEL(real_inject_handler);
GUEST_LABEL(real_inject_main);
GUEST_EXIT_LABEL(real_inject_out);
GUEST_SNIPPET(long_inject);
GUEST_LABEL(long_inject_nmi);
GUEST_LABEL(long_inject_ud);
GUEST_LABEL(long_inject_gp);
GUEST_LABEL(long_inject_intr);
GUEST_LABEL(long_inject_main);
GUEST_EXIT_LABEL(long_inject_report);

namespace vmruntime::nvmm_test {
namespace {

using InjectTest = NvmmTest;

constexpr uint64_t kRflagsIf = 0x200;

void inject(GuestVm& vm, unsigned type, uint8_t vector, uint64_t error) {
  vm.vcpu()->event->type = type;
  vm.vcpu()->event->vector = vector;
  vm.vcpu()->event->u.excp.error = error;
  ASSERT_EQ(nvmm_vcpu_inject(vm.mach(), vm.vcpu()), 0) << std::strerror(errno);
}

TEST_F(InjectTest, UdInRealModeThroughTheIvt) {
  vm_.load(GUEST_CODE(real_inject));
  vm_.set_ivt(6, GUEST_CODE_GPA >> 4, uint16_t(GUEST_GPA(real_inject, real_inject_handler) - GUEST_CODE_GPA));
  vm_.enter_real_mode(GUEST_GPA(real_inject, real_inject_main));
  inject(vm_, NVMM_VCPU_EVENT_EXCP, 6, 0);

  ASSERT_EQ(vm_.run(), NVMM_VCPU_EXIT_IO) << vm_.describe_exit();
  vm_.get(NVMM_X64_STATE_GPRS);
  const uint64_t* gprs = vm_.state().gprs;
  EXPECT_EQ(vm_.exit().u.io.npc + GUEST_CODE_GPA, GUEST_GPA(real_inject, real_inject_out_next));
  EXPECT_EQ(gprs[NVMM_X64_GPR_RAX] & 0xFFFF, GUEST_GPA(real_inject, real_inject_main) - GUEST_CODE_GPA)
      << "pushed IP";
  EXPECT_EQ(gprs[NVMM_X64_GPR_RBX] & 0xFFFF, uint64_t{GUEST_CODE_GPA >> 4}) << "pushed CS";
  EXPECT_EQ(gprs[NVMM_X64_GPR_RCX] & 0xFFFF, 0x2u) << "pushed FLAGS";
}

class LongInjectTest : public NvmmTest {
 protected:
  void SetUp() override {
    NvmmTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    vm_.load(GUEST_CODE(long_inject));
    vm_.set_idt_gate(2, GUEST_GPA(long_inject, long_inject_nmi));
    vm_.set_idt_gate(6, GUEST_GPA(long_inject, long_inject_ud));
    vm_.set_idt_gate(13, GUEST_GPA(long_inject, long_inject_gp));
    vm_.set_idt_gate(0x30, GUEST_GPA(long_inject, long_inject_intr));
    vm_.enter_long_mode(GUEST_GPA(long_inject, long_inject_main));
  }

  // Runs to the handler's report and checks it, and the interrupt frame
  // at RSP (after the #GP handler popped the error code).
  void expect_handler_ran(uint8_t vector) {
    ASSERT_EQ(vm_.run(), NVMM_VCPU_EXIT_IO) << vm_.describe_exit() << " (no handler ran)";
    vm_.get(NVMM_X64_STATE_GPRS);
    const uint64_t* gprs = vm_.state().gprs;
    EXPECT_EQ(vm_.exit().u.io.npc, GUEST_GPA(long_inject, long_inject_report_next));
    EXPECT_EQ(gprs[NVMM_X64_GPR_RAX], vector) << "the handler that ran";
    const uint64_t rsp = gprs[NVMM_X64_GPR_RSP];
    ASSERT_EQ(rsp, GUEST_STACK_TOP - 5 * 8u) << "a 64-bit interrupt frame";
    EXPECT_EQ(vm_.peek<uint64_t>(rsp), GUEST_GPA(long_inject, long_inject_main)) << "saved RIP";
    EXPECT_EQ(vm_.peek<uint64_t>(rsp + 8), uint64_t{GUEST_SEL_CODE64}) << "saved CS";
    EXPECT_EQ(vm_.peek<uint64_t>(rsp + 24), uint64_t{GUEST_STACK_TOP}) << "saved RSP";
  }
};

TEST_F(LongInjectTest, UdThroughTheIdt) {
  inject(vm_, NVMM_VCPU_EVENT_EXCP, 6, 0);
  expect_handler_ran(6);
}

TEST_F(LongInjectTest, GpWithErrorCode) {
  inject(vm_, NVMM_VCPU_EVENT_EXCP, 13, 0x1234);
  expect_handler_ran(13);
  EXPECT_EQ(vm_.state().gprs[NVMM_X64_GPR_RBX], 0x1234u) << "error code the handler popped";
}

// The VMM only injects an external interrupt when the guest can take it.
TEST_F(LongInjectTest, ExternalInterrupt) {
  vm_.state().gprs[NVMM_X64_GPR_RFLAGS] |= kRflagsIf;
  vm_.set(NVMM_X64_STATE_GPRS);
  inject(vm_, NVMM_VCPU_EVENT_INTR, 0x30, 0);
  expect_handler_ran(0x30);
}

TEST_F(LongInjectTest, Nmi) {
  inject(vm_, NVMM_VCPU_EVENT_INTR, 2, 0);
  expect_handler_ran(2);
}

}  // namespace
}  // namespace vmruntime::nvmm_test
