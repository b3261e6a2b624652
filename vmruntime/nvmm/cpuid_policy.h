// SPDX-License-Identifier: BSD-2-Clause
//
// The CPUID a guest of NVMM sees, as NetBSD's kernel presents it
// (docs/reference/netbsd-nvmm-cpuid-msr.md), built from what KVM supports:
// a whitelist of features per leaf (no x2APIC, TSC-deadline, MONITOR, VMX,
// SVM, PMU, MTRR, MCE, PKU, AVX-512...), the leaves NVMM zeroes, the
// vendor's maximum leaves, XSAVE state limited to what the comm page
// carries, and NVMM's hypervisor leaves ("___ NVMM ___") instead of KVM's,
// so that a guest neither detects KVM nor uses its paravirtual MSRs.  The
// VMM's NVMM_VCPU_CONF_CPUID masks apply on top (kvm::set_cpuid).
#pragma once

#include <linux/kvm.h>

#include <cstdint>
#include <span>
#include <vector>

namespace vmruntime::nvmm::cpuid {

// True when KVM's table (its leaf 0) names an Intel CPU.
bool is_intel(std::span<const kvm_cpuid_entry2> kvm);

// NVMM's table from KVM's KVM_GET_SUPPORTED_CPUID table, for every vCPU;
// `xcr0_mask` is the XSAVE state guests may enable.
std::vector<kvm_cpuid_entry2> guest_table(std::span<const kvm_cpuid_entry2> kvm, uint64_t xcr0_mask);

// What differs per vCPU: its APIC ID (leaves 1 and 0xB), the machine's
// vCPU count (leaf 0xB) and the TSC frequency in kHz (leaf 0x40000010).
void for_vcpu(std::vector<kvm_cpuid_entry2>& table, unsigned vcpu, unsigned vcpus, uint32_t tsc_khz);

}  // namespace vmruntime::nvmm::cpuid
