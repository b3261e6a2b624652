// SPDX-License-Identifier: BSD-2-Clause
// The x86 vCPU configurations: NVMM_VCPU_CONF_CPUID masks change what the
// guest's CPUID returns (and bad or surplus configurations fail as on
// NetBSD); NVMM_VCPU_CONF_TPR makes a guest's lowering of CR8 an exit.
#include "guest_vm.h"

#include <cpuid.h>

#include <cstdio>
#include <cstring>

GUEST_SNIPPET(long_cpuid);
GUEST_SNIPPET(long_cpuid_policy);
GUEST_SNIPPET(long_cpuid_topology);
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

// The guest sees NVMM's CPUID, not KVM's: NVMM's hypervisor leaves, no
// PMU or power leaves, the vendor's maximum leaves, no SVM or RDTSCP, and
// the host's MAXPHYADDR; and, where the host answers leaves 1, 7 and 0xD
// from the vCPU's table (kvm-pvm gives the host CPU's own there), no
// x2APIC, TSC-deadline, MONITOR, VMX, PDCM, MTRR, MCE, PKU or AVX-512, and
// XSAVE state of x87 and SSE only.  cpuid_policy_test checks each leaf of
// the table itself.
TEST_F(ConfTest, TheGuestSeesNvmmsCpuidNotKvms) {
  vm_.load(GUEST_CODE(long_cpuid_policy));
  vm_.enter_long_mode(GUEST_CODE_GPA);
  ASSERT_EQ(vm_.run(), NVMM_VCPU_EXIT_HALTED) << vm_.describe_exit();
  auto leaf = [&](int i) { return vm_.peek<CpuidRegs>(GUEST_DATA_GPA + 16 * i); };
  const CpuidRegs basic = leaf(0), l1 = leaf(1), l5 = leaf(2), l6 = leaf(3), l7 = leaf(4), la = leaf(5),
                  ld = leaf(6), hv = leaf(7), timing = leaf(8), ext = leaf(9), ext1 = leaf(10), ext8 = leaf(11);
  const bool intel = basic.ebx == 0x756e6547;  // "Genu"
  EXPECT_LE(basic.eax, intel ? 0x16u : 0xDu);

  EXPECT_EQ(hv.eax, 0x40000010u);
  EXPECT_EQ(hypervisor_signature(hv.ebx, hv.ecx, hv.edx), "___ NVMM ___");
  EXPECT_EQ(timing.ebx | timing.ecx | timing.edx, 0u);
  std::printf("leaf 0x40000010: TSC %u kHz\n", timing.eax);
  EXPECT_EQ(l5.eax | l5.ebx | l5.ecx | l5.edx, 0u) << "MONITOR leaf";
  EXPECT_EQ(l6.eax | l6.ebx | l6.ecx | l6.edx, 0u) << "power leaf";
  EXPECT_EQ(la.eax | la.ebx | la.ecx | la.edx, 0u) << "PMU leaf";
  EXPECT_LE(ext.eax, intel ? 0x80000008u : 0x8000001Fu);
  EXPECT_EQ(ext1.ecx & (1u << 2), 0u) << "SVM";
  EXPECT_EQ(ext1.edx & (1u << 27), 0u) << "RDTSCP";
  EXPECT_NE(ext1.edx & (1u << 29), 0u) << "long mode";
  unsigned eax, ebx, ecx, edx;
  ASSERT_TRUE(__get_cpuid(0x80000008, &eax, &ebx, &ecx, &edx));
  EXPECT_EQ(ext8.eax & 0xFF, eax & 0xFF) << "MAXPHYADDR";
  EXPECT_EQ(ext8.edx, 0u);

  if (host_is_pvm()) {
    std::printf("*** kvm-pvm answers CPUID leaves 1, 7 and 0xD from the host CPU: their checks SKIPPED ***\n");
    return;
  }
  EXPECT_NE(l1.ecx & (1u << 31), 0u) << "hypervisor bit";
  for (unsigned bit : {3u, 5u, 6u, 15u, 21u, 24u}) {  // MONITOR VMX SMX PDCM x2APIC TSC-deadline
    EXPECT_EQ(l1.ecx & (1u << bit), 0u) << "leaf 1 ECX bit " << bit;
  }
  for (unsigned bit : {7u, 12u, 14u, 21u, 22u, 29u}) {  // MCE MTRR MCA DS ACPI TM
    EXPECT_EQ(l1.edx & (1u << bit), 0u) << "leaf 1 EDX bit " << bit;
  }
  EXPECT_EQ(l1.ebx >> 24, 0u) << "vCPU 0's APIC ID";
  EXPECT_EQ(l7.eax, 0u);
  for (unsigned bit : {2u, 4u, 11u, 16u, 29u, 31u}) {  // SGX HLE RTM AVX512F SHA AVX512VL
    EXPECT_EQ(l7.ebx & (1u << bit), 0u) << "leaf 7 EBX bit " << bit;
  }
  EXPECT_EQ(l7.ecx & (1u << 3), 0u) << "PKU";
  EXPECT_EQ(l7.edx & (1u << 29), 0u) << "ARCH_CAPABILITIES";
  EXPECT_EQ(ld.eax & ~3u, 0u) << "XSAVE state beyond x87 and SSE";
  EXPECT_EQ(ld.edx, 0u);
}

// Leaf 0xB as NetBSD's VMX backend gives it: the machine's vCPUs (counted
// when the vCPU first runs) as cores of one package, the x2APIC ID in EDX.
TEST_F(ConfTest, TopologyLeafCountsTheMachinesVcpus) {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  __get_cpuid(0, &eax, &ebx, &ecx, &edx);
  if (ebx != 0x756e6547 || eax < 0xB) {
    GTEST_SKIP() << "*** NVMM's leaf 0xB is Intel's: SKIPPED on this host ***";
  }
  nvmm_vcpu second{}, third{};
  ASSERT_EQ(nvmm_vcpu_create(vm_.mach(), 1, &second), 0);
  ASSERT_EQ(nvmm_vcpu_create(vm_.mach(), 2, &third), 0);
  vm_.load(GUEST_CODE(long_cpuid_topology));
  vm_.enter_long_mode(second, GUEST_CODE_GPA);
  ASSERT_EQ(nvmm_vcpu_run(vm_.mach(), &second), 0);
  EXPECT_EQ(second.exit->reason, NVMM_VCPU_EXIT_HALTED);
  const CpuidRegs smt = vm_.peek<CpuidRegs>(GUEST_DATA_GPA), core = vm_.peek<CpuidRegs>(GUEST_DATA_GPA + 16),
                  past = vm_.peek<CpuidRegs>(GUEST_DATA_GPA + 32);
  EXPECT_EQ(smt.ecx, 0x100u) << "level 0, SMT";
  EXPECT_EQ(smt.edx, 1u) << "x2APIC ID";
  EXPECT_EQ(core.eax, 1u) << "floor(log2(3))";
  EXPECT_EQ(core.ebx, 3u) << "vCPUs";
  EXPECT_EQ(core.ecx, 0x201u) << "level 1, core";
  EXPECT_EQ(core.edx, 1u);
  EXPECT_EQ(past.eax | past.ebx | (past.ecx >> 8), 0u) << "level 2 invalid";
  EXPECT_EQ(nvmm_vcpu_destroy(vm_.mach(), &second), 0);
  EXPECT_EQ(nvmm_vcpu_destroy(vm_.mach(), &third), 0);
}

}  // namespace
}  // namespace vmruntime::nvmm_test
