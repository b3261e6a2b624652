// SPDX-License-Identifier: BSD-2-Clause
#include "msr_policy.h"

#include <initializer_list>

namespace vmruntime::nvmm::msr {
namespace {

constexpr uint32_t kTsc = 0x10;
constexpr uint32_t kPlatformId = 0x17;
constexpr uint32_t kBiosSignId = 0x8B;  // AMD: the microcode patch level
constexpr uint32_t kArchCapabilities = 0x10A;
constexpr uint32_t kSysenterCs = 0x174;  // _CS, _ESP, _EIP
constexpr uint32_t kMiscEnable = 0x1A0;
constexpr uint32_t kPat = 0x277;
constexpr uint32_t kEfer = 0xC0000080;    // EFER, STAR, LSTAR, CSTAR, SFMASK
constexpr uint32_t kFsBase = 0xC0000100;  // FS_BASE, GS_BASE, KERNEL_GS_BASE
constexpr uint32_t kNbCfg = 0xC001001F;
constexpr uint32_t kCmpHalt = 0xC0010055;
constexpr uint32_t kIcCfg = 0xC0011021;
constexpr uint32_t kDeCfg = 0xC0011029;
// NB_CFG as NetBSD's SVM backend reads it: InitApicIdCpuIdLo.
constexpr uint64_t kNbCfgValue = 1ULL << 54;

bool in_list(uint32_t index, std::initializer_list<uint32_t> list)
{
    for (uint32_t m : list) {
        if (m == index) {
            return true;
        }
    }
    return false;
}

}  // namespace

std::vector<KernelRange> kernel_ranges(Vendor vendor)
{
    std::vector<KernelRange> ranges = {
        {kTsc, 1, true, true},
        {kSysenterCs, 3, true, true},
        {kPat, 1, true, true},
        {kEfer, 5, true, true},
        {kFsBase, 3, true, true},
    };
    if (vendor == Vendor::Intel) {
        // VMX reads these in the kernel; NetBSD drops a MISC_ENABLE write
        // and sends an ARCH_CAPABILITIES write to the VMM.
        ranges.push_back({kArchCapabilities, 1, true, false});
        ranges.push_back({kMiscEnable, 1, true, false});
    }
    return ranges;
}

bool in_kernel(Vendor vendor, uint32_t index, bool write)
{
    for (const KernelRange& r : kernel_ranges(vendor)) {
        if (index - r.base < r.count && (write ? r.write : r.read)) {
            return true;
        }
    }
    return false;
}

bool answered_by_library(Vendor vendor, uint32_t index, bool write, uint64_t* read_value)
{
    *read_value = 0;
    if (vendor == Vendor::Intel) {
        return in_list(index, {kBiosSignId, kPlatformId}) || (write && index == kMiscEnable);
    }
    if (in_list(index, {kCmpHalt, kDeCfg, kIcCfg, kBiosSignId})) {
        return true;
    }
    if (index == kNbCfg && !write) {
        *read_value = kNbCfgValue;
        return true;
    }
    return false;
}

}  // namespace vmruntime::nvmm::msr
