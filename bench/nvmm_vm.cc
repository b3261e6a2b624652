// SPDX-License-Identifier: BSD-2-Clause
//
// libnvmm VM of nvmm-bench (see nvmm_vm.h).
#include "nvmm_vm.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>

namespace vmruntime::bench {
namespace {

constexpr uint64_t kEntryState = NVMM_X64_STATE_SEGS | NVMM_X64_STATE_GPRS;

}  // namespace

NvmmVm::NvmmVm(uint64_t entry) : entry_(entry)
{
    if (nvmm_machine_create(&mach_) == -1) {
        if (errno == ENXIO) {
            die("nvmm_machine_create: no usable KVM (is /dev/kvm there?)");
        }
        die_errno("nvmm_machine_create");
    }
    map_ram();
    if (nvmm_vcpu_create(&mach_, 0, &vcpu_) == -1) {
        die_errno("nvmm_vcpu_create");
    }
    enter_real_mode();
}

NvmmVm::~NvmmVm()
{
    nvmm_vcpu_destroy(&mach_, &vcpu_);
    nvmm_machine_destroy(&mach_);
}

void NvmmVm::map_ram()
{
    auto hva = reinterpret_cast<uintptr_t>(ram_.hva());
    if (nvmm_hva_map(&mach_, hva, kGuestRamSize) == -1) {
        die_errno("nvmm_hva_map");
    }
    if (nvmm_gpa_map(&mach_, hva, 0, kGuestRamSize, PROT_READ | PROT_WRITE | PROT_EXEC) == -1) {
        die_errno("nvmm_gpa_map");
    }
    ram_.load_guest();
}

// A new vCPU is in the RESET state (real mode); only CS:IP has to move.
void NvmmVm::enter_real_mode()
{
    if (nvmm_vcpu_getstate(&mach_, &vcpu_, kEntryState) == -1) {
        die_errno("nvmm_vcpu_getstate");
    }
    vcpu_.state->segs[NVMM_X64_SEG_CS].selector = 0;
    vcpu_.state->segs[NVMM_X64_SEG_CS].base = 0;
    vcpu_.state->gprs[NVMM_X64_GPR_RIP] = entry_;
    vcpu_.state->gprs[NVMM_X64_GPR_RAX] = rax_;
    if (nvmm_vcpu_setstate(&mach_, &vcpu_, kEntryState) == -1) {
        die_errno("nvmm_vcpu_setstate");
    }
}

void NvmmVm::run_once()
{
    if (nvmm_vcpu_run(&mach_, &vcpu_) == -1) {
        die_errno("nvmm_vcpu_run");
    }
    const nvmm_vcpu_exit& exit = *vcpu_.exit;
    if (exit.reason != NVMM_VCPU_EXIT_IO || exit.u.io.port != kGuestPort || exit.u.io.in) {
        std::fprintf(stderr, "nvmm-bench: nvmm: unexpected exit %#llx\n",
                     static_cast<unsigned long long>(exit.reason));
        std::exit(1);
    }
}

void NvmmVm::run_exits(uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        run_once();
    }
}

void NvmmVm::run_regs(uint64_t n)
{
    uint64_t* gprs = vcpu_.state->gprs;
    for (uint64_t i = 0; i < n; i++) {
        run_once();
        if (nvmm_vcpu_getstate(&mach_, &vcpu_, NVMM_X64_STATE_GPRS) == -1) {
            die_errno("nvmm_vcpu_getstate");
        }
        if (gprs[NVMM_X64_GPR_RAX] != rax_) {
            die("nvmm: a RAX write through setstate was lost");
        }
        gprs[NVMM_X64_GPR_RAX] = ++rax_;
        // Answered, as a VMM answers an OUT: RIP left on it would run it again.
        gprs[NVMM_X64_GPR_RIP] = vcpu_.exit->u.io.npc;
        if (nvmm_vcpu_setstate(&mach_, &vcpu_, NVMM_X64_STATE_GPRS) == -1) {
            die_errno("nvmm_vcpu_setstate");
        }
    }
}

void NvmmVm::exit_and_fetch_gprs()
{
    run_once();
    if (nvmm_vcpu_getstate(&mach_, &vcpu_, NVMM_X64_STATE_GPRS) == -1) {
        die_errno("nvmm_vcpu_getstate");
    }
}

void NvmmVm::getstate_gprs(uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        if (nvmm_vcpu_getstate(&mach_, &vcpu_, NVMM_X64_STATE_GPRS) == -1) {
            die_errno("nvmm_vcpu_getstate");
        }
    }
}

namespace {

// The device behind kMmioGpa: it takes byte writes and nothing else.
void mmio_write(struct nvmm_mem* mem)
{
    if (!mem->write || mem->gpa != kMmioGpa || mem->size != 1) {
        die("MMIO callback: unexpected access");
    }
}

}  // namespace

void NvmmVm::run_mmio(uint64_t n)
{
    struct nvmm_assist_callbacks cbs = {nullptr, mmio_write};
    if (nvmm_vcpu_configure(&mach_, &vcpu_, NVMM_VCPU_CONF_CALLBACKS, &cbs) == -1) {
        die_errno("nvmm_vcpu_configure");
    }
    for (uint64_t i = 0; i < n; i++) {
        if (nvmm_vcpu_run(&mach_, &vcpu_) == -1) {
            die_errno("nvmm_vcpu_run");
        }
        if (vcpu_.exit->reason != NVMM_VCPU_EXIT_MEMORY || nvmm_assist_mem(&mach_, &vcpu_) == -1) {
            std::fprintf(stderr, "nvmm-bench: nvmm: unexpected exit %#llx\n",
                         static_cast<unsigned long long>(vcpu_.exit->reason));
            std::exit(1);
        }
    }
}

}  // namespace vmruntime::bench
