// SPDX-License-Identifier: BSD-2-Clause
// GuestVm: machine, vCPU 0, RAM, GDT/IDT/page tables and mode entry for the
// nvmm.h tests.  Segment state is derived from the same descriptors that go
// into the in-memory GDT, so the hidden state and the table never disagree
// (interrupt delivery and IRET reload CS/SS from the table).
#include "guest_vm.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

namespace vmruntime::nvmm_test {
namespace {

constexpr uint64_t kPageSize = 0x1000;

constexpr uint64_t CR0_PE = 1ULL << 0;
constexpr uint64_t CR0_MP = 1ULL << 1;
constexpr uint64_t CR0_ET = 1ULL << 4;
constexpr uint64_t CR0_NE = 1ULL << 5;
constexpr uint64_t CR0_WP = 1ULL << 16;
constexpr uint64_t CR0_PG = 1ULL << 31;
constexpr uint64_t CR4_PSE = 1ULL << 4;
constexpr uint64_t CR4_PAE = 1ULL << 5;
constexpr uint64_t CR4_OSFXSR = 1ULL << 9;
constexpr uint64_t CR4_OSXMMEXCPT = 1ULL << 10;
constexpr uint64_t EFER_LME = 1ULL << 8;
constexpr uint64_t EFER_LMA = 1ULL << 10;
constexpr uint64_t PG_P = 1, PG_RW = 2, PG_U = 4, PG_PS = 0x80;
constexpr uint64_t kRflagsReserved = 0x2;
constexpr uint64_t kRflagsIopl3 = 0x3000;

// A GDT entry: access byte (P, DPL, S, type) and flags nibble (G, D/B, L, AVL).
struct Descriptor {
  uint16_t selector;
  uint32_t base;
  uint32_t limit;  // 20-bit descriptor limit
  uint8_t access;
  uint8_t flags;
};

constexpr Descriptor kCode64{GUEST_SEL_CODE64, 0, 0xFFFFF, 0x9B, 0xA};
constexpr Descriptor kData{GUEST_SEL_DATA, 0, 0xFFFFF, 0x93, 0xC};
constexpr Descriptor kCode32{GUEST_SEL_CODE32, 0, 0xFFFFF, 0x9B, 0xC};
constexpr Descriptor kDataHi{GUEST_SEL_DATAHI, GUEST_DATA_GPA, 0xFFFF, 0x93, 0x4};
constexpr Descriptor kUserData{GUEST_SEL_UDATA, 0, 0xFFFFF, 0xF3, 0xC};
constexpr Descriptor kUserCode{GUEST_SEL_UCODE, 0, 0xFFFFF, 0xFB, 0xA};
constexpr Descriptor kTss{GUEST_SEL_TSS, GUEST_TSS_GPA, 0x67, 0x8B, 0x0};
constexpr Descriptor kGdt[] = {kCode64, kData, kCode32, kDataHi, kUserData, kUserCode, kTss};
// The 64-bit TSS descriptor takes two slots.
constexpr uint16_t kGdtLimit = GUEST_SEL_TSS + 16 - 1;
constexpr uint16_t kIdtLimit = 256 * 16 - 1;

uint64_t encode(const Descriptor& d) {
  return (d.limit & 0xFFFFULL) | (uint64_t{d.base} & 0xFFFFFF) << 16 | uint64_t{d.access} << 40 |
         uint64_t{(d.limit >> 16) & 0xF} << 48 | uint64_t{d.flags} << 52 |
         uint64_t{d.base >> 24} << 56;
}

nvmm_x64_state_seg hidden(const Descriptor& d) {
  nvmm_x64_state_seg seg{};
  seg.selector = d.selector;
  seg.attrib.type = d.access & 0xF;
  seg.attrib.s = (d.access >> 4) & 1;
  seg.attrib.dpl = (d.access >> 5) & 3;
  seg.attrib.p = d.access >> 7;
  seg.attrib.avl = d.flags & 1;
  seg.attrib.l = (d.flags >> 1) & 1;
  seg.attrib.def = (d.flags >> 2) & 1;
  seg.attrib.g = d.flags >> 3;
  seg.limit = seg.attrib.g ? (d.limit << 12) | 0xFFF : d.limit;
  seg.base = d.base;
  return seg;
}

void set_flat_segments(nvmm_x64_state& s, const Descriptor& code, const Descriptor& data) {
  s.segs[NVMM_X64_SEG_CS] = hidden(code);
  for (int seg : {NVMM_X64_SEG_ES, NVMM_X64_SEG_SS, NVMM_X64_SEG_DS, NVMM_X64_SEG_FS,
                  NVMM_X64_SEG_GS}) {
    s.segs[seg] = hidden(data);
  }
  s.segs[NVMM_X64_SEG_GDT].base = GUEST_GDT_GPA;
  s.segs[NVMM_X64_SEG_GDT].limit = kGdtLimit;
  s.segs[NVMM_X64_SEG_IDT].base = GUEST_IDT_GPA;
  s.segs[NVMM_X64_SEG_IDT].limit = kIdtLimit;
  s.segs[NVMM_X64_SEG_TR] = hidden(kTss);
}

void clear_gprs(nvmm_x64_state& s, uint64_t rip, uint64_t rflags) {
  std::memset(s.gprs, 0, sizeof s.gprs);
  s.gprs[NVMM_X64_GPR_RSP] = GUEST_STACK_TOP;
  s.gprs[NVMM_X64_GPR_RIP] = rip;
  s.gprs[NVMM_X64_GPR_RFLAGS] = rflags;
}

}  // namespace

const char* exit_name(uint64_t reason) {
  switch (reason) {
    case NVMM_VCPU_EXIT_NONE: return "NONE";
    case NVMM_VCPU_EXIT_STOPPED: return "STOPPED";
    case NVMM_VCPU_EXIT_INVALID: return "INVALID";
    case NVMM_VCPU_EXIT_MEMORY: return "MEMORY";
    case NVMM_VCPU_EXIT_IO: return "IO";
    case NVMM_VCPU_EXIT_SHUTDOWN: return "SHUTDOWN";
    case NVMM_VCPU_EXIT_INT_READY: return "INT_READY";
    case NVMM_VCPU_EXIT_NMI_READY: return "NMI_READY";
    case NVMM_VCPU_EXIT_HALTED: return "HALTED";
    case NVMM_VCPU_EXIT_TPR_CHANGED: return "TPR_CHANGED";
    case NVMM_VCPU_EXIT_RDMSR: return "RDMSR";
    case NVMM_VCPU_EXIT_WRMSR: return "WRMSR";
    case NVMM_VCPU_EXIT_MONITOR: return "MONITOR";
    case NVMM_VCPU_EXIT_MWAIT: return "MWAIT";
    case NVMM_VCPU_EXIT_CPUID: return "CPUID";
    case kRunFailed: return "(nvmm_vcpu_run failed)";
    default: return "(undefined reason)";
  }
}

bool host_is_pvm() { return access("/sys/module/kvm_pvm", F_OK) == 0; }

std::string hypervisor_signature(uint32_t ebx, uint32_t ecx, uint32_t edx) {
  char text[12];
  std::memcpy(text, &ebx, 4);
  std::memcpy(text + 4, &ecx, 4);
  std::memcpy(text + 8, &edx, 4);
  return std::string(text, sizeof text);
}

GuestVm::~GuestVm() {
  if (have_vcpu_ && nvmm_vcpu_destroy(&mach_, &vcpu_) == -1) {
    ADD_FAILURE() << "nvmm_vcpu_destroy: " << std::strerror(errno);
  }
  if (have_machine_ && nvmm_machine_destroy(&mach_) == -1) {
    ADD_FAILURE() << "nvmm_machine_destroy: " << std::strerror(errno);
  }
  if (ram_ != nullptr) munmap(ram_, GUEST_RAM_SIZE);
  for (uint8_t* page : pages_) munmap(page, kPageSize);
}

int GuestVm::create() {
  if (nvmm_machine_create(&mach_) == -1) return errno;
  have_machine_ = true;
  if (nvmm_vcpu_create(&mach_, 0, &vcpu_) == -1) return errno;
  have_vcpu_ = true;
  void* ram = mmap(nullptr, GUEST_RAM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                   -1, 0);
  if (ram == MAP_FAILED) return errno;
  ram_ = static_cast<uint8_t*>(ram);
  auto hva = reinterpret_cast<uintptr_t>(ram_);
  if (nvmm_hva_map(&mach_, hva, GUEST_RAM_SIZE) == -1) return errno;
  if (nvmm_gpa_map(&mach_, hva, 0, GUEST_RAM_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC) == -1) {
    return errno;
  }
  build_gdt();
  build_page_tables();
  return 0;
}

uint8_t* GuestVm::map_page(uint64_t gpa, int prot) {
  void* page = mmap(nullptr, kPageSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (page == MAP_FAILED) {
    ADD_FAILURE() << "mmap: " << std::strerror(errno);
    return nullptr;
  }
  pages_.push_back(static_cast<uint8_t*>(page));
  auto hva = reinterpret_cast<uintptr_t>(page);
  if (nvmm_hva_map(&mach_, hva, kPageSize) == -1 ||
      nvmm_gpa_map(&mach_, hva, gpa, kPageSize, prot) == -1) {
    ADD_FAILURE() << "mapping a page at GPA 0x" << std::hex << gpa << ": " << std::strerror(errno);
    return nullptr;
  }
  return pages_.back();
}

void GuestVm::build_gdt() {
  for (const Descriptor& d : kGdt) poke(GUEST_GDT_GPA + (d.selector & ~7), encode(d));
  // Upper half of the 64-bit TSS descriptor: base bits 63:32, all zero.
  poke(GUEST_GDT_GPA + GUEST_SEL_TSS + 8, uint64_t{0});
}

void GuestVm::build_page_tables() {
  const uint64_t table = PG_P | PG_RW | PG_U;
  poke(GUEST_PML4_GPA, GUEST_PDPT_GPA | table);
  poke(GUEST_PDPT_GPA, GUEST_PD_GPA | table);
  poke(GUEST_PD_GPA, GUEST_PT_GPA | table);
  poke(GUEST_PD_GPA + 8 * (GUEST_ALIAS_VA >> 21), GUEST_PT_GPA | table);
  for (uint64_t i = 0; i < 512; i++) poke(GUEST_PT_GPA + 8 * i, (i * kPageSize) | table);
  const uint32_t big_page = PG_P | PG_RW | PG_U | PG_PS;
  poke(GUEST_PD32_GPA, big_page);
  poke(GUEST_PD32_GPA + 4 * (GUEST_ALIAS_VA >> 22), big_page);
}

void GuestVm::load(GuestCode code) {
  std::memcpy(ram_ + GUEST_CODE_GPA, code.begin, static_cast<size_t>(code.end - code.begin));
}

void GuestVm::enter_real_mode(uint64_t rip) {
  get(NVMM_X64_STATE_ALL);
  nvmm_x64_state& s = state();
  s.segs[NVMM_X64_SEG_CS].selector = GUEST_CODE_GPA >> 4;
  s.segs[NVMM_X64_SEG_CS].base = GUEST_CODE_GPA;
  for (int seg : {NVMM_X64_SEG_DS, NVMM_X64_SEG_ES, NVMM_X64_SEG_SS}) {
    s.segs[seg].selector = GUEST_DATA_GPA >> 4;
    s.segs[seg].base = GUEST_DATA_GPA;
  }
  s.gprs[NVMM_X64_GPR_RSP] = GUEST_STACK_TOP - GUEST_DATA_GPA;
  s.gprs[NVMM_X64_GPR_RIP] = rip - GUEST_CODE_GPA;
  set(NVMM_X64_STATE_SEGS | NVMM_X64_STATE_GPRS);
}

void GuestVm::enter_protected_mode(uint64_t rip, bool paging) {
  get(NVMM_X64_STATE_ALL);
  nvmm_x64_state& s = state();
  set_flat_segments(s, kCode32, kData);
  clear_gprs(s, rip, kRflagsReserved);
  s.crs[NVMM_X64_CR_CR0] = CR0_PE | CR0_ET | CR0_NE | (paging ? CR0_PG : 0);
  s.crs[NVMM_X64_CR_CR3] = paging ? GUEST_PD32_GPA : 0;
  s.crs[NVMM_X64_CR_CR4] = paging ? CR4_PSE : 0;
  s.msrs[NVMM_X64_MSR_EFER] = 0;
  set(NVMM_X64_STATE_ALL);
}

void GuestVm::enter_long_mode(nvmm_vcpu& vcpu, uint64_t rip, bool user) {
  get(vcpu, NVMM_X64_STATE_ALL);
  nvmm_x64_state& s = *vcpu.state;
  set_flat_segments(s, user ? kUserCode : kCode64, user ? kUserData : kData);
  clear_gprs(s, rip, kRflagsReserved | (user ? kRflagsIopl3 : 0));
  s.crs[NVMM_X64_CR_CR0] = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG;
  s.crs[NVMM_X64_CR_CR3] = GUEST_PML4_GPA;
  s.crs[NVMM_X64_CR_CR4] = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT;
  s.msrs[NVMM_X64_MSR_EFER] = EFER_LME | EFER_LMA;
  set(vcpu, NVMM_X64_STATE_ALL);
}

void GuestVm::set_idt_gate(uint8_t vector, uint64_t handler) {
  // Present 64-bit interrupt gate, DPL 0, no IST.
  const uint64_t low = (handler & 0xFFFF) | uint64_t{GUEST_SEL_CODE64} << 16 | uint64_t{0x8E} << 40 |
                       ((handler >> 16) & 0xFFFF) << 48;
  poke(GUEST_IDT_GPA + 16 * vector, low);
  poke(GUEST_IDT_GPA + 16 * vector + 8, handler >> 32);
}

void GuestVm::set_ivt(uint8_t vector, uint16_t segment, uint16_t offset) {
  poke(GUEST_IVT_GPA + 4 * vector, offset);
  poke(GUEST_IVT_GPA + 4 * vector + 2, segment);
}

void GuestVm::get(nvmm_vcpu& vcpu, uint64_t flags) {
  if (nvmm_vcpu_getstate(&mach_, &vcpu, flags) == -1) {
    ADD_FAILURE() << "nvmm_vcpu_getstate(0x" << std::hex << flags << "): " << std::strerror(errno);
  }
}

void GuestVm::set(nvmm_vcpu& vcpu, uint64_t flags) {
  if (nvmm_vcpu_setstate(&mach_, &vcpu, flags) == -1) {
    ADD_FAILURE() << "nvmm_vcpu_setstate(0x" << std::hex << flags << "): " << std::strerror(errno);
  }
}

uint64_t GuestVm::run() {
  if (nvmm_vcpu_run(&mach_, &vcpu_) == -1) {
    ADD_FAILURE() << "nvmm_vcpu_run: " << std::strerror(errno);
    return kRunFailed;
  }
  return vcpu_.exit->reason;
}

void GuestVm::finish_io_by_hand(uint32_t in_data) {
  get(NVMM_X64_STATE_GPRS);
  const nvmm_x86_exit_io& io = exit().u.io;
  uint64_t& rax = state().gprs[NVMM_X64_GPR_RAX];
  if (io.in && io.operand_size == 4) {
    rax = in_data;  // a 32-bit destination zero-extends
  } else if (io.in) {
    const uint64_t mask = (1ULL << (8 * io.operand_size)) - 1;
    rax = (rax & ~mask) | (in_data & mask);
  }
  state().gprs[NVMM_X64_GPR_RIP] = io.npc;
  set(NVMM_X64_STATE_GPRS);
}

std::string GuestVm::describe_exit() const {
  const nvmm_x86_exit& e = exit();
  char text[160];
  switch (e.reason) {
    case NVMM_VCPU_EXIT_IO:
      std::snprintf(text, sizeof text, "exit IO %s port 0x%x size %u str %d rep %d npc 0x%llx",
                    e.u.io.in ? "in" : "out", e.u.io.port, e.u.io.operand_size, e.u.io.str,
                    e.u.io.rep, static_cast<unsigned long long>(e.u.io.npc));
      break;
    case NVMM_VCPU_EXIT_MEMORY:
      std::snprintf(text, sizeof text, "exit MEMORY gpa 0x%llx prot %d",
                    static_cast<unsigned long long>(e.u.mem.gpa), e.u.mem.prot);
      break;
    case NVMM_VCPU_EXIT_INVALID:
      std::snprintf(text, sizeof text, "exit INVALID hwcode 0x%llx",
                    static_cast<unsigned long long>(e.u.inv.hwcode));
      break;
    default:
      std::snprintf(text, sizeof text, "exit %s (0x%llx)", exit_name(e.reason),
                    static_cast<unsigned long long>(e.reason));
  }
  return text;
}

void NvmmTest::SetUp() {
  const int error = vm_.create();
  if (error == ENXIO) {
    std::fprintf(stderr, "\n*** /dev/kvm is absent: SKIPPING every NVMM guest test ***\n\n");
    GTEST_SKIP() << "/dev/kvm is absent (ENXIO): no guest can run";
  }
  ASSERT_EQ(error, 0) << "creating the test machine: " << std::strerror(error);
}

}  // namespace vmruntime::nvmm_test
