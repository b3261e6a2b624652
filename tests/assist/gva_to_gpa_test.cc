// SPDX-License-Identifier: BSD-2-Clause
// nvmm_gva_to_gpa on page tables the test writes into guest RAM, with CR0,
// CR3, CR4, EFER and the CPL (SS.DPL) set through nvmm_vcpu_setstate; the
// guest never runs.  Formats per the Intel SDM vol. 3 ch. 4: paging off,
// 32-bit (4 KiB and, with CR4.PSE, 4 MiB pages), PAE (4 KiB, 2 MiB) and
// 4-level (4 KiB, 2 MiB, 1 GiB).  The protection is what the tables grant:
// U/S clear anywhere removes NVMM_PROT_USER, R/W clear removes
// NVMM_PROT_WRITE unless CR0.WP is clear at CPL0, and XD with EFER.NXE
// removes NVMM_PROT_EXEC.  A failed walk is -1 with errno EFAULT.
#include <cerrno>
#include <cstring>

#include "guest_vm.h"
#include "hex.h"

namespace vmruntime::assist_test {
namespace {

constexpr uint64_t CR0_PE = 1ULL << 0;
constexpr uint64_t CR0_WP = 1ULL << 16;
constexpr uint64_t CR0_PG = 1ULL << 31;
constexpr uint64_t CR4_PSE = 1ULL << 4;
constexpr uint64_t CR4_PAE = 1ULL << 5;
constexpr uint64_t EFER_LME = 1ULL << 8;
constexpr uint64_t EFER_LMA = 1ULL << 10;
constexpr uint64_t EFER_NXE = 1ULL << 11;
constexpr uint64_t PG_P = 1, PG_RW = 2, PG_U = 4, PG_PS = 0x80, PG_NX = 1ULL << 63;
constexpr uint64_t PG_ALL = PG_P | PG_RW | PG_U;

constexpr nvmm_prot_t kR = NVMM_PROT_READ, kW = NVMM_PROT_WRITE, kX = NVMM_PROT_EXEC,
                      kU = NVMM_PROT_USER;
constexpr nvmm_prot_t kAll = NVMM_PROT_ALL;
constexpr bool kFault = false;

struct Lookup {
  gvaddr_t gva;
  bool ok;
  gpaddr_t gpa = 0;
  nvmm_prot_t prot = 0;
};

class GvaToGpaTest : public nvmm_test::NvmmTest {
 protected:
  void set_paging(uint64_t cr0, uint64_t cr3, uint64_t cr4, uint64_t efer, unsigned cpl = 0);
  void expect(const Lookup& lookup);
  void expect_all(std::initializer_list<Lookup> lookups);
  void build_legacy();
  void build_pae();
  void build_long();
};

void GvaToGpaTest::set_paging(uint64_t cr0, uint64_t cr3, uint64_t cr4, uint64_t efer,
                              unsigned cpl) {
  vm_.get(NVMM_X64_STATE_ALL);
  nvmm_x64_state& s = vm_.state();
  s.crs[NVMM_X64_CR_CR0] = cr0;
  s.crs[NVMM_X64_CR_CR3] = cr3;
  s.crs[NVMM_X64_CR_CR4] = cr4;
  s.msrs[NVMM_X64_MSR_EFER] = efer;
  s.segs[NVMM_X64_SEG_CS].attrib.dpl = cpl;
  s.segs[NVMM_X64_SEG_SS].attrib.dpl = cpl;
  vm_.set(NVMM_X64_STATE_CRS | NVMM_X64_STATE_MSRS | NVMM_X64_STATE_SEGS);
}

void GvaToGpaTest::expect(const Lookup& l) {
  SCOPED_TRACE(testing::Message() << "gva 0x" << std::hex << l.gva);
  gpaddr_t gpa = 0;
  nvmm_prot_t prot = 0;
  errno = 0;
  const int ret = nvmm_gva_to_gpa(vm_.mach(), vm_.vcpu(), l.gva, &gpa, &prot);
  if (!l.ok) {
    EXPECT_EQ(ret, -1) << "translated to 0x" << std::hex << gpa;
    EXPECT_EQ(errno, EFAULT) << std::strerror(errno);
    return;
  }
  ASSERT_EQ(ret, 0) << std::strerror(errno);
  EXPECT_EQ(Hex{gpa}, Hex{l.gpa});
  EXPECT_EQ(Hex{prot}, Hex{l.prot});
}

void GvaToGpaTest::expect_all(std::initializer_list<Lookup> lookups) {
  for (const Lookup& l : lookups) expect(l);
}

// 32-bit tables: directory at 0x12000, page tables at 0x13000 and 0x14000.
// PDE 3 sets bit 13, PSE-36's physical address bit 32.
void GvaToGpaTest::build_legacy() {
  const auto pde = [&](unsigned i, uint32_t v) { vm_.poke<uint32_t>(0x12000 + 4 * i, v); };
  const auto pte = [&](uint64_t pt, unsigned i, uint32_t v) { vm_.poke<uint32_t>(pt + 4 * i, v); };
  pde(0, 0x13000 | PG_ALL);
  pte(0x13000, 1, 0x55000 | PG_ALL);
  pte(0x13000, 2, 0x56000 | PG_P | PG_U);
  pte(0x13000, 3, 0x57000 | PG_P | PG_RW);
  pte(0x13000, 4, 0x58000 | PG_RW | PG_U);
  pde(1, 0x14000 | PG_P | PG_RW);
  pte(0x14000, 0, 0x59000 | PG_ALL);
  pde(2, 0x01C00000 | PG_PS | PG_ALL);
  pde(3, 0x00400000 | 1 << 13 | PG_PS | PG_P | PG_U);
}

// PAE tables: PDPT at 0x15020 (CR3 is 32-byte aligned), directories at
// 0x16000 and 0x18000, page table at 0x17000.
void GvaToGpaTest::build_pae() {
  vm_.poke<uint64_t>(0x15020, 0x16000 | PG_P);
  vm_.poke<uint64_t>(0x15020 + 3 * 8, 0x18000 | PG_P);
  vm_.poke<uint64_t>(0x16000, 0x17000 | PG_ALL);
  vm_.poke<uint64_t>(0x17000 + 1 * 8, 0x55000 | PG_ALL);
  vm_.poke<uint64_t>(0x17000 + 2 * 8, 0x56000 | PG_ALL | PG_NX);
  vm_.poke<uint64_t>(0x16000 + 1 * 8, 0x600000 | PG_PS | PG_ALL);
  vm_.poke<uint64_t>(0x16000 + 2 * 8, 0x800000 | PG_PS | PG_P | PG_U | PG_NX);
  vm_.poke<uint64_t>(0x18000 + 511 * 8, 0xFFE00000 | PG_PS | PG_P | PG_RW);
}

// 4-level tables: PML4 at 0x19000, PDPTs at 0x1A000 and 0x1E000, directory
// at 0x1B000, page tables at 0x1C000 and 0x1D000.  PML4 entry 3 points at a
// PDPT outside RAM.
void GvaToGpaTest::build_long() {
  const auto put = [&](uint64_t table, unsigned i, uint64_t v) { vm_.poke(table + 8 * i, v); };
  put(0x19000, 0, 0x1A000 | PG_ALL);
  put(0x19000, 2, PG_PS | PG_ALL);
  put(0x19000, 3, 0x200000 | PG_ALL);
  put(0x19000, 256, 0x1E000 | PG_P | PG_RW);
  put(0x1A000, 0, 0x1B000 | PG_ALL);
  put(0x1A000, 1, 0x80000000 | PG_PS | PG_ALL);
  put(0x1A000, 2, 0x140000000 | PG_PS | PG_P | PG_RW);
  put(0x1B000, 0, 0x1C000 | PG_ALL);
  put(0x1B000, 1, 0x600000 | PG_PS | PG_ALL);
  put(0x1B000, 2, 0x1D000 | PG_P | PG_U | PG_NX);
  put(0x1C000, 1, 0x55000 | PG_ALL);
  put(0x1C000, 2, 0x56000 | PG_P | PG_U);
  put(0x1C000, 3, 0x57000 | PG_P | PG_RW);
  put(0x1C000, 4, 0x58000 | PG_ALL | PG_NX);
  put(0x1D000, 0, 0x59000 | PG_ALL);
  put(0x1E000, 0, PG_PS | PG_ALL);
}

TEST_F(GvaToGpaTest, PagingOff) {
  set_paging(CR0_PE, 0, 0, 0);
  expect_all({{0x12345678, true, 0x12345678, kAll}, {0xFFFFF000, true, 0xFFFFF000, kAll}});
}

TEST_F(GvaToGpaTest, Legacy32) {
  build_legacy();
  set_paging(CR0_PE | CR0_WP | CR0_PG, 0x12000, CR4_PSE, 0);
  expect_all({
      {0x1234, true, 0x55234, kAll},
      {0x2010, true, 0x56010, kR | kX | kU},       // read-only
      {0x3FFF, true, 0x57FFF, kR | kW | kX},       // supervisor
      {0x4000, kFault, 0, 0},                         // PTE not present
      {0x400010, true, 0x59010, kR | kW | kX},     // supervisor directory
      {0x812345, true, 0x1C12345, kAll},        // 4 MiB page
      {0xC00123, true, 0x100400123, kR | kX | kU}, // 4 MiB page above 4 GiB
      {0x1000000, kFault, 0, 0},                      // PDE not present
  });
}

TEST_F(GvaToGpaTest, Legacy32WithoutPse) {
  build_legacy();
  set_paging(CR0_PE | CR0_WP | CR0_PG, 0x12000, 0, 0);
  // Without CR4.PSE the PS bit is ignored: PDE 2 names a page table at
  // 0x1C00000, where there is no RAM.
  expect_all({{0x1234, true, 0x55234, kAll}, {0x812345, kFault, 0, 0}});
}

TEST_F(GvaToGpaTest, Pae) {
  build_pae();
  set_paging(CR0_PE | CR0_WP | CR0_PG, 0x15020, CR4_PAE, EFER_NXE);
  expect_all({
      {0x1234, true, 0x55234, kAll},
      {0x2345, true, 0x56345, kR | kW | kU},      // XD
      {0x212345, true, 0x612345, kAll},        // 2 MiB page
      {0x4ABCDE, true, 0x8ABCDE, kR | kU},       // read-only 2 MiB page with XD
      {0xFFFFF123, true, 0xFFFFF123, kR | kW | kX},
      {0x3000, kFault, 0, 0},                        // PTE not present
      {0x40000000, kFault, 0, 0},                    // PDPTE not present
  });
}

TEST_F(GvaToGpaTest, Long4Level) {
  build_long();
  set_paging(CR0_PE | CR0_WP | CR0_PG, 0x19000, CR4_PAE, EFER_LME | EFER_LMA | EFER_NXE);
  expect_all({
      {0x1234, true, 0x55234, kAll},
      {0x2010, true, 0x56010, kR | kX | kU},              // read-only
      {0x3FFF, true, 0x57FFF, kR | kW | kX},              // supervisor
      {0x4008, true, 0x58008, kR | kW | kU},              // XD
      {0x5000, kFault, 0, 0},                                // PTE not present
      {0x2ABCDE, true, 0x6ABCDE, kAll},                // 2 MiB page
      {0x400123, true, 0x59123, kR | kU},                // read-only, XD directory
      {0x40012345, true, 0x80012345, kAll},            // 1 GiB page
      {0x8ABCDEF0, true, 0x14ABCDEF0, kR | kW | kX},      // supervisor 1 GiB page above 4 GiB
      {0xFFFF800000001234, true, 0x1234, kR | kW | kX},   // upper half, supervisor PML4E
      {0x8000000000, kFault, 0, 0},                          // PML4E not present
      {0x10000000000, kFault, 0, 0},                         // PS in a PML4E
      {0x18000000000, kFault, 0, 0},                         // PDPT outside RAM
      {0x0000800000000000, kFault, 0, 0},                    // not canonical
      {0xFFFF000000001234, kFault, 0, 0},                    // not canonical
  });
}

TEST_F(GvaToGpaTest, WriteProtectClearAtCpl0) {
  build_long();
  set_paging(CR0_PE | CR0_PG, 0x19000, CR4_PAE, EFER_LME | EFER_LMA | EFER_NXE);
  expect_all({{0x2010, true, 0x56010, kAll}, {0x400123, true, 0x59123, kR | kW | kU}});
  build_legacy();
  set_paging(CR0_PE | CR0_PG, 0x12000, CR4_PSE, 0);
  expect_all({{0x2010, true, 0x56010, kAll}, {0xC00123, true, 0x100400123, kAll}});
}

TEST_F(GvaToGpaTest, WriteProtectClearAtCpl3) {
  build_long();
  set_paging(CR0_PE | CR0_PG, 0x19000, CR4_PAE, EFER_LME | EFER_LMA | EFER_NXE, 3);
  expect_all({{0x2010, true, 0x56010, kR | kX | kU}, {0x3FFF, true, 0x57FFF, kR | kW | kX}});
}

}  // namespace
}  // namespace vmruntime::assist_test
