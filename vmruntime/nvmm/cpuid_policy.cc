// SPDX-License-Identifier: BSD-2-Clause
#include "cpuid_policy.h"

#include <algorithm>
#include <initializer_list>

namespace vmruntime::nvmm::cpuid {
namespace {

constexpr uint32_t bits(std::initializer_list<unsigned> list)
{
    uint32_t mask = 0;
    for (unsigned b : list) {
        mask |= 1U << b;
    }
    return mask;
}

// Leaf 1: SSE3 PCLMULQDQ SSSE3 FMA CX16 SSE4.1 SSE4.2 MOVBE POPCNT AES XSAVE
// OSXSAVE AVX F16C RDRAND; FPU VME DE PSE TSC MSR PAE CX8 APIC SEP PGE CMOV
// PAT PSE36 CLFSH MMX FXSR SSE SSE2 SS HTT PBE.
constexpr uint32_t kLeaf1Ecx = bits({0, 1, 9, 12, 13, 19, 20, 22, 23, 25, 26, 27, 28, 29, 30});
constexpr uint32_t kLeaf1Edx = bits({0, 1, 2, 3, 4, 5, 6, 8, 9, 11, 13, 15, 16, 17, 19, 23, 24, 25, 26, 27, 28, 31});
constexpr uint32_t kLeaf1EcxPcid = 1U << 17;
constexpr uint32_t kLeaf1EcxHypervisor = 1U << 31;
// Leaf 7.0: FSGSBASE BMI1 AVX2 FDP_EXCPTN_ONLY SMEP BMI2 ERMS FPU-CS/DS
// RDSEED ADX SMAP CLFLUSHOPT CLWB; PREFETCHWT1 UMIP GFNI VAES VPCLMULQDQ
// CLDEMOTE MOVDIRI MOVDIR64B; FSRM MD_CLEAR SERIALIZE.
constexpr uint32_t kLeaf7Ebx = bits({0, 3, 5, 6, 7, 8, 9, 13, 18, 19, 20, 23, 24});
constexpr uint32_t kLeaf7EbxInvpcid = 1U << 10;
constexpr uint32_t kLeaf7Ecx = bits({0, 2, 8, 9, 10, 25, 27, 28});
constexpr uint32_t kLeaf7Edx = bits({4, 10, 14});
// Leaf 0xD.1: XSAVEOPT XSAVEC XGETBV with ECX=1 (no XSAVES).
constexpr uint32_t kLeafDSub1Eax = bits({0, 1, 2});
// The XSAVE area of x87 and SSE: the legacy region and the header.
constexpr uint32_t kXsaveLegacySize = 512 + 64;
// 0x80000001: LAHF CmpLegacy AltMovCr8 ABM SSE4A MisAlignSse 3DNowPrefetch
// XOP FMA4 TCE TBM TopologyExtensions; the leaf-1 mirror bits with SYSCALL
// NX MmxExt FFXSR Page1GB LM 3DNowExt 3DNow (no MCE MTRR MCA RDTSCP).
constexpr uint32_t kExt1Ecx = bits({0, 1, 4, 5, 6, 7, 8, 11, 16, 17, 21, 22});
constexpr uint32_t kExt1Edx =
    bits({0, 1, 2, 3, 4, 5, 6, 8, 9, 11, 13, 15, 16, 17, 20, 22, 23, 24, 25, 26, 29, 30, 31});
constexpr uint32_t kExt7EdxInvariantTsc = 1U << 8;
constexpr uint32_t kExt8Ebx = bits({0, 2, 9});  // CLZERO XSaveErPtr WBNOINVD

constexpr uint32_t kMaxBasicIntel = 0x16, kMaxBasicAmd = 0xD;
constexpr uint32_t kMaxExtendedIntel = 0x80000008, kMaxExtendedAmd = 0x8000001F;
constexpr uint32_t kHypervisorBase = 0x40000000, kHypervisorTiming = 0x40000010;
// "___ NVMM ___" in EBX, ECX, EDX.
constexpr uint32_t kSignature[3] = {0x205f5f5f, 0x4d4d564e, 0x5f5f5f20};

constexpr uint32_t kVendorIntelEbx = 0x756e6547;  // "Genu"
constexpr uint32_t kTopology = 0xB;  // extended topology enumeration

bool in_hypervisor_range(uint32_t function)
{
    return function >= kHypervisorBase && function < 0x80000000;
}

void zero(kvm_cpuid_entry2& e)
{
    e.eax = e.ebx = e.ecx = e.edx = 0;
}

const kvm_cpuid_entry2* find(std::span<const kvm_cpuid_entry2> table, uint32_t function)
{
    auto it = std::find_if(table.begin(), table.end(), [&](const auto& e) { return e.function == function; });
    return it == table.end() ? nullptr : &*it;
}

kvm_cpuid_entry2 leaf(uint32_t function, uint32_t eax, uint32_t ebx, uint32_t ecx, uint32_t edx)
{
    kvm_cpuid_entry2 e{};
    e.function = function;
    e.eax = eax;
    e.ebx = ebx;
    e.ecx = ecx;
    e.edx = edx;
    return e;
}

}  // namespace

bool is_intel(std::span<const kvm_cpuid_entry2> kvm)
{
    const kvm_cpuid_entry2* basic = find(kvm, 0);
    return basic && basic->ebx == kVendorIntelEbx;
}

namespace {

class Policy {
public:
    Policy(std::span<const kvm_cpuid_entry2> kvm, uint64_t xcr0_mask) : xcr0_mask_(xcr0_mask)
    {
        const kvm_cpuid_entry2* basic = find(kvm, 0);
        const kvm_cpuid_entry2* extended = find(kvm, 0x80000000);
        intel_ = is_intel(kvm);
        max_basic_ = std::min(basic ? basic->eax : 0, intel_ ? kMaxBasicIntel : kMaxBasicAmd);
        max_extended_ = std::min(extended ? extended->eax : 0x80000000, intel_ ? kMaxExtendedIntel : kMaxExtendedAmd);
    }

    // False: NVMM has no such leaf (past a maximum, or KVM's own).
    bool keep(const kvm_cpuid_entry2& e) const
    {
        if (in_hypervisor_range(e.function) || e.function == kTopology) {
            return false;
        }
        return e.function < 0x80000000 ? e.function <= max_basic_
                                       : e.function <= max_extended_ && e.function < 0xC0000000;
    }

    // NetBSD's VMX backend shows the vCPUs as cores of one package, one
    // thread each (subleaves 0 and 1, then an invalid level); SVM has no
    // leaf 0xB.
    void add_topology(std::vector<kvm_cpuid_entry2>& table) const
    {
        if (!intel_ || kTopology > max_basic_) {
            return;
        }
        for (uint32_t level = 0; level < 3; level++) {
            kvm_cpuid_entry2 e = leaf(kTopology, 0, 0, 0, 0);
            e.index = level;
            e.flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
            table.push_back(e);
        }
    }

    void filter(kvm_cpuid_entry2& e) const
    {
        if (e.function < 0x80000000) {
            basic(e);
        } else {
            extended(e);
        }
    }

private:
    void basic(kvm_cpuid_entry2& e) const
    {
        switch (e.function) {
        case 0x0:
            e.eax = max_basic_;
            break;
        case 0x1:
            e.ecx = (e.ecx & (kLeaf1Ecx | (intel_ ? kLeaf1EcxPcid : 0))) | kLeaf1EcxHypervisor;
            e.edx &= kLeaf1Edx;
            break;
        case 0x2:
        case 0x4:
            if (!intel_) {
                zero(e);
            }
            break;
        case 0x7:
            if (e.index != 0) {
                zero(e);
                break;
            }
            e.eax = 0;
            e.ebx &= kLeaf7Ebx | (intel_ ? kLeaf7EbxInvpcid : 0);
            e.ecx &= kLeaf7Ecx;
            e.edx &= kLeaf7Edx;
            break;
        case 0xD:
            xsave(e);
            break;
        case 0x15:
        case 0x16:
            break;
        default:
            // 0x3, 0x5, 0x6, 0x8-0xA and 0xC (no PMU), 0xE-0x14.
            zero(e);
        }
    }

    void xsave(kvm_cpuid_entry2& e) const
    {
        if (xcr0_mask_ == 0) {
            return;
        }
        if (e.index == 0) {
            e.eax = static_cast<uint32_t>(xcr0_mask_);
            e.edx = static_cast<uint32_t>(xcr0_mask_ >> 32);
            e.ebx = e.ecx = kXsaveLegacySize;
        } else if (e.index == 1) {
            e.eax &= kLeafDSub1Eax;
            e.ebx = e.ecx = e.edx = 0;
        } else {
            zero(e);
        }
    }

    void extended(kvm_cpuid_entry2& e) const
    {
        switch (e.function) {
        case 0x80000000:
            e.eax = max_extended_;
            break;
        case 0x80000001:
            e.ecx &= kExt1Ecx;
            e.edx &= kExt1Edx;
            break;
        case 0x80000007:
            e.eax = e.ebx = e.ecx = 0;
            e.edx &= kExt7EdxInvariantTsc;
            break;
        case 0x80000008:
            e.ebx &= kExt8Ebx;
            e.edx = 0;
            break;
        default:
            // AMD's SVM, IBS, LWP and SEV leaves.
            if (!intel_ && ((e.function >= 0x80000009 && e.function <= 0x80000018) || e.function == 0x8000001B ||
                            e.function == 0x8000001C || e.function == 0x8000001F)) {
                zero(e);
            }
        }
    }

    uint64_t xcr0_mask_;
    bool intel_ = false;
    uint32_t max_basic_ = 0;
    uint32_t max_extended_ = 0;
};


}  // namespace

std::vector<kvm_cpuid_entry2> guest_table(std::span<const kvm_cpuid_entry2> kvm, uint64_t xcr0_mask)
{
    const Policy policy(kvm, xcr0_mask);
    std::vector<kvm_cpuid_entry2> table;
    for (kvm_cpuid_entry2 e : kvm) {
        if (policy.keep(e)) {
            policy.filter(e);
            table.push_back(e);
        }
    }
    policy.add_topology(table);
    table.push_back(leaf(kHypervisorBase, kHypervisorTiming, kSignature[0], kSignature[1], kSignature[2]));
    table.push_back(leaf(kHypervisorTiming, 0, 0, 0, 0));
    return table;
}

void for_vcpu(std::vector<kvm_cpuid_entry2>& table, unsigned vcpu, unsigned vcpus, uint32_t tsc_khz)
{
    constexpr uint32_t kLevelSmt = 1U << 8, kLevelCore = 2U << 8;
    for (kvm_cpuid_entry2& e : table) {
        if (e.function == kTopology && e.index == 0) {
            e.ecx = kLevelSmt;
            e.edx = vcpu;
        } else if (e.function == kTopology && e.index == 1) {
            e.eax = vcpus > 1 ? 31 - static_cast<uint32_t>(__builtin_clz(vcpus)) : 0;  // floor(log2)
            e.ebx = vcpus;
            e.ecx = kLevelCore | 1;
            e.edx = vcpu;
        } else if (e.function == 0x1) {
            e.ebx = (e.ebx & 0x00FFFFFFU) | (vcpu << 24);  // initial APIC ID
        } else if (e.function == kHypervisorTiming) {
            e.eax = tsc_khz;
        }
    }
}

}  // namespace vmruntime::nvmm::cpuid
