// SPDX-License-Identifier: BSD-2-Clause
// Mode entry for the assist tests.  kProt32Based changes only the hidden
// bases of DS and ES: the snippets never reload a segment register.
#include "cpu_mode.h"

#include "guests/assist.h"

namespace vmruntime::assist_test {

void enter_mode(nvmm_test::GuestVm& vm, CpuMode mode) {
  switch (mode) {
    case CpuMode::kReal16:
      vm.enter_real_mode(GUEST_CODE_GPA);
      break;
    case CpuMode::kProt32:
      vm.enter_protected_mode(GUEST_CODE_GPA, false);
      break;
    case CpuMode::kProt32Paging:
      vm.enter_protected_mode(GUEST_CODE_GPA, true);
      break;
    case CpuMode::kProt32Based:
      vm.enter_protected_mode(GUEST_CODE_GPA, false);
      vm.state().segs[NVMM_X64_SEG_DS].base = ASSIST_MMIO_GPA;
      vm.state().segs[NVMM_X64_SEG_ES].base = ASSIST_MMIO_GPA;
      vm.set(NVMM_X64_STATE_SEGS);
      break;
    case CpuMode::kLong64:
      vm.enter_long_mode(GUEST_CODE_GPA);
      break;
  }
}

uint64_t snippet_rip(CpuMode mode, const uint8_t* begin, const uint8_t* label) {
  const auto offset = static_cast<uint64_t>(label - begin);
  // Real-mode CS starts at the snippet; the other modes have flat code.
  return mode == CpuMode::kReal16 ? offset : GUEST_CODE_GPA + offset;
}

}  // namespace vmruntime::assist_test
