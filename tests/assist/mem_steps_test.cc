// SPDX-License-Identifier: BSD-2-Clause
// The MMIO assist one exit at a time (snippets mem64_steps and mem16_steps):
// each MEMORY exit's address and direction, what the callback is given, and
// the state nvmm_vcpu_getstate reports right after nvmm_assist_mem.  As
// docs/nvmm.3.md says, that state shows the instruction done: destination
// written and RIP past it; a REP instruction stays on its RIP until its count
// runs out.  The read half of a read-modify-write or of MMIO-to-MMIO MOVS
// promises nothing about RIP.
#include <sys/mman.h>

#include <cerrno>
#include <cstring>

#include "hex.h"
#include "mem_assist.h"

GUEST_SNIPPET(mem64_steps);
GUEST_EXIT_LABEL(mem64_steps_load);
GUEST_EXIT_LABEL(mem64_steps_or);
GUEST_EXIT_LABEL(mem64_steps_stos);
GUEST_EXIT_LABEL(mem64_steps_movs);
GUEST_SNIPPET(mem16_steps);
GUEST_EXIT_LABEL(mem16_steps_load);
GUEST_EXIT_LABEL(mem16_steps_or);
GUEST_EXIT_LABEL(mem16_steps_stos);
GUEST_EXIT_LABEL(mem16_steps_movs);

namespace vmruntime::assist_test {
namespace {

constexpr uint64_t kMmio = ASSIST_MMIO_GPA;

struct MemStep {
  const uint8_t* rip_after;  // where RIP is right after the assist; nullptr: anywhere
  bool write;
  uint64_t offset;  // of the access in the device
  size_t size;
  uint64_t data;  // written by the guest, or read from the device
  std::vector<RegValue> regs;  // right after the assist
};

// Bytes 0-3 take an OR of 0x100, 8-15 are loaded, 16-18 stored to, 0-1 copied to 24-25.
constexpr std::array<uint64_t, 4> kInit = {0x11223244, 0xCAFEBABEDEADBEEF};

class MemStepsTest : public nvmm_test::NvmmTest {
 protected:
  void SetUp() override {
    NvmmTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    nvmm_assist_callbacks cbs{nullptr, MmioDevice::callback};
    ASSERT_EQ(nvmm_vcpu_configure(vm_.mach(), vm_.vcpu(), NVMM_VCPU_CONF_CALLBACKS, &cbs), 0)
        << std::strerror(errno);
    std::memcpy(device_.bytes(), kInit.data(), sizeof kInit);
  }

  void step(CpuMode mode, const uint8_t* begin, const MemStep& s);

  MmioDevice device_{kMmio};
};

void MemStepsTest::step(CpuMode mode, const uint8_t* begin, const MemStep& s) {
  ASSERT_EQ(vm_.run(), NVMM_VCPU_EXIT_MEMORY) << vm_.describe_exit();
  EXPECT_EQ(Hex{vm_.exit().u.mem.gpa}, Hex{kMmio + s.offset});
  EXPECT_EQ(vm_.exit().u.mem.prot, s.write ? PROT_WRITE : PROT_READ);
  const size_t before = device_.accesses().size();
  ASSERT_EQ(nvmm_assist_mem(vm_.mach(), vm_.vcpu()), 0) << std::strerror(errno);
  ASSERT_EQ(device_.accesses().size(), before + 1) << "one callback per exit";
  const MmioAccess& a = device_.accesses().back();
  EXPECT_EQ(Hex{a.gpa}, Hex{kMmio + s.offset});
  EXPECT_EQ(a.write, s.write);
  EXPECT_EQ(a.size, s.size);
  EXPECT_EQ(Hex{a.data}, Hex{s.data});
  vm_.get(NVMM_X64_STATE_GPRS);
  if (s.rip_after != nullptr) {
    EXPECT_EQ(Hex{vm_.state().gprs[NVMM_X64_GPR_RIP]}, Hex{snippet_rip(mode, begin, s.rip_after)})
        << "RIP right after the assist";
  }
  expect_regs(mode, vm_.state().gprs, s.regs);
}

TEST_F(MemStepsTest, Long64) {
  const MemStep steps[] = {
      {mem64_steps_load_next, false, 8, 8, 0xCAFEBABEDEADBEEF, {{kRbx, 0xCAFEBABEDEADBEEF}}},
      {nullptr, false, 0, 4, 0x11223244, {}},
      {mem64_steps_or_next, true, 0, 4, 0x11223344, {}},
      {mem64_steps_stos, true, 16, 1, 0x5A, {{kRcx, 2}, {kRdi, kMmio + 17}}},
      {mem64_steps_stos, true, 17, 1, 0x5A, {{kRcx, 1}, {kRdi, kMmio + 18}}},
      {mem64_steps_stos_next, true, 18, 1, 0x5A, {{kRcx, 0}, {kRdi, kMmio + 19}}},
      {nullptr, false, 0, 2, 0x3344, {}},
      {mem64_steps_movs_next, true, 24, 2, 0x3344, {{kRsi, kMmio + 2}, {kRdi, kMmio + 26}}},
  };
  vm_.load(GUEST_CODE(mem64_steps));
  enter_mode(vm_, CpuMode::kLong64);
  for (size_t i = 0; i < std::size(steps); i++) {
    SCOPED_TRACE(testing::Message() << "step " << i);
    step(CpuMode::kLong64, mem64_steps_begin, steps[i]);
  }
  ASSERT_EQ(vm_.run(), NVMM_VCPU_EXIT_HALTED) << vm_.describe_exit();
}

TEST_F(MemStepsTest, Real16) {
  const MemStep steps[] = {
      {mem16_steps_load_next, false, 8, 4, 0xDEADBEEF, {{kRbx, 0xDEADBEEF}}},
      {nullptr, false, 0, 4, 0x11223244, {}},
      {mem16_steps_or_next, true, 0, 4, 0x11223344, {}},
      {mem16_steps_stos, true, 16, 1, 0x5A, {{kRcx, 2}, {kRdi, 17}}},
      {mem16_steps_stos, true, 17, 1, 0x5A, {{kRcx, 1}, {kRdi, 18}}},
      {mem16_steps_stos_next, true, 18, 1, 0x5A, {{kRcx, 0}, {kRdi, 19}}},
      {nullptr, false, 0, 2, 0x3344, {}},
      {mem16_steps_movs_next, true, 24, 2, 0x3344, {{kRsi, 2}, {kRdi, 26}}},
  };
  vm_.load(GUEST_CODE(mem16_steps));
  enter_mode(vm_, CpuMode::kReal16);
  for (size_t i = 0; i < std::size(steps); i++) {
    SCOPED_TRACE(testing::Message() << "step " << i);
    step(CpuMode::kReal16, mem16_steps_begin, steps[i]);
  }
  ASSERT_EQ(vm_.run(), NVMM_VCPU_EXIT_HALTED) << vm_.describe_exit();
}

}  // namespace
}  // namespace vmruntime::assist_test
