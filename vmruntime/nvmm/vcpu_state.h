// SPDX-License-Identifier: BSD-2-Clause
//
// Conversions between NVMM's x86 state classes and KVM's register structures,
// and the ioctls for the classes KVM does not mirror in kvm_run.
#pragma once

#include <linux/kvm.h>

#include <cstdint>

#include "nvmm.h"

namespace vmruntime::nvmm::state {

void gprs_from_kvm(const kvm_regs& k, uint64_t* gprs);
void gprs_to_kvm(const uint64_t* gprs, kvm_regs& k);

void segs_from_kvm(const kvm_sregs& k, nvmm_x64_state_seg* segs);
void segs_to_kvm(const nvmm_x64_state_seg* segs, kvm_sregs& k);

// CR0, CR2, CR3, CR4, CR8; XCR0 is not in kvm_sregs.
void crs_from_kvm(const kvm_sregs& k, uint64_t cr8, uint64_t* crs);
void crs_to_kvm(const uint64_t* crs, kvm_sregs& k);

inline bool event_pending(const kvm_vcpu_events& e)
{
    return e.exception.injected || e.exception.pending || e.interrupt.injected || e.nmi.injected || e.nmi.pending;
}

// Each returns 0 or -1 with errno (one vCPU ioctl).
int get_drs(int fd, uint64_t* drs);
int set_drs(int fd, const uint64_t* drs);
int get_msrs(int fd, uint64_t* msrs);  // every MSR but EFER, which is in kvm_sregs
int set_msrs(int fd, const uint64_t* msrs);
// Through KVM's XSAVE image: KVM_GET_FPU does not see x87/SSE components
// that are in their init state, and some KVMs never sync it at all.
int get_fpu(int fd, fxsave& fpu);
int set_fpu(int fd, const fxsave& fpu);

// The x86 RESET state NVMM gives a new vCPU.
void reset_state(nvmm_x64_state& s);

// Corrects, in place, the classes `flags` of `s` as NetBSD's kernel does a
// state the VMM commits, instead of refusing it (docs/nvmm.3.md,
// nvmm_vcpu_setstate): CR4 masked with NetBSD's 0x00370FFF, CR0's reserved
// high half cleared and ET set (NW cleared without CD, which KVM cannot
// run), CR8 cut to the TPR's 4 bits, XCR0 masked with the host's mask and
// x87 forced, the reserved high halves of DR6 and DR7 cleared, and MXCSR
// masked with its mask (the VMM's, or the default for a mask of 0) and the
// host's.
void fix_up(nvmm_x64_state& s, uint64_t flags);

}  // namespace vmruntime::nvmm::state
