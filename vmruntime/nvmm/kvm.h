// SPDX-License-Identifier: BSD-2-Clause
//
// Thin wrappers over the KVM ioctls libnvmm needs.  Every function returns 0
// or -1 with errno, like the ioctls themselves, so the C API can pass errno
// through untouched.
#pragma once

#include <linux/kvm.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "nvmm.h"

namespace vmruntime::nvmm::kvm {

// <linux/kvm.h> declares the trailing arrays of kvm_cpuid2 and kvm_msrs
// with __DECLARE_FLEX_ARRAY, which in C++ adds an empty struct before the
// array: C++ sees the entries (and sizeof, and so the ioctl numbers) 4 or 8
// bytes off from what the kernel uses.  Both headers are two u32 long in C.
inline constexpr size_t kFlexHeader = 2 * sizeof(uint32_t);
inline constexpr unsigned long kGetSupportedCpuid = _IOC(_IOC_READ | _IOC_WRITE, KVMIO, 0x05, kFlexHeader);
inline constexpr unsigned long kSetCpuid2 = _IOC(_IOC_WRITE, KVMIO, 0x90, kFlexHeader);
inline constexpr unsigned long kGetMsrs = _IOC(_IOC_READ | _IOC_WRITE, KVMIO, 0x88, kFlexHeader);
inline constexpr unsigned long kSetMsrs = _IOC(_IOC_WRITE, KVMIO, 0x89, kFlexHeader);

// A kernel-layout list: a header of two u32 (count, padding), then entries.
template <typename Entry, size_t N>
struct FlexList {
    alignas(8) unsigned char bytes[kFlexHeader + N * sizeof(Entry)] = {};
    uint32_t& count() { return *reinterpret_cast<uint32_t*>(bytes); }
    Entry* entries() { return reinterpret_cast<Entry*>(bytes + kFlexHeader); }
    void* arg() { return bytes; }
};

// The process-wide /dev/kvm handle and what this host's KVM offers.
struct System {
    int fd = -1;
    size_t run_size = 0;       // KVM_GET_VCPU_MMAP_SIZE
    unsigned max_vcpus = 0;    // per VM
    uint32_t mxcsr_mask = 0;   // host FXSAVE MXCSR mask, reported to guests
    uint64_t xcr0_mask = 0;    // XCR0 bits guests may enable
};

// Opens /dev/kvm once and checks the capabilities the comm-page mapping
// depends on.  ENXIO if KVM is absent, EPROGMISMATCH if it lacks them.
int open_system(int open_flags);
const System& system();

int ioctl_retry(int fd, unsigned long request, void* arg);

int create_vm();
int set_memory_region(int vm_fd, uint32_t slot, uint32_t flags, uint64_t gpa, uint64_t size,
                      uint64_t hva);
int create_vcpu(int vm_fd, unsigned cpuid);

// Gives the vCPU the CPUID KVM supports here, with its own APIC ID and the
// VMM's per-leaf masks.  KVM checks EFER and CR4 writes against it, and
// refuses a change once the vCPU has run.  0 or an errno.
int set_cpuid(int vcpu_fd, unsigned cpuid, const std::vector<nvmm_vcpu_conf_cpuid>& masks);

}  // namespace vmruntime::nvmm::kvm
