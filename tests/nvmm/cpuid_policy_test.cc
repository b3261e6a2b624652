// SPDX-License-Identifier: BSD-2-Clause
//
// NVMM's guest CPUID table (vmruntime/nvmm/cpuid_policy.h) from a KVM table in
// which every feature bit is set: what NVMM keeps, masks, zeroes, drops and
// adds, for Intel and for AMD.  No KVM needed.
#include <linux/kvm.h>

#include <gtest/gtest.h>

#include <optional>
#include <vector>

#include "guest_vm.h"
#include "vmruntime/nvmm/cpuid_policy.h"

namespace vmruntime::nvmm_test {
namespace {

constexpr uint32_t kGenu = 0x756e6547, kAuth = 0x68747541;  // "Genu", "Auth"

kvm_cpuid_entry2 entry(uint32_t function, uint32_t index = 0)
{
    kvm_cpuid_entry2 e{};
    e.function = function;
    e.index = index;
    e.eax = e.ebx = e.ecx = e.edx = ~0U;
    return e;
}

// A KVM table with everything on, maximum leaves 0x20 and 0x80000021.
std::vector<kvm_cpuid_entry2> everything(uint32_t vendor)
{
    std::vector<kvm_cpuid_entry2> t;
    kvm_cpuid_entry2 basic = entry(0);
    basic.eax = 0x20;
    basic.ebx = vendor;
    t.push_back(basic);
    for (uint32_t f : {0x1u, 0x2u, 0x4u, 0x5u, 0x6u, 0xAu, 0xBu, 0x14u, 0x16u, 0x1Fu}) {
        t.push_back(entry(f));
    }
    for (uint32_t i = 0; i < 3; i++) {
        t.push_back(entry(0x7, i));
        t.push_back(entry(0xD, i));
    }
    t.push_back(entry(0x40000000));
    t.push_back(entry(0x40000001));
    kvm_cpuid_entry2 ext = entry(0x80000000);
    ext.eax = 0x80000021;
    t.push_back(ext);
    for (uint32_t f : {0x80000001u, 0x80000007u, 0x80000008u, 0x8000000Au, 0x8000001Eu, 0x8000001Fu,
                       0x80000021u}) {
        t.push_back(entry(f));
    }
    return t;
}

std::optional<kvm_cpuid_entry2> find(const std::vector<kvm_cpuid_entry2>& t, uint32_t f, uint32_t i = 0)
{
    for (const auto& e : t) {
        if (e.function == f && e.index == i) {
            return e;
        }
    }
    return std::nullopt;
}

bool zero(const kvm_cpuid_entry2& e)
{
    return (e.eax | e.ebx | e.ecx | e.edx) == 0;
}

TEST(CpuidPolicy, IntelLeaves)
{
    auto t = nvmm::cpuid::guest_table(everything(kGenu), 0x3);
    EXPECT_EQ(find(t, 0)->eax, 0x16u) << "Intel's maximum basic leaf";
    EXPECT_FALSE(find(t, 0x1F)) << "past the maximum";
    const auto l1 = *find(t, 1);
    EXPECT_EQ(l1.ecx, 0xFEDA3203u) << "leaf 1 ECX: the whitelist, PCID, and the hypervisor bit";
    EXPECT_EQ(l1.edx, 0x9F8BAB7Fu) << "leaf 1 EDX: no MCE, MTRR, MCA, PSN, DS, ACPI, TM";
    EXPECT_EQ(l1.eax, ~0U);
    const auto l7 = *find(t, 7);
    EXPECT_EQ(l7.eax, 0u);
    EXPECT_EQ(l7.ebx, 0x019C27E9u) << "with INVPCID";
    EXPECT_EQ(l7.ecx, 0x1A000705u);
    EXPECT_EQ(l7.edx, 0x00004410u);
    EXPECT_TRUE(zero(*find(t, 7, 1)));
    for (uint32_t f : {0x5u, 0x6u, 0xAu, 0xBu, 0x14u}) {
        EXPECT_TRUE(zero(*find(t, f))) << std::hex << f;
    }
    EXPECT_EQ(find(t, 2)->eax, ~0U) << "Intel's cache leaves pass";
    EXPECT_EQ(find(t, 0x16)->eax, ~0U);
    const auto xsave = *find(t, 0xD);
    EXPECT_EQ(xsave.eax, 0x3u);
    EXPECT_EQ(xsave.edx, 0u);
    EXPECT_EQ(xsave.ebx, 576u);
    EXPECT_EQ(find(t, 0xD, 1)->eax, 0x7u) << "no XSAVES";
    EXPECT_TRUE(zero(*find(t, 0xD, 2)));
    EXPECT_EQ(find(t, 0x80000000)->eax, 0x80000008u);
    EXPECT_FALSE(find(t, 0x8000001F));
    EXPECT_EQ(find(t, 0x80000001)->ecx, 0x006309F3u);
    EXPECT_EQ(find(t, 0x80000001)->edx, 0xE7D3AB7Fu) << "no MCE, MTRR, MCA, RDTSCP";
    EXPECT_EQ(find(t, 0x80000007)->edx, 0x100u) << "invariant TSC only";
    EXPECT_EQ(find(t, 0x80000008)->eax, ~0U) << "MAXPHYADDR from the host";
    EXPECT_EQ(find(t, 0x80000008)->ebx, 0x205u);
    EXPECT_EQ(find(t, 0x80000008)->edx, 0u);
}

TEST(CpuidPolicy, AmdLeaves)
{
    auto t = nvmm::cpuid::guest_table(everything(kAuth), 0x3);
    EXPECT_EQ(find(t, 0)->eax, 0xDu) << "AMD's maximum basic leaf";
    EXPECT_FALSE(find(t, 0x16));
    EXPECT_EQ(find(t, 1)->ecx & (1U << 17), 0u) << "no PCID on AMD";
    EXPECT_EQ(find(t, 7)->ebx & (1U << 10), 0u) << "no INVPCID on AMD";
    EXPECT_TRUE(zero(*find(t, 2)));
    EXPECT_TRUE(zero(*find(t, 4)));
    EXPECT_EQ(find(t, 0x80000000)->eax, 0x8000001Fu);
    EXPECT_TRUE(zero(*find(t, 0x8000000A))) << "SVM features";
    EXPECT_TRUE(zero(*find(t, 0x8000001F))) << "SEV";
    EXPECT_EQ(find(t, 0x8000001E)->eax, ~0U) << "topology passes";
    EXPECT_FALSE(find(t, 0x80000021));
}

TEST(CpuidPolicy, NvmmsHypervisorLeavesReplaceKvms)
{
    auto t = nvmm::cpuid::guest_table(everything(kGenu), 0x3);
    nvmm::cpuid::for_vcpu(t, 3, 4, 2100000);
    const auto hv = *find(t, 0x40000000);
    EXPECT_EQ(hv.eax, 0x40000010u);
    EXPECT_EQ(hypervisor_signature(hv.ebx, hv.ecx, hv.edx), "___ NVMM ___");
    EXPECT_FALSE(find(t, 0x40000001)) << "KVM's features leaf";
    EXPECT_EQ(find(t, 0x40000010)->eax, 2100000u) << "TSC kHz";
    EXPECT_EQ(find(t, 1)->ebx >> 24, 3u) << "APIC ID";
}

// NetBSD's VMX leaf 0xB: the vCPUs are cores of one package, one thread
// each, with the x2APIC ID in EDX; a third level is invalid.
TEST(CpuidPolicy, TopologyCountsTheMachinesVcpusOnIntel)
{
    auto t = nvmm::cpuid::guest_table(everything(kGenu), 0x3);
    nvmm::cpuid::for_vcpu(t, 2, 5, 0);
    const auto smt = *find(t, 0xB, 0), core = *find(t, 0xB, 1), past = *find(t, 0xB, 2);
    EXPECT_EQ(smt.flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX, KVM_CPUID_FLAG_SIGNIFCANT_INDEX);
    EXPECT_EQ(smt.eax, 0u);
    EXPECT_EQ(smt.ebx, 0u);
    EXPECT_EQ(smt.ecx, 0x100u) << "level 0, type SMT";
    EXPECT_EQ(smt.edx, 2u) << "x2APIC ID";
    EXPECT_EQ(core.eax, 2u) << "floor(log2(5))";
    EXPECT_EQ(core.ebx, 5u);
    EXPECT_EQ(core.ecx, 0x201u) << "level 1, type core";
    EXPECT_EQ(core.edx, 2u);
    EXPECT_TRUE(zero(past)) << "type invalid";
    EXPECT_FALSE(find(t, 0xB, 3));
}

TEST(CpuidPolicy, NoTopologyLeafOnAmd)
{
    auto t = nvmm::cpuid::guest_table(everything(kAuth), 0x3);
    nvmm::cpuid::for_vcpu(t, 1, 2, 0);
    for (uint32_t i = 0; i < 3; i++) {
        auto e = find(t, 0xB, i);
        EXPECT_TRUE(!e || zero(*e)) << "subleaf " << i;
    }
}

}  // namespace
}  // namespace vmruntime::nvmm_test
