// SPDX-License-Identifier: BSD-2-Clause
// MEMORY exits: MMIO writes of every width and reads into registers,
// completed by nvmm_assist_mem with a callback, and a read-only mapping
// that a guest reads without exits but cannot write.
#include <sys/mman.h>

#include <algorithm>
#include <cstring>
#include <map>

#include "guest_vm.h"

GUEST_SNIPPET(long_mmio);
GUEST_EXIT_LABEL(long_mmio_w8);
GUEST_EXIT_LABEL(long_mmio_w16);
GUEST_EXIT_LABEL(long_mmio_w32);
GUEST_EXIT_LABEL(long_mmio_w64);
GUEST_EXIT_LABEL(long_mmio_r64);
GUEST_EXIT_LABEL(long_mmio_r32);
GUEST_SNIPPET(long_ro);
GUEST_SNIPPET(long_remap_a);
GUEST_SNIPPET(long_remap_b);
GUEST_EXIT_LABEL(long_remap_a_out);
GUEST_EXIT_LABEL(long_remap_b_out);
GUEST_EXIT_LABEL(long_ro_write);

namespace vmruntime::nvmm_test {
namespace {

struct MemCall {
  gpaddr_t gpa;
  bool write;
  size_t size;
  uint64_t data;
};

// The assist callback has no context pointer; the test owns these while it runs.
std::vector<MemCall> g_calls;
std::map<gpaddr_t, uint64_t> g_device;  // what reads return, by GPA

void mem_callback(nvmm_mem* mem) {
  MemCall call{mem->gpa, mem->write, mem->size, 0};
  const size_t size = std::min(mem->size, sizeof call.data);
  if (!mem->write) {
    const uint64_t value = g_device[mem->gpa];
    std::memcpy(mem->data, &value, size);
  }
  std::memcpy(&call.data, mem->data, size);
  g_calls.push_back(call);
}

class MemoryTest : public NvmmTest {
 protected:
  void SetUp() override {
    NvmmTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    g_calls.clear();
    g_device.clear();
    nvmm_assist_callbacks cbs{nullptr, mem_callback};
    ASSERT_EQ(nvmm_vcpu_configure(vm_.mach(), vm_.vcpu(), NVMM_VCPU_CONF_CALLBACKS, &cbs), 0)
        << std::strerror(errno);
  }
};

struct MemStep {
  const uint8_t* at;
  const uint8_t* next;
  gpaddr_t gpa;
  bool write;
  size_t size;
  uint64_t data;
  int reg;  // reads: the destination register
};

const MemStep kSteps[] = {
    {long_mmio_w8, long_mmio_w8_next, GUEST_MMIO_GPA, true, 1, 0x11, 0},
    {long_mmio_w16, long_mmio_w16_next, GUEST_MMIO_GPA + 8, true, 2, 0x2233, 0},
    {long_mmio_w32, long_mmio_w32_next, GUEST_MMIO_GPA + 16, true, 4, 0x44556677, 0},
    {long_mmio_w64, long_mmio_w64_next, GUEST_MMIO_GPA + 24, true, 8, 0x8899AABBCCDDEEFF, 0},
    {long_mmio_r64, long_mmio_r64_next, GUEST_MMIO_GPA + 32, false, 8, 0x0123456789ABCDEF,
     NVMM_X64_GPR_RBX},
    // The guest sets RCX to -1 first: a 32-bit load must zero-extend.
    {long_mmio_r32, long_mmio_r32_next, GUEST_MMIO_GPA + 40, false, 4, 0xFEDCBA98,
     NVMM_X64_GPR_RCX},
};

TEST_F(MemoryTest, MmioThroughAssist) {
  for (const MemStep& step : kSteps) {
    if (!step.write) g_device[step.gpa] = step.data;
  }
  vm_.load(GUEST_CODE(long_mmio));
  vm_.enter_long_mode(GUEST_CODE_GPA);
  for (const MemStep& step : kSteps) {
    ASSERT_EQ(vm_.run(), NVMM_VCPU_EXIT_MEMORY) << vm_.describe_exit();
    SCOPED_TRACE(vm_.describe_exit());
    EXPECT_EQ(vm_.exit().u.mem.gpa, step.gpa);
    EXPECT_EQ(vm_.exit().u.mem.prot, step.write ? PROT_WRITE : PROT_READ);
    vm_.get(NVMM_X64_STATE_GPRS);
    // KVM retires an MMIO write before it exits (docs/nvmm.3.md, differences
    // from NetBSD); a read waits for its data.
    EXPECT_EQ(vm_.state().gprs[NVMM_X64_GPR_RIP],
              step.write ? GUEST_GPA(long_mmio, step.next) : GUEST_GPA(long_mmio, step.at));
    ASSERT_EQ(nvmm_assist_mem(vm_.mach(), vm_.vcpu()), 0) << std::strerror(errno);
    vm_.get(NVMM_X64_STATE_GPRS);
    EXPECT_EQ(vm_.state().gprs[NVMM_X64_GPR_RIP], GUEST_GPA(long_mmio, step.next))
        << "the assist completes the instruction";
    if (!step.write) {
      EXPECT_EQ(vm_.state().gprs[step.reg], step.data) << "register " << step.reg;
    }
  }
  ASSERT_EQ(vm_.run(), NVMM_VCPU_EXIT_HALTED) << vm_.describe_exit();
  EXPECT_EQ(vm_.peek<uint64_t>(GUEST_DATA_GPA), 0x0123456789ABCDEFu) << "the guest kept RBX";

  ASSERT_EQ(g_calls.size(), std::size(kSteps));
  for (size_t i = 0; i < g_calls.size(); i++) {
    EXPECT_EQ(g_calls[i].gpa, kSteps[i].gpa) << "call " << i;
    EXPECT_EQ(g_calls[i].write, kSteps[i].write) << "call " << i;
    EXPECT_EQ(g_calls[i].size, kSteps[i].size) << "call " << i;
    EXPECT_EQ(g_calls[i].data, kSteps[i].data) << "call " << i;
  }
}

TEST_F(MemoryTest, ReadOnlyMapping) {
  uint8_t* rom = vm_.map_page(GUEST_ROM_GPA, PROT_READ | PROT_EXEC);
  ASSERT_NE(rom, nullptr);
  const uint64_t content[2] = {0x1122334455667788, 0xAAAAAAAAAAAAAAAA};
  std::memcpy(rom, content, sizeof content);
  vm_.load(GUEST_CODE(long_ro));
  vm_.enter_long_mode(GUEST_CODE_GPA);

  ASSERT_EQ(vm_.run(), NVMM_VCPU_EXIT_MEMORY) << vm_.describe_exit();
  EXPECT_EQ(vm_.exit().u.mem.gpa, GUEST_ROM_GPA + 8u);
  EXPECT_EQ(vm_.exit().u.mem.prot, PROT_WRITE);
  EXPECT_EQ(vm_.peek<uint64_t>(GUEST_DATA_GPA), content[0]) << "the guest read the page";

  ASSERT_EQ(nvmm_assist_mem(vm_.mach(), vm_.vcpu()), 0) << std::strerror(errno);
  ASSERT_EQ(g_calls.size(), 1u);
  EXPECT_EQ(g_calls[0].gpa, GUEST_ROM_GPA + 8u);
  EXPECT_TRUE(g_calls[0].write);
  EXPECT_EQ(g_calls[0].size, 4u);
  EXPECT_EQ(g_calls[0].data, 0x5A5A5A5Au);
  EXPECT_EQ(std::memcmp(rom, content, sizeof content), 0) << "the page is unchanged";
  ASSERT_EQ(vm_.run(), NVMM_VCPU_EXIT_HALTED) << vm_.describe_exit();

  uintptr_t hva = 0;
  nvmm_prot_t prot = 0;
  ASSERT_EQ(nvmm_gpa_to_hva(vm_.mach(), GUEST_ROM_GPA + 8, &hva, &prot), 0) << std::strerror(errno);
  EXPECT_EQ(hva, reinterpret_cast<uintptr_t>(rom) + 8);
  EXPECT_EQ(prot & (NVMM_PROT_READ | NVMM_PROT_WRITE), nvmm_prot_t{NVMM_PROT_READ});
}

// The library reads the code around RIP at every IO exit through a cache
// of host pages: a page unmapped and another mapped at the same guest
// address must be read afresh (the OUT moved, so must npc).
TEST_F(MemoryTest, CodeRemappedAtTheSameAddressIsReadAfresh) {
  constexpr uint64_t kCodeGpa = 0x70000;  // identity-mapped, no RAM
  uint8_t* pages[2];
  for (auto& p : pages) {
    void* m = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(m, MAP_FAILED);
    p = static_cast<uint8_t*>(m);
    ASSERT_EQ(nvmm_hva_map(vm_.mach(), reinterpret_cast<uintptr_t>(p), 4096), 0);
  }
  std::memcpy(pages[0], long_remap_a_begin, static_cast<size_t>(long_remap_a_end - long_remap_a_begin));
  std::memcpy(pages[1], long_remap_b_begin, static_cast<size_t>(long_remap_b_end - long_remap_b_begin));
  const uint64_t npc[2] = {kCodeGpa + (long_remap_a_out_next - long_remap_a_begin),
                           kCodeGpa + (long_remap_b_out_next - long_remap_b_begin)};
  for (int round = 0; round < 4; round++) {
    const int which = round % 2;
    auto hva = reinterpret_cast<uintptr_t>(pages[which]);
    ASSERT_EQ(nvmm_gpa_map(vm_.mach(), hva, kCodeGpa, 4096, PROT_READ | PROT_EXEC), 0);
    vm_.enter_long_mode(kCodeGpa);
    ASSERT_EQ(vm_.run(), NVMM_VCPU_EXIT_IO) << vm_.describe_exit();
    EXPECT_EQ(vm_.exit().u.io.npc, npc[which]) << "round " << round;
    ASSERT_EQ(nvmm_gpa_unmap(vm_.mach(), hva, kCodeGpa, 4096), 0);
  }
  for (auto* p : pages) {
    EXPECT_EQ(nvmm_hva_unmap(vm_.mach(), reinterpret_cast<uintptr_t>(p), 4096), 0);
    munmap(p, 4096);
  }
}

TEST_F(MemoryTest, GpaToHvaOfRam) {
  uintptr_t hva = 0;
  nvmm_prot_t prot = 0;
  ASSERT_EQ(nvmm_gpa_to_hva(vm_.mach(), GUEST_DATA_GPA + 0x123, &hva, &prot), 0)
      << std::strerror(errno);
  EXPECT_EQ(hva, reinterpret_cast<uintptr_t>(vm_.ram(GUEST_DATA_GPA + 0x123)));
  const nvmm_prot_t rwx = NVMM_PROT_READ | NVMM_PROT_WRITE | NVMM_PROT_EXEC;
  EXPECT_EQ(prot & rwx, rwx);
}

}  // namespace
}  // namespace vmruntime::nvmm_test
