// SPDX-License-Identifier: BSD-2-Clause
// Which guest MSR accesses reach the VMM: exactly those NetBSD's kernel does
// not handle itself.  KVM's own MSRs (MSR 0, APIC_BASE, FEATURE_CONTROL,
// TSC_DEADLINE, its paravirtual clock and async-PF MSRs, x2APIC...) exit,
// the state's MSRS class stays in the kernel, and NetBSD's ignore list
// reads 0 and drops writes.  Every case runs on the same vCPU, from a state
// reset in between, as NetBSD's own test programs do.
#include <cpuid.h>

#include "guest_vm.h"

GUEST_SNIPPET(long_msr_one);
GUEST_EXIT_LABEL(long_msr_one_rd);
GUEST_EXIT_LABEL(long_msr_one_wr);
GUEST_EXIT_LABEL(long_msr_one_rd2);
GUEST_EXIT_LABEL(long_msr_one_done);
GUEST_LABEL(long_msr_one_gp);
GUEST_EXIT_LABEL(long_msr_one_gp_report);

namespace vmruntime::nvmm_test {
namespace {

bool host_is_intel() {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  __get_cpuid(0, &eax, &ebx, &ecx, &edx);
  return ebx == 0x756e6547;  // "Genu"
}

class MsrFilterTest : public NvmmTest {
 protected:
  void SetUp() override {
    NvmmTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    vm_.load(GUEST_CODE(long_msr_one));
    vm_.set_idt_gate(13, GUEST_GPA(long_msr_one, long_msr_one_gp));
  }

  // A fresh long-mode state on the snippet, whatever the last case left.
  void start(uint32_t msr, uint64_t write_value) {
    vm_.poke<uint64_t>(GUEST_DATA_GPA, 0);
    vm_.poke<uint64_t>(GUEST_DATA_GPA + 8, write_value);
    vm_.poke<uint64_t>(GUEST_DATA_GPA + 16, 0);
    vm_.enter_long_mode(GUEST_CODE_GPA);
    vm_.state().gprs[NVMM_X64_GPR_RCX] = msr;
    vm_.set(NVMM_X64_STATE_GPRS);
  }

  void answer_rdmsr(uint64_t value) {
    vm_.get(NVMM_X64_STATE_GPRS);
    uint64_t* gprs = vm_.state().gprs;
    gprs[NVMM_X64_GPR_RAX] = value & 0xFFFFFFFF;
    gprs[NVMM_X64_GPR_RDX] = value >> 32;
    gprs[NVMM_X64_GPR_RIP] = vm_.exit().u.rdmsr.npc;
    vm_.set(NVMM_X64_STATE_GPRS);
  }

  void expect_rdmsr(uint32_t msr, const uint8_t* at_next) {
    ASSERT_EQ(vm_.run(), NVMM_VCPU_EXIT_RDMSR) << vm_.describe_exit();
    EXPECT_EQ(vm_.exit().u.rdmsr.msr, msr);
    EXPECT_EQ(vm_.exit().u.rdmsr.npc, GUEST_GPA(long_msr_one, at_next));
  }

  void expect_done() {
    ASSERT_EQ(vm_.run(), NVMM_VCPU_EXIT_IO) << vm_.describe_exit();
    EXPECT_EQ(vm_.exit().u.io.npc, GUEST_GPA(long_msr_one, long_msr_one_done_next))
        << "port " << std::hex << vm_.exit().u.io.port << " (13 on port+1 is a #GP)";
  }

  // Read, write and read again, each answered by the VMM.
  void expect_all_three_exit(uint32_t msr) {
    const uint64_t first = 0x1234567800000000ULL | msr;
    const uint64_t second = 0x9ABCDEF000000000ULL | msr;
    const uint64_t written = 0x0F0E0D0C0B0A0908ULL ^ msr;
    start(msr, written);
    ASSERT_NO_FATAL_FAILURE(expect_rdmsr(msr, long_msr_one_rd_next));
    answer_rdmsr(first);
    ASSERT_EQ(vm_.run(), NVMM_VCPU_EXIT_WRMSR) << vm_.describe_exit();
    EXPECT_EQ(vm_.exit().u.wrmsr.msr, msr);
    EXPECT_EQ(vm_.exit().u.wrmsr.val, written);
    EXPECT_EQ(vm_.exit().u.wrmsr.npc, GUEST_GPA(long_msr_one, long_msr_one_wr_next));
    vm_.get(NVMM_X64_STATE_GPRS);
    vm_.state().gprs[NVMM_X64_GPR_RIP] = vm_.exit().u.wrmsr.npc;
    vm_.set(NVMM_X64_STATE_GPRS);
    ASSERT_NO_FATAL_FAILURE(expect_rdmsr(msr, long_msr_one_rd2_next));
    answer_rdmsr(second);
    ASSERT_NO_FATAL_FAILURE(expect_done());
    EXPECT_EQ(vm_.peek<uint64_t>(GUEST_DATA_GPA), first);
    EXPECT_EQ(vm_.peek<uint64_t>(GUEST_DATA_GPA + 16), second);
  }

  // No exit before the report; returns what the two reads gave.
  std::pair<uint64_t, uint64_t> run_in_kernel(uint32_t msr, uint64_t written) {
    start(msr, written);
    expect_done();
    return {vm_.peek<uint64_t>(GUEST_DATA_GPA), vm_.peek<uint64_t>(GUEST_DATA_GPA + 16)};
  }
};

TEST_F(MsrFilterTest, KvmsOwnMsrsExitToTheVmm) {
  const uint32_t msrs[] = {
      0x0,         // P5_MC_ADDR
      0x1B,        // IA32_APIC_BASE: a VMM with its own APIC model must see it
      0x3A,        // IA32_FEATURE_CONTROL
      0x3B,        // IA32_TSC_ADJUST
      0x48,        // IA32_SPEC_CTRL
      0xFE,        // MTRRcap
      0x179,       // MCG_CAP
      0x2FF,       // MTRRdefType
      0x6E0,       // IA32_TSC_DEADLINE
      0x802,       // x2APIC ID
      0x11,        // KVM's wall clock (old)
      0x12,        // KVM's system time (old)
      0x4B564D00,  // KVM's wall clock
      0x4B564D01,  // KVM's system time
      0x4B564D02,  // KVM's async page faults
      0x4B564D03,  // KVM's steal time
      0x4B564D04,  // KVM's PV EOI
      0xC0000103,  // TSC_AUX
      0xC0011234,  // nobody's
  };
  for (uint32_t msr : msrs) {
    SCOPED_TRACE(::testing::Message() << "MSR 0x" << std::hex << msr);
    expect_all_three_exit(msr);
    if (HasFatalFailure()) return;
  }
}

TEST_F(MsrFilterTest, TheStatesMsrsStayInTheKernel) {
  struct Case {
    uint32_t msr;
    uint64_t written;
  };
  const Case cases[] = {
      {0xC0000080, 0x501},                  // EFER: LME, LMA and now SCE
      {0xC0000081, 0x0023001000000000ULL},  // STAR
      {0xC0000082, 0xFFFFFFFF81000000ULL},  // LSTAR
      {0xC0000083, 0xFFFFFFFF81000040ULL},  // CSTAR
      {0xC0000084, 0x47700},                // SFMASK
      {0xC0000100, 0x7FFF00001000ULL},      // FS_BASE
      {0xC0000101, 0x7FFF00002000ULL},      // GS_BASE
      {0xC0000102, 0xFFFF800000003000ULL},  // KERNEL_GS_BASE
      {0x174, 0x10},                        // SYSENTER_CS
      {0x175, 0x1F000},                     // SYSENTER_ESP
      {0x176, 0x8000},                      // SYSENTER_EIP
      {0x277, 0x0007040600070406ULL},       // PAT
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(::testing::Message() << "MSR 0x" << std::hex << c.msr);
    auto [first, second] = run_in_kernel(c.msr, c.written);
    if (HasFatalFailure()) return;
    EXPECT_EQ(second, c.written) << "read back";
  }
}

TEST_F(MsrFilterTest, TheTscStaysInTheKernel) {
  if (host_is_pvm()) {
    GTEST_SKIP() << "*** kvm-pvm runs the guest on the host's TSC: a guest's TSC write is "
                    "not kept: SKIPPED ***";
  }
  constexpr uint64_t kTscWritten = 1ULL << 40;
  const uint64_t after = run_in_kernel(0x10, kTscWritten).second;
  EXPECT_GE(after, kTscWritten) << "the TSC goes on from the value written";
  EXPECT_LT(after, kTscWritten + (1ULL << 36)) << "the TSC goes on from the value written";
  vm_.get(NVMM_X64_STATE_MSRS);
  EXPECT_GE(vm_.state().msrs[NVMM_X64_MSR_TSC], after) << "the state shows the guest's TSC";
}

// KVM checks a PAT the guest writes, as NetBSD's kernel does: #GP.
TEST_F(MsrFilterTest, AnInvalidPatIsGpFromTheKernel) {
  if (host_is_pvm()) {
    GTEST_SKIP() << "*** kvm-pvm keeps any PAT a guest writes: SKIPPED ***";
  }
  start(0x277, 0x0202020202020202ULL);
  ASSERT_EQ(vm_.run(), NVMM_VCPU_EXIT_IO) << vm_.describe_exit();
  EXPECT_EQ(vm_.exit().u.io.npc, GUEST_GPA(long_msr_one, long_msr_one_gp_report_next));
  vm_.get(NVMM_X64_STATE_GPRS);
  EXPECT_EQ(vm_.peek<uint64_t>(vm_.state().gprs[NVMM_X64_GPR_RSP] + 8),
            GUEST_GPA(long_msr_one, long_msr_one_wr))
      << "#GP on the WRMSR (after its error code)";
}

TEST_F(MsrFilterTest, NetbsdsIgnoreListReadsZeroAndDropsWrites) {
  const bool intel = host_is_intel();
  const std::vector<uint32_t> ignored =
      intel ? std::vector<uint32_t>{0x8B, 0x17}
            : std::vector<uint32_t>{0x8B, 0xC0010055, 0xC0011021, 0xC0011029};
  for (uint32_t msr : ignored) {
    SCOPED_TRACE(::testing::Message() << "MSR 0x" << std::hex << msr);
    auto [first, second] = run_in_kernel(msr, 0x5555);
    if (HasFatalFailure()) return;
    EXPECT_EQ(first, 0u);
    EXPECT_EQ(second, 0u) << "the write was dropped";
  }
  if (intel) {
    // MISC_ENABLE: read in the kernel, a write dropped.
    auto [first, second] = run_in_kernel(0x1A0, 0);
    EXPECT_EQ(second, first) << "the write was dropped";
  } else {
    // NB_CFG reads a constant; a write goes to the VMM.
    start(0xC001001F, 0);
    ASSERT_EQ(vm_.run(), NVMM_VCPU_EXIT_WRMSR) << vm_.describe_exit();
    EXPECT_EQ(vm_.peek<uint64_t>(GUEST_DATA_GPA), 1ULL << 54);
  }
}

// An MSR the VMM leaves unanswered raises #GP in the guest, KVM's own MSRs
// alike: APIC_BASE without an APIC model.
TEST_F(MsrFilterTest, UnansweredApicBaseIsGp) {
  start(0x1B, 0);
  ASSERT_NO_FATAL_FAILURE(expect_rdmsr(0x1B, long_msr_one_rd_next));
  ASSERT_EQ(vm_.run(), NVMM_VCPU_EXIT_IO) << vm_.describe_exit();
  EXPECT_EQ(vm_.exit().u.io.npc, GUEST_GPA(long_msr_one, long_msr_one_gp_report_next));
}

}  // namespace
}  // namespace vmruntime::nvmm_test
