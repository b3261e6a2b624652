// SPDX-License-Identifier: BSD-2-Clause
// Every NVMM_X64_STATE_* class round-trips through a real guest: the test
// sets values, a guest reads or uses them (and changes some), and getstate
// after the exit returns what the guest saw and did.
#include <cpuid.h>

#include "guest_vm.h"

GUEST_SNIPPET(long_gprs);
GUEST_SNIPPET(long_fsgs);
GUEST_SNIPPET(long_crs);
GUEST_SNIPPET(long_drs);
GUEST_SNIPPET(long_msrs);
GUEST_SNIPPET(long_xsetbv);
GUEST_SNIPPET(long_intr);
GUEST_EXIT_LABEL(long_intr_shadowed);
GUEST_EXIT_LABEL(long_intr_plain);
GUEST_SNIPPET(prot32_segs);
GUEST_EXIT_LABEL(prot32_segs_out);
GUEST_SNIPPET(user_fpu);
GUEST_EXIT_LABEL(user_fpu_out);
GUEST_SNIPPET(user_xgetbv);
GUEST_EXIT_LABEL(user_xgetbv_out);

namespace vmruntime::nvmm_test {
namespace {

using StateTest = NvmmTest;

constexpr uint64_t kRflagsArith = 0x8C7;  // CF PF ZF SF OF + reserved bit 1
constexpr uint64_t kRflagsIf = 0x200;
constexpr uint64_t CR4_PGE = 1ULL << 7;
constexpr uint64_t CR4_OSXSAVE = 1ULL << 18;

TEST_F(StateTest, Gprs) {
  vm_.load(GUEST_CODE(long_gprs));
  vm_.enter_long_mode(GUEST_CODE_GPA);
  uint64_t* gprs = vm_.state().gprs;
  for (int i = 0; i < 16; i++) gprs[i] = 0xA5A5000000000000ULL | uint64_t(i) << 32 | 0x1111u * i;
  gprs[NVMM_X64_GPR_RSP] = GUEST_STACK_TOP;
  gprs[NVMM_X64_GPR_RFLAGS] = kRflagsArith;
  vm_.set(NVMM_X64_STATE_GPRS);

  ASSERT_EQ(vm_.run(), NVMM_VCPU_EXIT_HALTED) << vm_.describe_exit();
  vm_.get(NVMM_X64_STATE_GPRS);
  for (int i = 0; i < 16; i++) {
    if (i == NVMM_X64_GPR_RSP) continue;
    EXPECT_EQ(gprs[i], (0xA5A5000000000000ULL | uint64_t(i) << 32 | 0x1111u * i) + 1) << "GPR " << i;
  }
  EXPECT_EQ(gprs[NVMM_X64_GPR_RSP], GUEST_STACK_TOP - 8u);
  EXPECT_EQ(vm_.peek<uint64_t>(GUEST_STACK_TOP - 8), kRflagsArith) << "RFLAGS the guest pushed";
  EXPECT_EQ(gprs[NVMM_X64_GPR_RFLAGS], kRflagsArith);
  EXPECT_EQ(gprs[NVMM_X64_GPR_RIP], GUEST_GPA(long_gprs, long_gprs_end));
}

TEST_F(StateTest, SegsInProtectedMode) {
  vm_.load(GUEST_CODE(prot32_segs));
  vm_.enter_protected_mode(GUEST_CODE_GPA, false);
  nvmm_x64_state_seg& ds = vm_.state().segs[NVMM_X64_SEG_DS];
  ds.selector = GUEST_SEL_DATAHI;
  ds.base = GUEST_DATA_GPA;
  ds.limit = 0xFFFF;
  ds.attrib.g = 0;
  nvmm_x64_state_seg& idt = vm_.state().segs[NVMM_X64_SEG_IDT];
  idt.limit = 0x2FF;
  vm_.set(NVMM_X64_STATE_SEGS);
  const nvmm_x64_state_seg gdt = vm_.state().segs[NVMM_X64_SEG_GDT];

  ASSERT_EQ(vm_.run(), NVMM_VCPU_EXIT_IO) << vm_.describe_exit();
  vm_.get(NVMM_X64_STATE_GPRS | NVMM_X64_STATE_SEGS);
  EXPECT_EQ(vm_.exit().u.io.npc, GUEST_GPA(prot32_segs, prot32_segs_out_next));
  EXPECT_EQ(vm_.state().gprs[NVMM_X64_GPR_RAX], uint64_t{GUEST_SEL_DATAHI}) << "mov %ds";
  EXPECT_EQ(vm_.state().gprs[NVMM_X64_GPR_RBX] & 0xFFFF, uint64_t{GUEST_SEL_DATA}) << "mov %es";
  EXPECT_EQ(vm_.peek<uint32_t>(GUEST_DATA_GPA + 0x20), 0xCAFEF00Du) << "store through DS base";
  EXPECT_EQ(vm_.peek<uint16_t>(GUEST_DATA_GPA + 0x30), gdt.limit) << "sgdt";
  EXPECT_EQ(vm_.peek<uint32_t>(GUEST_DATA_GPA + 0x32), gdt.base) << "sgdt";
  EXPECT_EQ(vm_.peek<uint16_t>(GUEST_DATA_GPA + 0x40), 0x2FF) << "sidt";
  EXPECT_EQ(vm_.peek<uint32_t>(GUEST_DATA_GPA + 0x42), uint32_t{GUEST_IDT_GPA}) << "sidt";

  const nvmm_x64_state& s = vm_.state();
  EXPECT_EQ(s.segs[NVMM_X64_SEG_DS].selector, GUEST_SEL_DATAHI);
  EXPECT_EQ(s.segs[NVMM_X64_SEG_DS].base, uint64_t{GUEST_DATA_GPA});
  EXPECT_EQ(s.segs[NVMM_X64_SEG_DS].limit, 0xFFFFu);
  EXPECT_EQ(s.segs[NVMM_X64_SEG_DS].attrib.type, 3);
  EXPECT_EQ(s.segs[NVMM_X64_SEG_DS].attrib.s, 1);
  EXPECT_EQ(s.segs[NVMM_X64_SEG_DS].attrib.p, 1);
  EXPECT_EQ(s.segs[NVMM_X64_SEG_DS].attrib.def, 1);
  EXPECT_EQ(s.segs[NVMM_X64_SEG_DS].attrib.g, 0);
  EXPECT_EQ(s.segs[NVMM_X64_SEG_CS].selector, GUEST_SEL_CODE32);
  EXPECT_EQ(s.segs[NVMM_X64_SEG_CS].limit, 0xFFFFFFFFu);
  EXPECT_EQ(s.segs[NVMM_X64_SEG_CS].attrib.def, 1);
  EXPECT_EQ(s.segs[NVMM_X64_SEG_GDT].base, gdt.base);
  EXPECT_EQ(s.segs[NVMM_X64_SEG_GDT].limit, gdt.limit);
  EXPECT_EQ(s.segs[NVMM_X64_SEG_IDT].base, uint64_t{GUEST_IDT_GPA});
  EXPECT_EQ(s.segs[NVMM_X64_SEG_IDT].limit, 0x2FFu);
  EXPECT_EQ(s.segs[NVMM_X64_SEG_TR].selector, GUEST_SEL_TSS);
  EXPECT_EQ(s.segs[NVMM_X64_SEG_TR].base, uint64_t{GUEST_TSS_GPA});
}

TEST_F(StateTest, FsGsBasesInLongMode) {
  vm_.load(GUEST_CODE(long_fsgs));
  vm_.enter_long_mode(GUEST_CODE_GPA);
  vm_.state().segs[NVMM_X64_SEG_FS].base = GUEST_DATA_GPA;
  vm_.state().segs[NVMM_X64_SEG_GS].base = GUEST_DATA_GPA + 0x100;
  vm_.set(NVMM_X64_STATE_SEGS);
  vm_.poke(GUEST_DATA_GPA + 0x8, uint64_t{0x0F0F0F0F12345678});
  vm_.poke(GUEST_DATA_GPA + 0x110, uint64_t{0x7070707087654321});

  ASSERT_EQ(vm_.run(), NVMM_VCPU_EXIT_HALTED) << vm_.describe_exit();
  vm_.get(NVMM_X64_STATE_GPRS | NVMM_X64_STATE_SEGS);
  EXPECT_EQ(vm_.state().gprs[NVMM_X64_GPR_RAX], 0x0F0F0F0F12345678u);
  EXPECT_EQ(vm_.state().gprs[NVMM_X64_GPR_RBX], 0x7070707087654321u);
  EXPECT_EQ(vm_.state().segs[NVMM_X64_SEG_FS].base, uint64_t{GUEST_DATA_GPA});
  EXPECT_EQ(vm_.state().segs[NVMM_X64_SEG_GS].base, GUEST_DATA_GPA + 0x100u);
}

TEST_F(StateTest, Crs) {
  vm_.load(GUEST_CODE(long_crs));
  vm_.enter_long_mode(GUEST_CODE_GPA);
  uint64_t* crs = vm_.state().crs;
  crs[NVMM_X64_CR_CR2] = 0xDEADB000;
  crs[NVMM_X64_CR_CR4] |= CR4_PGE;
  crs[NVMM_X64_CR_CR8] = 5;
  vm_.set(NVMM_X64_STATE_CRS);
  const uint64_t cr0 = crs[NVMM_X64_CR_CR0];
  const uint64_t cr4 = crs[NVMM_X64_CR_CR4];

  ASSERT_EQ(vm_.run(), NVMM_VCPU_EXIT_HALTED) << vm_.describe_exit();
  EXPECT_EQ(vm_.peek<uint64_t>(GUEST_DATA_GPA), cr0);
  EXPECT_EQ(vm_.peek<uint64_t>(GUEST_DATA_GPA + 8), 0xDEADB000u);
  EXPECT_EQ(vm_.peek<uint64_t>(GUEST_DATA_GPA + 16), uint64_t{GUEST_PML4_GPA});
  EXPECT_EQ(vm_.peek<uint64_t>(GUEST_DATA_GPA + 24), cr4);
  EXPECT_EQ(vm_.peek<uint64_t>(GUEST_DATA_GPA + 32), 5u) << "CR8 as the guest read it";
  EXPECT_EQ(vm_.exit().exitstate.cr8, 9u) << "CR8 the guest wrote";
  vm_.get(NVMM_X64_STATE_CRS);
  EXPECT_EQ(crs[NVMM_X64_CR_CR0], cr0);
  EXPECT_EQ(crs[NVMM_X64_CR_CR2], 0xDEADB000u);
  EXPECT_EQ(crs[NVMM_X64_CR_CR3], uint64_t{GUEST_PML4_GPA});
  EXPECT_EQ(crs[NVMM_X64_CR_CR4], cr4);
  EXPECT_EQ(crs[NVMM_X64_CR_CR8], 9u);
}

// The XCR0 the guest may enable: x87 and SSE, if this host has XSAVE at all.
bool xcr0_usable() {
  unsigned eax, ebx, ecx, edx;
  struct nvmm_capability cap {};
  return __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & bit_XSAVE) != 0 &&
         nvmm_capability(&cap) == 0 && (cap.arch.xcr0_mask & 3) == 3;
}

// The guest writes XCR0 with XSETBV (kvm-pvm emulates XSETBV at CPL0, not
// XGETBV); then a VMM write of XCR0 must survive a run.
TEST_F(StateTest, Xcr0WrittenByGuest) {
  if (!xcr0_usable()) GTEST_SKIP() << "no XSAVE with x87+SSE on this host";
  vm_.load(GUEST_CODE(long_xsetbv));
  vm_.enter_long_mode(GUEST_CODE_GPA);
  vm_.state().crs[NVMM_X64_CR_CR4] |= CR4_OSXSAVE;
  vm_.state().crs[NVMM_X64_CR_XCR0] = 1;
  vm_.set(NVMM_X64_STATE_CRS);

  ASSERT_EQ(vm_.run(), NVMM_VCPU_EXIT_HALTED) << vm_.describe_exit();
  vm_.get(NVMM_X64_STATE_CRS);
  EXPECT_EQ(vm_.state().crs[NVMM_X64_CR_XCR0], 3u) << "XCR0 the guest wrote";
  EXPECT_NE(vm_.state().crs[NVMM_X64_CR_CR4] & CR4_OSXSAVE, 0u);

  vm_.state().crs[NVMM_X64_CR_XCR0] = 1;
  vm_.set(NVMM_X64_STATE_CRS);
  ASSERT_EQ(vm_.run(), NVMM_VCPU_EXIT_HALTED) << vm_.describe_exit();
  vm_.get(NVMM_X64_STATE_CRS);
  EXPECT_EQ(vm_.state().crs[NVMM_X64_CR_XCR0], 1u) << "XCR0 the VMM set before the run";
}

// XGETBV is legal at CPL3 once CR4.OSXSAVE is set.
TEST_F(StateTest, Xcr0ReadByGuestAtCpl3) {
  if (!xcr0_usable()) GTEST_SKIP() << "no XSAVE with x87+SSE on this host";
  if (host_is_pvm()) {
    // kvm-pvm runs CPL3 code natively with the host's XCR0 (0x207 here).
    GTEST_SKIP() << "*** kvm-pvm does not load the guest XCR0 for CPL3 code: SKIPPED ***";
  }
  vm_.load(GUEST_CODE(user_xgetbv));
  vm_.enter_long_mode(GUEST_CODE_GPA, true);
  vm_.state().crs[NVMM_X64_CR_CR4] |= CR4_OSXSAVE;
  vm_.state().crs[NVMM_X64_CR_XCR0] = 3;
  vm_.set(NVMM_X64_STATE_CRS);

  ASSERT_EQ(vm_.run(), NVMM_VCPU_EXIT_IO) << vm_.describe_exit();
  vm_.get(NVMM_X64_STATE_GPRS | NVMM_X64_STATE_CRS);
  EXPECT_EQ(vm_.exit().u.io.npc, GUEST_GPA(user_xgetbv, user_xgetbv_out_next));
  EXPECT_EQ(vm_.peek<uint64_t>(GUEST_DATA_GPA), 3u);
  EXPECT_EQ(vm_.state().crs[NVMM_X64_CR_XCR0], 3u);
}

TEST_F(StateTest, Drs) {
  vm_.load(GUEST_CODE(long_drs));
  vm_.enter_long_mode(GUEST_CODE_GPA);
  // Breakpoints stay disabled in DR7 (only LE, GE and the fixed bit 10).
  const uint64_t drs[NVMM_X64_NDR] = {0x1000, 0x2008, 0x300C, 0x4FF0, 0xFFFF0FF1, 0x700};
  std::memcpy(vm_.state().drs, drs, sizeof drs);
  vm_.set(NVMM_X64_STATE_DRS);

  ASSERT_EQ(vm_.run(), NVMM_VCPU_EXIT_HALTED) << vm_.describe_exit();
  vm_.get(NVMM_X64_STATE_DRS);
  for (int i = 0; i < NVMM_X64_NDR; i++) {
    EXPECT_EQ(vm_.peek<uint64_t>(GUEST_DATA_GPA + 8 * i), drs[i]) << "guest read of DR index " << i;
    EXPECT_EQ(vm_.state().drs[i], drs[i]) << "getstate of DR index " << i;
  }
}

// SYSENTER_ESP/EIP stay below 4 GiB: AMD keeps only 32 bits of them.
constexpr uint64_t kMsrValues[NVMM_X64_MSR_TSC] = {
    0xD01,               // EFER: LME LMA SCE NXE
    0x001B000800000000,  // STAR
    0xFFFFFFFF81000000,  // LSTAR
    0xFFFFFFFF81000100,  // CSTAR
    0x47700,             // SFMASK
    0xFFFF888000001000,  // KERNELGSBASE
    0x10,                // SYSENTER_CS
    0x82000000,          // SYSENTER_ESP
    0x81000200,          // SYSENTER_EIP
    0x0105040600070406,  // PAT: WB,WT,UC-,UC,WB,WT,WP,WC
};
constexpr uint64_t kTsc = 1ULL << 40;
// 100e9 ticks: tens of seconds on any real TSC, far beyond these tests.
constexpr uint64_t kTscSlack = 100'000'000'000ULL;
constexpr gpaddr_t kRdtscSlot = GUEST_DATA_GPA + 8 * 11;

// Runs long_msrs after setting every MSR of the MSRS state.
void run_msr_guest(GuestVm& vm) {
  vm.load(GUEST_CODE(long_msrs));
  vm.enter_long_mode(GUEST_CODE_GPA);
  std::memcpy(vm.state().msrs, kMsrValues, sizeof kMsrValues);
  vm.state().msrs[NVMM_X64_MSR_TSC] = kTsc;
  vm.set(NVMM_X64_STATE_MSRS);
  ASSERT_EQ(vm.run(), NVMM_VCPU_EXIT_HALTED) << vm.describe_exit();
  vm.get(NVMM_X64_STATE_MSRS);
}

TEST_F(StateTest, Msrs) {
  ASSERT_NO_FATAL_FAILURE(run_msr_guest(vm_));
  for (int i = 0; i < NVMM_X64_MSR_TSC; i++) {
    EXPECT_EQ(vm_.peek<uint64_t>(GUEST_DATA_GPA + 8 * i), kMsrValues[i]) << "rdmsr of MSR index " << i;
    EXPECT_EQ(vm_.state().msrs[i], kMsrValues[i]) << "getstate of MSR index " << i;
  }
}

TEST_F(StateTest, Tsc) {
  if (host_is_pvm()) {
    // KVM_SET_MSRS accepts the TSC, but the guest's RDTSC/RDMSR and
    // KVM_GET_MSRS keep returning the host TSC.
    GTEST_SKIP() << "*** kvm-pvm ignores a TSC written by the VMM: SKIPPED ***";
  }
  ASSERT_NO_FATAL_FAILURE(run_msr_guest(vm_));
  const uint64_t rdmsr_tsc = vm_.peek<uint64_t>(GUEST_DATA_GPA + 8 * NVMM_X64_MSR_TSC);
  const uint64_t rdtsc = vm_.peek<uint64_t>(kRdtscSlot);
  EXPECT_GE(rdmsr_tsc, kTsc);
  EXPECT_GE(rdtsc, rdmsr_tsc);
  EXPECT_LT(rdtsc, kTsc + kTscSlack);
  EXPECT_GE(vm_.state().msrs[NVMM_X64_MSR_TSC], rdtsc);
  EXPECT_LT(vm_.state().msrs[NVMM_X64_MSR_TSC], kTsc + kTscSlack);
}

void answer_zero(nvmm_mem* mem) { std::memset(mem->data, 0, mem->size); }

TEST_F(StateTest, IntrShadowAfterSti) {
  nvmm_assist_callbacks cbs{nullptr, answer_zero};
  ASSERT_EQ(nvmm_vcpu_configure(vm_.mach(), vm_.vcpu(), NVMM_VCPU_CONF_CALLBACKS, &cbs), 0);
  vm_.load(GUEST_CODE(long_intr));
  vm_.enter_long_mode(GUEST_CODE_GPA);

  ASSERT_EQ(vm_.run(), NVMM_VCPU_EXIT_MEMORY) << vm_.describe_exit();
  EXPECT_EQ(vm_.exit().exitstate.int_shadow, 1u);
  EXPECT_EQ(vm_.exit().exitstate.evt_pending, 0u);
  EXPECT_NE(vm_.exit().exitstate.rflags & kRflagsIf, 0u);
  vm_.get(NVMM_X64_STATE_GPRS | NVMM_X64_STATE_INTR);
  EXPECT_EQ(vm_.state().gprs[NVMM_X64_GPR_RIP], GUEST_GPA(long_intr, long_intr_shadowed));
  EXPECT_EQ(vm_.state().intr.int_shadow, 1u);
  EXPECT_EQ(vm_.state().intr.evt_pending, 0u);

  ASSERT_EQ(nvmm_assist_mem(vm_.mach(), vm_.vcpu()), 0) << std::strerror(errno);
  ASSERT_EQ(vm_.run(), NVMM_VCPU_EXIT_IO) << vm_.describe_exit();
  EXPECT_EQ(vm_.exit().exitstate.int_shadow, 0u);
  EXPECT_EQ(vm_.exit().u.io.npc, GUEST_GPA(long_intr, long_intr_plain_next));
  vm_.get(NVMM_X64_STATE_INTR);
  EXPECT_EQ(vm_.state().intr.int_shadow, 0u);
  EXPECT_EQ(vm_.state().intr.evt_pending, 0u);
}

// The guest runs at CPL3: PVM cannot emulate SSE at CPL0.
TEST_F(StateTest, FpuAtCpl3) {
  vm_.load(GUEST_CODE(user_fpu));
  vm_.enter_long_mode(GUEST_CODE_GPA, true);
  fxsave& fpu = vm_.state().fpu;
  fpu.fx_cw = 0x027F;
  fpu.fx_mxcsr = 0x7F80;
  for (int i = 0; i < 16; i++) {
    for (int j = 0; j < 16; j++) fpu.fx_xmm[i].xmm_bytes[j] = uint8_t(i * 16 + j);
  }
  vm_.set(NVMM_X64_STATE_FPU);

  ASSERT_EQ(vm_.run(), NVMM_VCPU_EXIT_IO) << vm_.describe_exit();
  vm_.get(NVMM_X64_STATE_GPRS | NVMM_X64_STATE_SEGS | NVMM_X64_STATE_FPU);
  EXPECT_EQ(vm_.exit().u.io.npc, GUEST_GPA(user_fpu, user_fpu_out_next));
  EXPECT_EQ(vm_.state().segs[NVMM_X64_SEG_CS].attrib.dpl, 3) << "the guest ran at CPL3";
  EXPECT_EQ(vm_.peek<uint16_t>(GUEST_DATA_GPA), 0x027F) << "control word the guest saw";
  EXPECT_EQ(vm_.peek<uint32_t>(GUEST_DATA_GPA + 4), 0x7F80u) << "MXCSR the guest saw";
  for (int i = 0; i < 16; i++) {
    uint8_t want[16];
    for (int j = 0; j < 16; j++) want[j] = uint8_t(i * 16 + j);
    EXPECT_EQ(std::memcmp(vm_.ram(GUEST_DATA_GPA + 0x10 * (i + 1)), want, 16), 0) << "XMM" << i;
    if (i == 3) std::memset(want, 0xFF, sizeof want);
    EXPECT_EQ(std::memcmp(fpu.fx_xmm[i].xmm_bytes, want, 16), 0) << "getstate of XMM" << i;
  }
  EXPECT_EQ(fpu.fx_cw, 0x0F7F) << "control word the guest loaded";
  EXPECT_EQ(fpu.fx_mxcsr, 0x3F80u) << "MXCSR the guest loaded";
}

}  // namespace
}  // namespace vmruntime::nvmm_test
