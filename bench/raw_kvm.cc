// SPDX-License-Identifier: BSD-2-Clause
//
// Raw KVM VM of nvmm-bench (see raw_kvm.h).  Names are the KVM API's
// (<linux/kvm.h>, Documentation/virt/kvm/api.rst).
#include "raw_kvm.h"

#include <fcntl.h>
#include <nvmm.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "vmruntime/nvmm/cpuid_policy.h"

namespace vmruntime::bench {

RawKvmVm::RawKvmVm(uint64_t entry) : entry_(entry)
{
    kvm_fd_ = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm_fd_ == -1) {
        die_errno("open /dev/kvm");
    }
    if (ioctl(kvm_fd_, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
        die("unexpected KVM API version");
    }
    int sync = ioctl(kvm_fd_, KVM_CHECK_EXTENSION, KVM_CAP_SYNC_REGS);
    if (sync == -1 || !(sync & KVM_SYNC_X86_REGS)) {
        die("KVM lacks KVM_CAP_SYNC_REGS for REGS");
    }
    vm_fd_ = ioctl(kvm_fd_, KVM_CREATE_VM, 0);
    if (vm_fd_ == -1) {
        die_errno("KVM_CREATE_VM");
    }
    ram_.load_guest();
    kvm_userspace_memory_region slot{};
    slot.memory_size = kGuestRamSize;
    slot.userspace_addr = reinterpret_cast<uint64_t>(ram_.hva());
    if (ioctl(vm_fd_, KVM_SET_USER_MEMORY_REGION, &slot) == -1) {
        die_errno("KVM_SET_USER_MEMORY_REGION");
    }
    create_vcpu();
    set_cpuid();
    enter_real_mode();
}

RawKvmVm::~RawKvmVm()
{
    munmap(run_, run_size_);
    close(vcpu_fd_);
    close(vm_fd_);
    close(kvm_fd_);
}

void RawKvmVm::create_vcpu()
{
    vcpu_fd_ = ioctl(vm_fd_, KVM_CREATE_VCPU, 0);
    if (vcpu_fd_ == -1) {
        die_errno("KVM_CREATE_VCPU");
    }
    int size = ioctl(kvm_fd_, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (size == -1) {
        die_errno("KVM_GET_VCPU_MMAP_SIZE");
    }
    run_size_ = static_cast<size_t>(size);
    void* p = mmap(nullptr, run_size_, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu_fd_, 0);
    if (p == MAP_FAILED) {
        die_errno("mmap kvm_run");
    }
    run_ = static_cast<kvm_run*>(p);
}

// NVMM's CPUID, as libnvmm gives its vCPUs (vmruntime/nvmm/cpuid_policy.h): the
// CPUID a VM has decides how much FPU state KVM switches at each entry and
// exit, so the two sides of a comparison must run the same virtual CPU.
void RawKvmVm::set_cpuid()
{
    // struct kvm_cpuid2 ends in a flexible array, which C++ sizes
    // differently from C: the ioctl numbers carry C's 8-byte header.
    constexpr size_t kHeader = 2 * sizeof(uint32_t);
    constexpr unsigned long kGetSupported = _IOC(_IOC_READ | _IOC_WRITE, KVMIO, 0x05, kHeader);
    constexpr unsigned long kSet = _IOC(_IOC_WRITE, KVMIO, 0x90, kHeader);
    constexpr uint32_t kMaxEntries = 256;
    std::vector<uint64_t> buffer((kHeader + kMaxEntries * sizeof(kvm_cpuid_entry2)) / sizeof(uint64_t));
    auto* nent = reinterpret_cast<uint32_t*>(buffer.data());
    *nent = kMaxEntries;
    if (ioctl(kvm_fd_, kGetSupported, buffer.data()) == -1) {
        die_errno("KVM_GET_SUPPORTED_CPUID");
    }
    auto* entries = reinterpret_cast<kvm_cpuid_entry2*>(reinterpret_cast<char*>(buffer.data()) + kHeader);
    struct nvmm_capability cap = {};
    if (nvmm_capability(&cap) == -1) {
        die_errno("nvmm_capability");
    }
    std::vector<kvm_cpuid_entry2> nvmm = vmruntime::nvmm::cpuid::guest_table({entries, *nent}, cap.arch.xcr0_mask);
    vmruntime::nvmm::cpuid::for_vcpu(nvmm, 0, 1, 0);
    if (nvmm.size() > kMaxEntries) {
        die_errno("NVMM's CPUID table");
    }
    *nent = static_cast<uint32_t>(nvmm.size());
    std::copy(nvmm.begin(), nvmm.end(), entries);
    if (ioctl(vcpu_fd_, kSet, buffer.data()) == -1) {
        die_errno("KVM_SET_CPUID2");
    }
}

// A new vCPU is in the RESET state (real mode); only CS:IP has to move.
void RawKvmVm::enter_real_mode()
{
    kvm_sregs sregs{};
    if (ioctl(vcpu_fd_, KVM_GET_SREGS, &sregs) == -1) {
        die_errno("KVM_GET_SREGS");
    }
    sregs.cs.selector = 0;
    sregs.cs.base = 0;
    if (ioctl(vcpu_fd_, KVM_SET_SREGS, &sregs) == -1) {
        die_errno("KVM_SET_SREGS");
    }
    kvm_regs regs{};
    regs.rip = entry_;
    regs.rflags = 0x2;  // bit 1 is reserved and reads as one
    regs.rax = rax_;
    if (ioctl(vcpu_fd_, KVM_SET_REGS, &regs) == -1) {
        die_errno("KVM_SET_REGS");
    }
}

void RawKvmVm::run_once()
{
    if (ioctl(vcpu_fd_, KVM_RUN, 0) == -1) {
        die_errno("KVM_RUN");
    }
    if (run_->exit_reason != KVM_EXIT_IO || run_->io.port != kGuestPort ||
        run_->io.direction != KVM_EXIT_IO_OUT) {
        std::fprintf(stderr, "nvmm-bench: raw KVM: unexpected exit %u\n", run_->exit_reason);
        std::exit(1);
    }
}

void RawKvmVm::run_exits(uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        run_once();
    }
}

void RawKvmVm::run_sync_regs(uint64_t n)
{
    run_->kvm_valid_regs = KVM_SYNC_X86_REGS;
    for (uint64_t i = 0; i < n; i++) {
        run_once();
        kvm_regs& regs = run_->s.regs.regs;
        if (regs.rax != rax_) {
            die("raw KVM: a RAX write through sync regs was lost");
        }
        regs.rax = ++rax_;
        run_->kvm_dirty_regs = KVM_SYNC_X86_REGS;
    }
    // The last write is still pending in kvm_dirty_regs; the next KVM_RUN applies it.
    run_->kvm_valid_regs = 0;
}

void RawKvmVm::run_mirrored_exits(uint64_t n)
{
    uint64_t valid = run_->kvm_valid_regs;
    run_->kvm_valid_regs = KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS | KVM_SYNC_X86_EVENTS;
    run_exits(n);
    run_->kvm_valid_regs = valid;
}

void RawKvmVm::run_mmio(uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        if (ioctl(vcpu_fd_, KVM_RUN, 0) == -1) {
            die_errno("KVM_RUN");
        }
        if (run_->exit_reason != KVM_EXIT_MMIO || !run_->mmio.is_write || run_->mmio.phys_addr != kMmioGpa) {
            std::fprintf(stderr, "nvmm-bench: raw KVM: unexpected exit %u\n", run_->exit_reason);
            std::exit(1);
        }
    }
}

}  // namespace vmruntime::bench
