// SPDX-License-Identifier: BSD-2-Clause
//
// Which guest RDMSR/WRMSR NVMM answers without the VMM, as NetBSD's kernel
// does (docs/reference/netbsd-nvmm-cpuid-msr.md, section 3): the MSRs of the
// state's MSRS class and the few its VMX or SVM backend handles itself.
// Every other MSR, KVM's own included (MSR 0, APIC_BASE, FEATURE_CONTROL,
// TSC_DEADLINE, the KVM paravirtual MSRs...), exits to the VMM.
//
// On KVM most of the kernel's set is KVM's to run (an MSR filter lets only
// those through); the "ignore list" NetBSD answers with 0 or drops is not
// KVM's behaviour, so libnvmm answers those itself on the way out of KVM_RUN.
#pragma once

#include <cstdint>
#include <vector>

namespace vmruntime::nvmm::msr {

enum class Vendor { Intel, Amd };

// A run of MSRs whose guest reads, writes or both KVM runs.
struct KernelRange {
    uint32_t base;
    uint32_t count;
    bool read;
    bool write;
};

// The MSRs KVM keeps in the kernel (everything else is filtered out to
// userspace): at most 16 ranges, KVM's limit.
std::vector<KernelRange> kernel_ranges(Vendor vendor);

// True when NetBSD's kernel handles this access itself.
bool in_kernel(Vendor vendor, uint32_t index, bool write);

// NetBSD's answer for an access it handles in its own code rather than in
// hardware: true, with the value a RDMSR reads, when libnvmm answers it (a
// WRMSR is dropped); false when the access goes to the VMM.
bool answered_by_library(Vendor vendor, uint32_t index, bool write, uint64_t* read_value);

}  // namespace vmruntime::nvmm::msr
