// SPDX-License-Identifier: BSD-2-Clause
// libnvmm has KVM store the segment and control registers into kvm_run only
// while something uses them.  These tests change CS, CR0 and ES behind
// stretches of exits that do not use them (guests/quiet16.S) and check that
// every later use sees the guest's real registers: the IO decode (npc), a
// getstate of SEGS and CRS, and a setstate of SEGS alone, which must not
// write back a stale CR0.
#include "guest_vm.h"

GUEST_SNIPPET(real_quiet);
GUEST_EXIT_LABEL(real_quiet_out);
GUEST_EXIT_LABEL(real_quiet_es);
GUEST_EXIT_LABEL(real_quiet_set);
GUEST_EXIT_LABEL(real_quiet_new_es);
GUEST_EXIT_LABEL(real_quiet_cr0);

namespace vmruntime::nvmm_test {
namespace {

constexpr uint64_t kQuietGpa = 0x30000;
constexpr int kQuietExits = 100;  // guests/quiet16.S QUIET_EXITS
constexpr uint64_t kCr0Ts = 1ULL << 3;
// After the far jump, CS is one paragraph lower than where the fixture
// loads the code, so each IP is 16 more than its offset in the snippet.
constexpr uint16_t kShiftedCs = (GUEST_CODE_GPA >> 4) - 1;

uint64_t shifted_ip(const uint8_t* label) {
  return GUEST_GPA(real_quiet, label) - GUEST_CODE_GPA + 16;
}

class MirrorTest : public NvmmTest {
 protected:
  // Runs through one stretch of quiet writes; returns the exit after it.
  uint64_t run_quiet_stretch() {
    for (int i = 0; i < kQuietExits; i++) {
      uint64_t reason = vm_.run();
      if (reason != NVMM_VCPU_EXIT_MEMORY || vm_.exit().u.mem.gpa != kQuietGpa) {
        ADD_FAILURE() << "quiet write " << i << ": " << vm_.describe_exit();
        return reason;
      }
    }
    return vm_.run();
  }

  void expect_write_at(const uint8_t* label, uint64_t gpa) {
    EXPECT_EQ(vm_.exit().u.mem.gpa, gpa);
    vm_.get(NVMM_X64_STATE_GPRS);
    EXPECT_EQ(vm_.state().gprs[NVMM_X64_GPR_RIP], shifted_ip(label)) << "KVM has not retired it yet";
  }
};

TEST_F(MirrorTest, UsesAfterQuietStretchesSeeTheGuestsRegisters) {
  vm_.load(GUEST_CODE(real_quiet));
  vm_.enter_real_mode(GUEST_CODE_GPA);

  // The OUT is decoded in the new CS: with the old base its bytes would be
  // 16 bytes off, and neither npc nor RIP (which KVM may have moved past
  // the OUT already) would come out right.
  ASSERT_EQ(run_quiet_stretch(), NVMM_VCPU_EXIT_IO) << vm_.describe_exit();
  EXPECT_EQ(vm_.exit().u.io.port, GUEST_PORT);
  EXPECT_EQ(vm_.exit().u.io.npc, shifted_ip(real_quiet_out_next));
  vm_.get(NVMM_X64_STATE_GPRS);
  EXPECT_EQ(vm_.state().gprs[NVMM_X64_GPR_RIP], shifted_ip(real_quiet_out));
  vm_.finish_io_by_hand(0);

  ASSERT_EQ(run_quiet_stretch(), NVMM_VCPU_EXIT_MEMORY) << vm_.describe_exit();
  vm_.get(NVMM_X64_STATE_SEGS | NVMM_X64_STATE_CRS);
  const nvmm_x64_state& s = vm_.state();
  EXPECT_EQ(vm_.exit().u.mem.gpa, 0x31000u);
  EXPECT_EQ(s.segs[NVMM_X64_SEG_ES].selector, 0x3100);
  EXPECT_EQ(s.segs[NVMM_X64_SEG_ES].base, 0x31000u);
  EXPECT_EQ(s.segs[NVMM_X64_SEG_CS].selector, kShiftedCs);
  EXPECT_EQ(s.segs[NVMM_X64_SEG_CS].base, static_cast<uint64_t>(kShiftedCs) << 4);
  EXPECT_NE(s.crs[NVMM_X64_CR_CR0] & kCr0Ts, 0u) << "the guest set CR0.TS";

  // The guest clears CR0.TS in the stretch; the test then moves ES with the
  // SEGS it read before the stretch, and nothing else.
  ASSERT_EQ(run_quiet_stretch(), NVMM_VCPU_EXIT_MEMORY) << vm_.describe_exit();
  expect_write_at(real_quiet_set_next, 0x31000);
  vm_.state().segs[NVMM_X64_SEG_ES].selector = 0x3300;
  vm_.state().segs[NVMM_X64_SEG_ES].base = 0x33000;
  vm_.set(NVMM_X64_STATE_SEGS);

  ASSERT_EQ(vm_.run(), NVMM_VCPU_EXIT_MEMORY) << vm_.describe_exit();
  expect_write_at(real_quiet_new_es_next, 0x33000);
  ASSERT_EQ(vm_.run(), NVMM_VCPU_EXIT_IO) << vm_.describe_exit();
  EXPECT_EQ(vm_.exit().u.io.npc, shifted_ip(real_quiet_cr0_next));
  vm_.get(NVMM_X64_STATE_GPRS);
  EXPECT_EQ(vm_.state().gprs[NVMM_X64_GPR_RAX] & kCr0Ts, 0u)
      << "setstate(SEGS) wrote back the CR0 from before the stretch";
}

}  // namespace
}  // namespace vmruntime::nvmm_test
