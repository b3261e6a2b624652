// SPDX-License-Identifier: BSD-2-Clause
// What the assists leave in vcpu->state.  NetBSD's nvmm_assist_io and
// nvmm_assist_mem emulate the instruction on the comm page's GPRs and end
// with setstate(GPRS), so a VMM may change one register and setstate(GPRS)
// without a getstate first.  On KVM an MMIO read ends inside KVM: the state
// area shows the registers before it until getstate finishes it (one
// KVM_RUN), but an edit made without getstate still lands on top of the
// finished instruction (docs/nvmm.3.md, differences from NetBSD).
#include "guest_vm.h"

GUEST_SNIPPET(long_assist);
GUEST_EXIT_LABEL(long_assist_in);
GUEST_EXIT_LABEL(long_assist_read);

namespace vmruntime::nvmm_test {
namespace {

constexpr uint32_t kInData = 0x11111111;
constexpr uint32_t kReadData = 0x22222222;

void answer_in(nvmm_io* io) { std::memcpy(io->data, &kInData, io->size); }
void answer_read(nvmm_mem* mem) { std::memcpy(mem->data, &kReadData, mem->size); }

class AssistStateTest : public NvmmTest {
 protected:
  void SetUp() override {
    NvmmTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    nvmm_assist_callbacks cbs{answer_in, answer_read};
    ASSERT_EQ(nvmm_vcpu_configure(vm_.mach(), vm_.vcpu(), NVMM_VCPU_CONF_CALLBACKS, &cbs), 0);
    vm_.load(GUEST_CODE(long_assist));
    vm_.enter_long_mode(GUEST_CODE_GPA);
  }

  // Changes RDX only, trusting the state area to be current.
  void set_rdx(uint64_t value) {
    vm_.state().gprs[NVMM_X64_GPR_RDX] = value;
    vm_.set(NVMM_X64_STATE_GPRS);
  }
};

TEST_F(AssistStateTest, SetstateRightAfterTheAssists) {
  ASSERT_EQ(vm_.run(), NVMM_VCPU_EXIT_IO) << vm_.describe_exit();
  ASSERT_EQ(nvmm_assist_io(vm_.mach(), vm_.vcpu()), 0) << std::strerror(errno);
  EXPECT_EQ(vm_.state().gprs[NVMM_X64_GPR_RIP], GUEST_GPA(long_assist, long_assist_in_next));
  set_rdx(1);

  ASSERT_EQ(vm_.run(), NVMM_VCPU_EXIT_MEMORY) << vm_.describe_exit();
  ASSERT_EQ(nvmm_assist_mem(vm_.mach(), vm_.vcpu()), 0) << std::strerror(errno);
  set_rdx(2);

  ASSERT_EQ(vm_.run(), NVMM_VCPU_EXIT_HALTED) << vm_.describe_exit();
  EXPECT_EQ(vm_.peek<uint64_t>(GUEST_DATA_GPA), kInData) << "RAX the guest saw";
  EXPECT_EQ(vm_.peek<uint64_t>(GUEST_DATA_GPA + 8), kReadData) << "RBX the guest saw";
  EXPECT_EQ(vm_.peek<uint64_t>(GUEST_DATA_GPA + 16), 2u) << "RDX the guest saw";
}

TEST_F(AssistStateTest, GetstateRightAfterTheReadAssist) {
  ASSERT_EQ(vm_.run(), NVMM_VCPU_EXIT_IO) << vm_.describe_exit();
  ASSERT_EQ(nvmm_assist_io(vm_.mach(), vm_.vcpu()), 0) << std::strerror(errno);
  ASSERT_EQ(vm_.run(), NVMM_VCPU_EXIT_MEMORY) << vm_.describe_exit();
  ASSERT_EQ(nvmm_assist_mem(vm_.mach(), vm_.vcpu()), 0) << std::strerror(errno);
  vm_.get(NVMM_X64_STATE_GPRS);
  EXPECT_EQ(vm_.state().gprs[NVMM_X64_GPR_RIP], GUEST_GPA(long_assist, long_assist_read_next));
  EXPECT_EQ(vm_.state().gprs[NVMM_X64_GPR_RBX], kReadData);
  set_rdx(2);
  ASSERT_EQ(vm_.run(), NVMM_VCPU_EXIT_HALTED) << vm_.describe_exit();
  EXPECT_EQ(vm_.peek<uint64_t>(GUEST_DATA_GPA + 8), kReadData) << "RBX the guest saw";
  EXPECT_EQ(vm_.peek<uint64_t>(GUEST_DATA_GPA + 16), 2u) << "RDX the guest saw";
}

}  // namespace
}  // namespace vmruntime::nvmm_test
