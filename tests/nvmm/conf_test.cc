// SPDX-License-Identifier: BSD-2-Clause
// The x86 vCPU configurations: NVMM_VCPU_CONF_CPUID masks change what the
// guest's CPUID returns (and bad or surplus configurations fail as on
// NetBSD); NVMM_VCPU_CONF_TPR makes a guest's lowering of CR8 an exit.
#include "guest_vm.h"

GUEST_SNIPPET(long_cpuid);
GUEST_SNIPPET(long_tpr);
GUEST_EXIT_LABEL(long_tpr_raise);
GUEST_EXIT_LABEL(long_tpr_lower);

namespace vmruntime::nvmm_test {
namespace {

using ConfTest = NvmmTest;

constexpr uint32_t CPUID_EDX_APIC = 1u << 9;  // leaf 1

struct CpuidRegs {
  uint32_t eax, ebx, ecx, edx;
};

// What long_cpuid saw of leaves 0x1 and 0x80000001.
struct GuestCpuid {
  CpuidRegs leaf1;
  CpuidRegs ext1;
};

GuestCpuid run_cpuid_guest(GuestVm& vm) {
  vm.load(GUEST_CODE(long_cpuid));
  vm.enter_long_mode(GUEST_CODE_GPA);
  EXPECT_EQ(vm.run(), NVMM_VCPU_EXIT_HALTED) << vm.describe_exit();
  return {vm.peek<CpuidRegs>(GUEST_DATA_GPA), vm.peek<CpuidRegs>(GUEST_DATA_GPA + 16)};
}

nvmm_vcpu_conf_cpuid mask(uint32_t leaf) {
  nvmm_vcpu_conf_cpuid conf{};
  conf.mask = 1;
  conf.leaf = leaf;
  return conf;
}

int configure_cpuid(GuestVm& vm, nvmm_vcpu_conf_cpuid conf) {
  return nvmm_vcpu_configure(vm.mach(), vm.vcpu(), NVMM_VCPU_CONF_CPUID, &conf);
}

uint32_t lowest_bit(uint32_t bits) { return bits & -bits; }

TEST_F(ConfTest, Capability) {
  struct nvmm_capability cap {};
  ASSERT_EQ(nvmm_capability(&cap), 0) << std::strerror(errno);
  EXPECT_EQ(cap.arch.vcpu_conf_support, NVMM_CAP_ARCH_VCPU_CONF_CPUID | NVMM_CAP_ARCH_VCPU_CONF_TPR);
  EXPECT_EQ(cap.arch.conf_cpuid_maxops, 32u);
}

// Leaf 0x80000001 ECX: kvm-pvm lets a VMM change it (it keeps the host's
// leaf 1 ECX whatever KVM_SET_CPUID2 says).  One bit set, one taken away.
class CpuidMaskTest : public ConfTest {
 protected:
  void SetUp() override {
    ConfTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    plain_ = run_cpuid_guest(vm_);
    ASSERT_EQ(masked_.create(), 0);
  }
  GuestCpuid plain_{};
  GuestVm masked_;
};

TEST_F(CpuidMaskTest, SetAndDelete) {
  nvmm_vcpu_conf_cpuid ext1 = mask(0x80000001);
  ext1.u.mask.set.ecx = lowest_bit(~plain_.ext1.ecx);
  ext1.u.mask.del.ecx = lowest_bit(plain_.ext1.ecx);
  ASSERT_NE(ext1.u.mask.del.ecx, 0u) << "leaf 0x80000001 ECX is empty";
  ASSERT_EQ(configure_cpuid(masked_, ext1), 0) << std::strerror(errno);

  const GuestCpuid masked = run_cpuid_guest(masked_);
  EXPECT_EQ(masked.ext1.ecx, (plain_.ext1.ecx & ~ext1.u.mask.del.ecx) | ext1.u.mask.set.ecx);
  EXPECT_EQ(masked.ext1.edx, plain_.ext1.edx);
  EXPECT_EQ(masked.leaf1.ecx, plain_.leaf1.ecx);
  EXPECT_EQ(masked.leaf1.edx, plain_.leaf1.edx);
}

// What a VMM without a local APIC does (Linux then keeps to the 8259).  KVM
// recomputes this bit from IA32_APIC_BASE.EN, not from KVM_SET_CPUID2.
TEST_F(CpuidMaskTest, DeleteApic) {
  ASSERT_NE(plain_.leaf1.edx & CPUID_EDX_APIC, 0u) << "KVM offers no APIC bit to take away";
  nvmm_vcpu_conf_cpuid leaf1 = mask(0x1);
  leaf1.u.mask.del.edx = CPUID_EDX_APIC;
  ASSERT_EQ(configure_cpuid(masked_, leaf1), 0) << std::strerror(errno);
  EXPECT_EQ(run_cpuid_guest(masked_).leaf1.edx, plain_.leaf1.edx & ~CPUID_EDX_APIC);
}

// mask = 0, exit = 0 drops the leaf's configuration.
TEST_F(CpuidMaskTest, Removed) {
  nvmm_vcpu_conf_cpuid ext1 = mask(0x80000001);
  ext1.u.mask.del.ecx = lowest_bit(plain_.ext1.ecx);
  ASSERT_EQ(configure_cpuid(masked_, ext1), 0) << std::strerror(errno);
  nvmm_vcpu_conf_cpuid remove{};
  remove.leaf = 0x80000001;
  ASSERT_EQ(configure_cpuid(masked_, remove), 0) << std::strerror(errno);
  EXPECT_EQ(run_cpuid_guest(masked_).ext1.ecx, plain_.ext1.ecx);
}

// Expects call to return -1 with errno == err.
#define EXPECT_ERRNO(call, err)                                       \
  do {                                                                \
    errno = 0;                                                        \
    EXPECT_EQ((call), -1) << #call;                                   \
    EXPECT_EQ(errno, (err)) << #call << ": " << std::strerror(errno); \
  } while (0)

TEST_F(ConfTest, CpuidErrors) {
  nvmm_vcpu_conf_cpuid both = mask(0x1);
  both.exit = 1;
  EXPECT_ERRNO(configure_cpuid(vm_, both), EINVAL);

  nvmm_vcpu_conf_cpuid overlap = mask(0x1);
  overlap.u.mask.set.ecx = 0x3;
  overlap.u.mask.del.ecx = 0x2;
  EXPECT_ERRNO(configure_cpuid(vm_, overlap), EINVAL);

  // KVM answers CPUID in the kernel, so no leaf can exit to the VMM.
  nvmm_vcpu_conf_cpuid exits{};
  exits.exit = 1;
  exits.leaf = 0x1;
  EXPECT_ERRNO(configure_cpuid(vm_, exits), EINVAL);
}

// NetBSD keeps at most 32 leaves per vCPU; replacing one is not adding one.
TEST_F(ConfTest, CpuidLeafLimit) {
  constexpr uint32_t kFirstLeaf = 0x40001000;  // no such leaves: the masks change nothing
  for (uint32_t i = 0; i < 32; i++) {
    ASSERT_EQ(configure_cpuid(vm_, mask(kFirstLeaf + i)), 0) << "leaf " << i << ": " << std::strerror(errno);
  }
  EXPECT_ERRNO(configure_cpuid(vm_, mask(kFirstLeaf + 32)), ENOBUFS);
  EXPECT_EQ(configure_cpuid(vm_, mask(kFirstLeaf + 5)), 0) << std::strerror(errno);
  nvmm_vcpu_conf_cpuid remove{};
  remove.leaf = kFirstLeaf;
  ASSERT_EQ(configure_cpuid(vm_, remove), 0) << std::strerror(errno);
  EXPECT_EQ(configure_cpuid(vm_, mask(kFirstLeaf + 32)), 0) << std::strerror(errno);
}

void configure_tpr_exit(GuestVm& vm) {
  nvmm_vcpu_conf_tpr tpr{};
  tpr.exit_changed = 1;
  ASSERT_EQ(nvmm_vcpu_configure(vm.mach(), vm.vcpu(), NVMM_VCPU_CONF_TPR, &tpr), 0)
      << std::strerror(errno);
}

void expect_cr8(GuestVm& vm, uint64_t value) {
  vm.get(NVMM_X64_STATE_CRS);
  EXPECT_EQ(vm.state().crs[NVMM_X64_CR_CR8], value);
}

// KVM reports only a lowered TPR: the one change that can unmask a pending
// interrupt, and so the one a VMM must act on.  The raise runs on.
TEST_F(ConfTest, TprLoweredIsAnExit) {
  if (host_is_pvm()) {
    // kvm-pvm interprets CPL0 code; its emulated MOV to CR8 updates the TPR
    // but never exits with KVM_EXIT_SET_TPR.
    GTEST_SKIP() << "*** kvm-pvm reports no TPR change: SKIPPED ***";
  }
  ASSERT_NO_FATAL_FAILURE(configure_tpr_exit(vm_));
  vm_.load(GUEST_CODE(long_tpr));
  vm_.enter_long_mode(GUEST_CODE_GPA);
  ASSERT_EQ(vm_.run(), NVMM_VCPU_EXIT_TPR_CHANGED) << vm_.describe_exit();
  EXPECT_EQ(vm_.exit().exitstate.cr8, 3u);
  vm_.get(NVMM_X64_STATE_GPRS);
  EXPECT_EQ(vm_.state().gprs[NVMM_X64_GPR_RIP], GUEST_GPA(long_tpr, long_tpr_lower_next))
      << "the write is done";
  expect_cr8(vm_, 3);
  EXPECT_EQ(vm_.run(), NVMM_VCPU_EXIT_HALTED) << vm_.describe_exit();
}

TEST_F(ConfTest, NoTprExitUnlessConfigured) {
  vm_.load(GUEST_CODE(long_tpr));
  vm_.enter_long_mode(GUEST_CODE_GPA);
  ASSERT_EQ(vm_.run(), NVMM_VCPU_EXIT_HALTED) << vm_.describe_exit();
  EXPECT_EQ(vm_.exit().exitstate.cr8, 3u);
  expect_cr8(vm_, 3);
}

}  // namespace
}  // namespace vmruntime::nvmm_test
