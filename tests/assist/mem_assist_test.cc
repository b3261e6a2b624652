// SPDX-License-Identifier: BSD-2-Clause
// The MMIO assist test body; the case tables are in mem{16,32,64}_test.cc.
#include <sys/mman.h>

#include <cerrno>
#include <cstring>

#include "hex.h"
#include "mem_assist.h"

namespace vmruntime::assist_test {
namespace {

constexpr size_t kMaxExits = 1000;
constexpr size_t kTableBytes = sizeof(MemCase::want);

const char* path_name(MemPath path) {
  switch (path) {
    case MemPath::kAssist: return "Assist";
    case MemPath::kAssistGetSet: return "AssistGetSet";
    case MemPath::kRam: return "Ram";
  }
  return "?";
}

Hex qword(const uint8_t* bytes, size_t index) {
  uint64_t value;
  std::memcpy(&value, bytes + 8 * index, sizeof value);
  return Hex{value};
}

}  // namespace

std::string mem_param_name(const ::testing::TestParamInfo<MemParam>& info) {
  return std::string(std::get<0>(info.param).name) + "_" + path_name(std::get<1>(info.param));
}

void PrintTo(const MemCase& c, std::ostream* os) { *os << c.name; }

void PrintTo(MemPath path, std::ostream* os) { *os << path_name(path); }

void MemAssistTest::SetUp() {
  NvmmTest::SetUp();
  if (IsSkipped() || HasFatalFailure()) return;
  nvmm_assist_callbacks cbs{nullptr, MmioDevice::callback};
  ASSERT_EQ(nvmm_vcpu_configure(vm_.mach(), vm_.vcpu(), NVMM_VCPU_CONF_CALLBACKS, &cbs), 0)
      << std::strerror(errno);
}

size_t MemAssistTest::run_to_halt(MemPath path) {
  size_t exits = 0;
  while (exits < kMaxExits) {
    const uint64_t reason = vm_.run();
    if (reason == NVMM_VCPU_EXIT_HALTED) break;
    exits++;
    if (reason != NVMM_VCPU_EXIT_MEMORY) {
      ADD_FAILURE() << "after " << exits - 1 << " MEMORY exits: " << vm_.describe_exit();
      break;
    }
    if (nvmm_assist_mem(vm_.mach(), vm_.vcpu()) == -1) {
      ADD_FAILURE() << "nvmm_assist_mem: " << std::strerror(errno) << " at "
                    << vm_.describe_exit();
      break;
    }
    if (path == MemPath::kAssistGetSet) {
      vm_.get(NVMM_X64_STATE_GPRS);
      vm_.set(NVMM_X64_STATE_GPRS);
    }
  }
  if (exits == kMaxExits) {
    vm_.get(NVMM_X64_STATE_GPRS);
    ADD_FAILURE() << "the snippet does not reach its HLT: after " << kMaxExits
                  << " MEMORY exits RIP is 0x" << std::hex << vm_.state().gprs[NVMM_X64_GPR_RIP]
                  << ", RCX 0x" << vm_.state().gprs[NVMM_X64_GPR_RCX] << ", last "
                  << vm_.describe_exit();
  }
  return exits;
}

TEST_P(MemAssistTest, Snippet) {
  const auto& [c, path] = GetParam();
  if (c.mode == CpuMode::kProt32Paging && nvmm_test::host_is_pvm()) {
    // kvm-pvm keeps CR0.PG clear outside long mode and shuts the vCPU down.
    GTEST_SKIP() << "*** kvm-pvm cannot run 32-bit paging: SKIPPED ***";
  }
  uint8_t* target = device_.bytes();
  if (path == MemPath::kRam) {
    target = vm_.map_page(ASSIST_MMIO_GPA, PROT_READ | PROT_WRITE);
    ASSERT_NE(target, nullptr);
  }
  std::memcpy(target, c.init.data(), kTableBytes);
  vm_.load(c.code);
  enter_mode(vm_, c.mode);

  const size_t exits = run_to_halt(path);
  if (HasFailure()) return;
  if (path == MemPath::kRam) {
    EXPECT_EQ(exits, 0u) << "RAM accesses exited";
  } else {
    EXPECT_GT(exits, 0u) << "the device was never reached";
  }

  vm_.get(NVMM_X64_STATE_GPRS);
  const uint64_t* gprs = vm_.state().gprs;
  EXPECT_EQ(Hex{gprs[NVMM_X64_GPR_RIP]}, Hex{snippet_rip(c.mode, c.code.begin, c.code.end)})
      << "the snippet's last HLT";
  {
    SCOPED_TRACE("registers at the HLT");
    expect_regs(c.mode, gprs, c.regs);
  }
  for (size_t i = 0; i < c.want.size(); i++) {
    EXPECT_EQ(qword(target, i), Hex{c.want[i]}) << "device bytes " << 8 * i << "-" << 8 * i + 7;
  }
  for (size_t i = kTableBytes; i < MmioDevice::kSize; i++) {
    ASSERT_EQ(target[i], 0) << "stray write at device byte " << i;
  }
  for (const MmioAccess& a : device_.accesses()) {
    EXPECT_LE(a.gpa + a.size, ASSIST_MMIO_GPA + kTableBytes)
        << "access outside the snippet's bytes: gpa 0x" << std::hex << a.gpa;
  }
}

}  // namespace vmruntime::assist_test
