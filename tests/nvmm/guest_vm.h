// SPDX-License-Identifier: BSD-2-Clause
// Test fixture for the nvmm.h API on real guests: one NVMM machine with
// vCPU 0, GUEST_RAM_SIZE bytes of RAM at GPA 0 and the GDT, IDT and page
// tables of guests/layout.h, so a snippet from guests/*.S can be started in
// real, 32-bit protected or 64-bit long mode (CPL0 or CPL3).
#pragma once

#include <gtest/gtest.h>
#include <nvmm.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "guests/layout.h"

// Declares snippet NAME (labels NAME_begin/NAME_end in a guests/*.S file).
#define GUEST_SNIPPET(name) extern "C" const uint8_t name##_begin[], name##_end[]
// Declares a MARK label, or an AT label together with its _next label.
#define GUEST_LABEL(name) extern "C" const uint8_t name[]
#define GUEST_EXIT_LABEL(name) extern "C" const uint8_t name[], name##_next[]
#define GUEST_CODE(name) (::vmruntime::nvmm_test::GuestCode{name##_begin, name##_end})
// Guest address of a label of a snippet loaded at GUEST_CODE_GPA.
#define GUEST_GPA(name, label) (::vmruntime::nvmm_test::label_gpa(name##_begin, label))

namespace vmruntime::nvmm_test {

struct GuestCode {
  const uint8_t* begin;
  const uint8_t* end;
};

inline uint64_t label_gpa(const uint8_t* snippet_begin, const uint8_t* label) {
  return GUEST_CODE_GPA + static_cast<uint64_t>(label - snippet_begin);
}

// What GuestVm::run returns when nvmm_vcpu_run itself failed (no exit
// reason has this value).
inline constexpr uint64_t kRunFailed = 0xBAD0BAD0ULL;

const char* exit_name(uint64_t reason);

// The 12-byte signature CPUID leaf 0x40000000 gives in EBX, ECX, EDX.
std::string hypervisor_signature(uint32_t ebx, uint32_t ecx, uint32_t edx);

// True when /dev/kvm is kvm-pvm (no hardware virtualization).  Only for
// skipping, loudly, what kvm-pvm cannot do: never to relax a check.
bool host_is_pvm();

class GuestVm {
 public:
  GuestVm() = default;
  GuestVm(const GuestVm&) = delete;
  GuestVm& operator=(const GuestVm&) = delete;
  ~GuestVm();

  // Creates the machine, vCPU 0 and RAM; returns 0 or the failing call's
  // errno (ENXIO: no /dev/kvm).
  int create();

  nvmm_machine* mach() { return &mach_; }
  nvmm_vcpu* vcpu() { return &vcpu_; }
  nvmm_x64_state& state() { return *vcpu_.state; }
  const nvmm_x86_exit& exit() const { return *vcpu_.exit; }

  uint8_t* ram(uint64_t gpa) { return ram_ + gpa; }
  template <typename T>
  T peek(uint64_t gpa) const {
    T value;
    std::memcpy(&value, ram_ + gpa, sizeof value);
    return value;
  }
  template <typename T>
  void poke(uint64_t gpa, T value) {
    std::memcpy(ram_ + gpa, &value, sizeof value);
  }
  // Maps one extra page of host memory at gpa with prot (PROT_*); returns
  // its host address, or nullptr after recording a test failure.
  uint8_t* map_page(uint64_t gpa, int prot);

  void load(GuestCode code);
  // Keeps the RESET state but moves CS to GUEST_CODE_GPA >> 4, DS/ES to
  // GUEST_DATA_GPA >> 4 and SS:SP to just below GUEST_STACK_TOP.
  void enter_real_mode(uint64_t rip);
  void enter_protected_mode(uint64_t rip, bool paging);
  // user: CPL3 code and data segments and IOPL 3 (OUT still exits).
  void enter_long_mode(uint64_t rip, bool user = false) { enter_long_mode(vcpu_, rip, user); }
  // The same for another vCPU the test created on this machine.
  void enter_long_mode(nvmm_vcpu& vcpu, uint64_t rip, bool user = false);
  void set_idt_gate(uint8_t vector, uint64_t handler);
  void set_ivt(uint8_t vector, uint16_t segment, uint16_t offset);

  // getstate / setstate / nvmm_vcpu_run, recording a failure on error.
  void get(uint64_t flags) { get(vcpu_, flags); }
  void set(uint64_t flags) { set(vcpu_, flags); }
  void get(nvmm_vcpu& vcpu, uint64_t flags);
  void set(nvmm_vcpu& vcpu, uint64_t flags);
  uint64_t run();
  // Completes the current IO exit without the assist: IN data into RAX
  // (merged as the operand size says), RIP = npc.
  void finish_io_by_hand(uint32_t in_data);
  std::string describe_exit() const;

 private:
  void build_gdt();
  void build_page_tables();

  nvmm_machine mach_{};
  nvmm_vcpu vcpu_{};
  bool have_machine_ = false;
  bool have_vcpu_ = false;
  uint8_t* ram_ = nullptr;
  std::vector<uint8_t*> pages_;
};

// Creates a GuestVm per test; skips the test, loudly, without /dev/kvm.
class NvmmTest : public ::testing::Test {
 protected:
  void SetUp() override;
  GuestVm vm_;
};

}  // namespace vmruntime::nvmm_test
