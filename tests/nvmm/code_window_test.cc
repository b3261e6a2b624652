// SPDX-License-Identifier: BSD-2-Clause
//
// The code window IO and MSR exits decode (vmruntime/nvmm/code_window.h):
// its version holds while nothing it read changed, and moves when a code
// byte, a page-table entry on the way, the mappings, or a page that was not
// RAM do.  A stale window would hand the VMM the wrong instruction length.
// Driven directly on a real machine's memory; no vCPU runs.
#include <sys/mman.h>

#include <gtest/gtest.h>

#include <cstring>
#include <memory>

#include "guest_vm.h"
#include "vmruntime/nvmm/code_window.h"
#include "vmruntime/nvmm/machine.h"

namespace vmruntime::nvmm_test {
namespace {

using nvmm::CodeWindow;
using nvmm::kMaxInsn;
using nvmm::PageCache;
using nvmm::PagingRegs;

constexpr uint64_t kPage = 4096;
constexpr uint64_t kCr0PePg = (1ULL << 0) | (1ULL << 31);
constexpr uint64_t kCr4Pae = 1ULL << 5;
constexpr uint64_t kEferLmeLma = (1ULL << 8) | (1ULL << 10);

// The machine behind the test's nvmm_machine is the library's own.
class CodeWindowTest : public NvmmTest {
 protected:
  void SetUp() override {
    NvmmTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    cache_ = std::make_unique<PageCache>(*static_cast<nvmm::Machine*>(vm_.mach()->areas));
    code_ = std::make_unique<CodeWindow>(*cache_);
  }

  CodeWindow& window() { return *code_; }

  std::unique_ptr<PageCache> cache_;
  std::unique_ptr<CodeWindow> code_;
};

PagingRegs unpaged() { return PagingRegs{}; }

PagingRegs long_mode() { return PagingRegs{kCr0PePg, GUEST_PML4_GPA, kCr4Pae, kEferLmeLma, 0}; }

TEST_F(CodeWindowTest, HoldsUntilAByteInsideItChanges) {
  const uint64_t rip = GUEST_CODE_GPA + 0x100;
  for (uint64_t i = 0; i < 64; i++) vm_.poke<uint8_t>(rip - 32 + i, static_cast<uint8_t>(i));
  const uint64_t first = window().update(unpaged(), rip);
  EXPECT_EQ(window().bytes()[kMaxInsn], vm_.peek<uint8_t>(rip));
  EXPECT_EQ(window().readable_from_rip(), kMaxInsn);
  EXPECT_EQ(window().update(unpaged(), rip), first);

  vm_.poke<uint8_t>(rip + 20, 0xAA);  // outside [rip - 15, rip + 15)
  vm_.poke<uint8_t>(rip - 16, 0xAA);
  EXPECT_EQ(window().update(unpaged(), rip), first);

  vm_.poke<uint8_t>(rip - 15, 0xCC);  // the first byte of the window
  const uint64_t second = window().update(unpaged(), rip);
  EXPECT_NE(second, first);
  EXPECT_EQ(window().bytes()[0], 0xCC);
  vm_.poke<uint8_t>(rip + 14, 0xCC);  // the last
  EXPECT_NE(window().update(unpaged(), rip), second);
  EXPECT_EQ(window().bytes()[2 * kMaxInsn - 1], 0xCC);
}

TEST_F(CodeWindowTest, MovesWithTheAddressAndThePagingRegisters) {
  const uint64_t rip = GUEST_CODE_GPA + 0x100;
  const uint64_t first = window().update(unpaged(), rip);
  EXPECT_NE(window().update(unpaged(), rip + 1), first);
  const uint64_t paged = window().update(long_mode(), rip);
  EXPECT_NE(paged, first);
  EXPECT_EQ(window().update(long_mode(), rip), paged);
  PagingRegs user = long_mode();
  user.cpl = 3;
  EXPECT_NE(window().update(user, rip), paged);
}

// The identity map's entry for the code page is pointed at the data page:
// same linear address, same registers, other bytes.
TEST_F(CodeWindowTest, MovesWhenAPageTableEntryOnTheWayChanges) {
  const uint64_t rip = GUEST_CODE_GPA + 0x100;
  vm_.poke<uint8_t>(rip, 0xEE);
  vm_.poke<uint8_t>(GUEST_DATA_GPA + 0x100, 0xE6);
  const uint64_t first = window().update(long_mode(), rip);
  EXPECT_EQ(window().bytes()[kMaxInsn], 0xEE);
  EXPECT_EQ(window().update(long_mode(), rip), first);

  const uint64_t pte = GUEST_PT_GPA + 8 * (GUEST_CODE_GPA / kPage);
  const uint64_t entry = vm_.peek<uint64_t>(pte);
  vm_.poke<uint64_t>(pte, (entry & (kPage - 1)) | GUEST_DATA_GPA);
  EXPECT_NE(window().update(long_mode(), rip), first);
  EXPECT_EQ(window().bytes()[kMaxInsn], 0xE6);
}

// The window runs off the end of RAM; the page after it is mapped later,
// from host memory that does not follow RAM's.
TEST_F(CodeWindowTest, MovesWhenAPageThatWasNotRamIsMapped) {
  const uint64_t rip = GUEST_RAM_SIZE - 4;
  const uint64_t first = window().update(unpaged(), rip);
  EXPECT_EQ(window().readable_from_rip(), 4u);
  EXPECT_EQ(window().update(unpaged(), rip), first);

  uint8_t* page = vm_.map_page(GUEST_RAM_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC);
  ASSERT_NE(page, nullptr);
  page[0] = 0x5A;
  const uint64_t mapped = window().update(unpaged(), rip);
  EXPECT_NE(mapped, first);
  EXPECT_EQ(window().readable_from_rip(), kMaxInsn);
  EXPECT_EQ(window().bytes()[kMaxInsn + 4], 0x5A);

  // Two reads now, one per page: a change in the second is seen too.
  EXPECT_EQ(window().update(unpaged(), rip), mapped);
  page[1] = 0xA5;
  EXPECT_NE(window().update(unpaged(), rip), mapped);
}

// Other host memory at the same guest address, with the same bytes: the
// addresses the window kept belong to the old mapping.
TEST_F(CodeWindowTest, MovesWhenTheMappingsChange) {
  uint8_t* page = vm_.map_page(GUEST_ROM_GPA, PROT_READ | PROT_EXEC);
  ASSERT_NE(page, nullptr);
  const uint64_t rip = GUEST_ROM_GPA + 0x100;
  const uint64_t first = window().update(unpaged(), rip);

  void* other = mmap(nullptr, kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(other, MAP_FAILED);
  std::memcpy(other, page, kPage);
  const auto old_hva = reinterpret_cast<uintptr_t>(page);
  const auto new_hva = reinterpret_cast<uintptr_t>(other);
  ASSERT_EQ(nvmm_gpa_unmap(vm_.mach(), old_hva, GUEST_ROM_GPA, kPage), 0);
  ASSERT_EQ(nvmm_hva_map(vm_.mach(), new_hva, kPage), 0);
  ASSERT_EQ(nvmm_gpa_map(vm_.mach(), new_hva, GUEST_ROM_GPA, kPage, PROT_READ | PROT_EXEC), 0);
  EXPECT_NE(window().update(unpaged(), rip), first);

  ASSERT_EQ(nvmm_gpa_unmap(vm_.mach(), new_hva, GUEST_ROM_GPA, kPage), 0);
  ASSERT_EQ(nvmm_hva_unmap(vm_.mach(), new_hva, kPage), 0);
  munmap(other, kPage);
}

}  // namespace
}  // namespace vmruntime::nvmm_test
