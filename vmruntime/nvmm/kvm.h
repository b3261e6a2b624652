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

#include "msr_policy.h"
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

// struct kvm_xsave is 4096 bytes in C; C++ sees the trailing array too.
inline constexpr size_t kXsaveSize = 4096;
inline constexpr unsigned long kGetXsave = _IOC(_IOC_READ, KVMIO, 0xa4, kXsaveSize);
inline constexpr unsigned long kSetXsave = _IOC(_IOC_WRITE, KVMIO, 0xa5, kXsaveSize);
inline constexpr unsigned long kGetXsave2 = _IOC(_IOC_READ, KVMIO, 0xcf, kXsaveSize);

// A vCPU's XSAVE image: the FXSAVE legacy area, then the XSAVE header.
class XsaveImage {
public:
    uint8_t* bytes() { return reinterpret_cast<uint8_t*>(words_.data()); }
    size_t size() const { return words_.size() * 4; }
    uint64_t xstate_bv() { return *reinterpret_cast<uint64_t*>(bytes() + kHeaderOffset); }
    void set_xstate_bv(uint64_t bv) { *reinterpret_cast<uint64_t*>(bytes() + kHeaderOffset) = bv; }
    void resize(size_t size) { words_.assign((size + 3) / 4, 0); }

private:
    static constexpr size_t kHeaderOffset = 512;
    std::vector<uint32_t> words_ = std::vector<uint32_t>(kXsaveSize / 4);
};

// 0 or -1 with errno; sized for what this host's KVM saves.
int get_xsave(int vcpu_fd, XsaveImage& image);
int set_xsave(int vcpu_fd, XsaveImage& image);

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
    size_t xsave_size = 0;     // KVM's XSAVE image size (KVM_CAP_XSAVE2)
    msr::Vendor vendor = msr::Vendor::Intel;  // whose NVMM backend's MSRs guests get
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

// Gives vCPU `vcpu` of a machine of `vcpus` NVMM's CPUID (cpuid_policy.h)
// with its own APIC ID and TSC frequency, then the VMM's per-leaf masks.
// KVM checks EFER and CR4 writes against it, and refuses a change once the
// vCPU has run.  0 or an errno.
// `leaf1_edx` receives the EDX of leaf 1 the guest is given.
int set_cpuid(int vcpu_fd, unsigned vcpu, unsigned vcpus, const std::vector<nvmm_vcpu_conf_cpuid>& masks,
              uint32_t* leaf1_edx);

}  // namespace vmruntime::nvmm::kvm
