// SPDX-License-Identifier: BSD-2-Clause
// nvmm_ioctl_loop: runs guests/out_loop.S for N IO exits (argv[1], default
// 200), each handled the way a VMM completes an OUT by hand: getstate(GPRS),
// check and change RAX, RIP = npc, setstate(GPRS).  With "all" (argv[2])
// each exit also reads SEGS, CRS and INTR and writes them back.
// ioctl_count.sh runs it under strace to prove that each exit costs exactly
// one KVM_RUN and no other vCPU ioctl.  Exit status: 0 pass, 1 fail, 77 no
// /dev/kvm.
#include <nvmm.h>
#include <sys/mman.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "guests/layout.h"

extern "C" const uint8_t out_loop_begin[], out_loop_end[];

namespace {

constexpr size_t kPage = 0x1000;
constexpr int kSkip = 77;

int fail(const char* what) {
  std::fprintf(stderr, "nvmm_ioctl_loop: %s: %s\n", what, std::strerror(errno));
  return 1;
}

// Real mode from RESET with CS:IP = 0:0 on the loop, copied to GPA 0.
int setup(nvmm_machine* mach, nvmm_vcpu* vcpu, uint8_t* ram) {
  const auto hva = reinterpret_cast<uintptr_t>(ram);
  if (nvmm_hva_map(mach, hva, kPage) == -1 ||
      nvmm_gpa_map(mach, hva, 0, kPage, PROT_READ | PROT_WRITE | PROT_EXEC) == -1) {
    return fail("mapping guest RAM");
  }
  std::memcpy(ram, out_loop_begin, static_cast<size_t>(out_loop_end - out_loop_begin));
  if (nvmm_vcpu_getstate(mach, vcpu, NVMM_X64_STATE_ALL) == -1) return fail("getstate");
  vcpu->state->segs[NVMM_X64_SEG_CS].selector = 0;
  vcpu->state->segs[NVMM_X64_SEG_CS].base = 0;
  vcpu->state->gprs[NVMM_X64_GPR_RIP] = 0;
  vcpu->state->gprs[NVMM_X64_GPR_RAX] = 0;
  if (nvmm_vcpu_setstate(mach, vcpu, NVMM_X64_STATE_ALL) == -1) return fail("setstate");
  return 0;
}

// One exit: the OUT must carry the value the previous exit put in AX.
int handle_exit(nvmm_machine* mach, nvmm_vcpu* vcpu, uint64_t flags, uint16_t expected) {
  if (vcpu->exit->reason != NVMM_VCPU_EXIT_IO || vcpu->exit->u.io.port != GUEST_PORT) {
    std::fprintf(stderr, "nvmm_ioctl_loop: exit 0x%llx, want IO on port 0x%x\n",
                 static_cast<unsigned long long>(vcpu->exit->reason), GUEST_PORT);
    return 1;
  }
  if (nvmm_vcpu_getstate(mach, vcpu, flags) == -1) return fail("getstate");
  if ((flags & NVMM_X64_STATE_SEGS) && vcpu->state->segs[NVMM_X64_SEG_CS].selector != 0) {
    std::fprintf(stderr, "nvmm_ioctl_loop: CS 0x%x, want 0\n", vcpu->state->segs[NVMM_X64_SEG_CS].selector);
    return 1;
  }
  uint64_t* gprs = vcpu->state->gprs;
  if ((gprs[NVMM_X64_GPR_RAX] & 0xFFFF) != expected) {
    std::fprintf(stderr, "nvmm_ioctl_loop: AX 0x%llx, want 0x%x\n",
                 static_cast<unsigned long long>(gprs[NVMM_X64_GPR_RAX]), expected);
    return 1;
  }
  gprs[NVMM_X64_GPR_RAX] = expected + 1u;
  gprs[NVMM_X64_GPR_RIP] = vcpu->exit->u.io.npc;
  if (nvmm_vcpu_setstate(mach, vcpu, flags) == -1) return fail("setstate");
  return 0;
}

int run_loop(nvmm_machine* mach, nvmm_vcpu* vcpu, uint64_t flags, int exits) {
  for (int i = 0; i < exits; i++) {
    if (nvmm_vcpu_run(mach, vcpu) == -1) return fail("nvmm_vcpu_run");
    if (handle_exit(mach, vcpu, flags, static_cast<uint16_t>(i)) != 0) return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const int exits = argc > 1 ? std::atoi(argv[1]) : 200;
  uint64_t flags = NVMM_X64_STATE_GPRS;
  if (argc > 2 && std::strcmp(argv[2], "all") == 0) {
    flags |= NVMM_X64_STATE_SEGS | NVMM_X64_STATE_CRS | NVMM_X64_STATE_INTR;
  }
  nvmm_machine mach;
  nvmm_vcpu vcpu;
  if (nvmm_machine_create(&mach) == -1) {
    if (errno != ENXIO) return fail("nvmm_machine_create");
    std::fprintf(stderr, "\n*** nvmm_ioctl_loop: /dev/kvm is absent: SKIPPED ***\n\n");
    return kSkip;
  }
  if (nvmm_vcpu_create(&mach, 0, &vcpu) == -1) return fail("nvmm_vcpu_create");
  void* ram = mmap(nullptr, kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (ram == MAP_FAILED) return fail("mmap");
  int result = setup(&mach, &vcpu, static_cast<uint8_t*>(ram));
  if (result == 0) result = run_loop(&mach, &vcpu, flags, exits);
  // ioctl_count.sh stops counting at this line (a write(2) in the trace).
  if (result == 0) std::fprintf(stderr, "nvmm_ioctl_loop: %d exits done\n", exits);
  if (nvmm_vcpu_destroy(&mach, &vcpu) == -1 || nvmm_machine_destroy(&mach) == -1) {
    return fail("teardown");
  }
  munmap(ram, kPage);
  return result;
}
