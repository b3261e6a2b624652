// SPDX-License-Identifier: BSD-2-Clause
//
// The baseline of nvmm-bench: a VM driven with bare KVM ioctls (no libnvmm),
// running guests/out_loop.S in real mode.  Its loops are the least a VMM on
// KVM can do per port-I/O exit, so libnvmm's cost is measured against them.
#pragma once

#include <linux/kvm.h>

#include <cstddef>
#include <cstdint>

#include "guest_ram.h"

namespace vmruntime::bench {

class RawKvmVm {
public:
    // Starts at `entry`: kGuestEntry (the OUT loop) or kMmioEntry.
    explicit RawKvmVm(uint64_t entry = kGuestEntry);  // exits the process on any failure
    ~RawKvmVm();
    RawKvmVm(const RawKvmVm&) = delete;
    RawKvmVm& operator=(const RawKvmVm&) = delete;

    // n exits, one KVM_RUN each and nothing else.
    void run_exits(uint64_t n);
    // The same with KVM storing REGS, SREGS and EVENTS into kvm_run at every
    // exit, as libnvmm has it do around IO exits: what that mirroring costs KVM.
    void run_mirrored_exits(uint64_t n);
    // n MMIO write exits (a VM started at kMmioEntry), each answered by reading kvm_run->mmio.
    void run_mmio(uint64_t n);
    // n exits, each reading RAX from kvm_run's sync-regs area, checking it is
    // the value written at the previous exit and writing it back plus one.
    void run_sync_regs(uint64_t n);

private:
    void create_vcpu();
    void set_cpuid();
    void enter_real_mode();
    void run_once();

    GuestRam ram_;
    int kvm_fd_ = -1;
    int vm_fd_ = -1;
    int vcpu_fd_ = -1;
    kvm_run* run_ = nullptr;
    size_t run_size_ = 0;
    uint64_t rax_ = 0;  // value the guest's RAX must hold at the next exit
    uint64_t entry_;
};

}  // namespace vmruntime::bench
