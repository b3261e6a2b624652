// SPDX-License-Identifier: BSD-2-Clause
//
// /dev/kvm discovery and the few VM-level ioctls.  vCPU ioctls live with the
// vCPU, where their cost is accounted for.
#include "kvm.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <span>

#include "cpuid_policy.h"
#include "nvmm.h"

namespace vmruntime::nvmm::kvm {
namespace {

System g_system;
std::mutex g_open_mutex;

constexpr unsigned kMaxCpuidEntries = 256;

using CpuidTable = FlexList<kvm_cpuid_entry2, kMaxCpuidEntries>;
// NVMM's guest CPUID (cpuid_policy.h), from what KVM supports.
std::vector<kvm_cpuid_entry2> g_cpuid;

// Register classes mirrored through kvm_run on every exit: the comm page's
// GPRS, SEGS, CRS and INTR are served from these without a vCPU ioctl.
constexpr int kSyncRegs = KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS | KVM_SYNC_X86_EVENTS;

int check_extension(int fd, long cap)
{
    return ioctl(fd, KVM_CHECK_EXTENSION, cap);
}

uint32_t host_mxcsr_mask()
{
    alignas(16) struct fxsave area = {};
    __builtin_ia32_fxsave64(&area);
    // A zero mask means the CPU predates DAZ: the architectural default.
    return area.fx_mxcsr_mask != 0 ? area.fx_mxcsr_mask : 0xFFBF;
}

uint64_t guest_xcr0_mask(int fd)
{
    // x87 and SSE are what the comm page's FXSAVE area can carry.
    constexpr uint64_t kFxsaveFeatures = 0x3;
    if (check_extension(fd, KVM_CAP_XCRS) <= 0) {
        return 0;
    }
    unsigned eax = 0, edx = 0;
    asm volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((static_cast<uint64_t>(edx) << 32) | eax) & kFxsaveFeatures;
}

// Lets through only the MSRs NVMM's kernel handles itself: KVM then sends
// every other guest access to userspace (KVM_MSR_EXIT_REASON_FILTER), the
// ones it implements included.  Accesses by the VMM (KVM_GET/SET_MSRS) are
// not filtered.
int install_msr_filter(int vm)
{
    struct kvm_msr_filter filter = {};
    filter.flags = KVM_MSR_FILTER_DEFAULT_DENY;
    // One bit per MSR, all allowed within each range.
    static const uint8_t all_allowed[8] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
    std::vector<msr::KernelRange> ranges = msr::kernel_ranges(g_system.vendor);
    if (ranges.size() > KVM_MSR_FILTER_MAX_RANGES) {
        errno = E2BIG;
        return -1;
    }
    for (size_t i = 0; i < ranges.size(); i++) {
        kvm_msr_filter_range& r = filter.ranges[i];
        r.flags = (ranges[i].read ? KVM_MSR_FILTER_READ : 0) | (ranges[i].write ? KVM_MSR_FILTER_WRITE : 0);
        r.base = ranges[i].base;
        r.nmsrs = ranges[i].count;
        r.bitmap = const_cast<uint8_t*>(all_allowed);
    }
    return ioctl(vm, KVM_X86_SET_MSR_FILTER, &filter);
}

int probe(int fd)
{
    if (ioctl(fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION ||
        (check_extension(fd, KVM_CAP_SYNC_REGS) & kSyncRegs) != kSyncRegs ||
        check_extension(fd, KVM_CAP_IMMEDIATE_EXIT) <= 0 ||
        check_extension(fd, KVM_CAP_USER_MEMORY) <= 0 ||
        check_extension(fd, KVM_CAP_X86_USER_SPACE_MSR) <= 0 ||
        check_extension(fd, KVM_CAP_X86_MSR_FILTER) <= 0) {
        errno = EPROGMISMATCH;
        return -1;
    }
    int run_size = ioctl(fd, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (run_size <= 0) {
        return -1;
    }
    int max_vcpus = check_extension(fd, KVM_CAP_MAX_VCPUS);
    if (max_vcpus <= 0) {
        max_vcpus = check_extension(fd, KVM_CAP_NR_VCPUS);
    }
    auto supported = std::make_unique<CpuidTable>();
    supported->count() = kMaxCpuidEntries;
    if (ioctl(fd, kGetSupportedCpuid, supported->arg()) == -1) {
        return -1;
    }
    g_system.run_size = static_cast<size_t>(run_size);
    g_system.max_vcpus = max_vcpus > 0 ? static_cast<unsigned>(max_vcpus) : 1;
    g_system.mxcsr_mask = host_mxcsr_mask();
    g_system.xcr0_mask = guest_xcr0_mask(fd);
    g_system.vendor = cpuid::is_intel({supported->entries(), supported->count()}) ? msr::Vendor::Intel
                                                                                   : msr::Vendor::Amd;
    g_cpuid = cpuid::guest_table({supported->entries(), supported->count()}, g_system.xcr0_mask);
    int xsave2 = check_extension(fd, KVM_CAP_XSAVE2);
    g_system.xsave_size = xsave2 > static_cast<int>(kXsaveSize) ? static_cast<size_t>(xsave2) : kXsaveSize;
    return 0;
}

}  // namespace

int open_system(int open_flags)
{
    std::lock_guard lock(g_open_mutex);
    if (g_system.fd >= 0) {
        return 0;
    }
    int fd = open("/dev/kvm", open_flags | O_CLOEXEC);
    if (fd < 0) {
        // No KVM on this host: NetBSD says ENXIO for "driver not usable".
        if (errno == ENOENT || errno == ENODEV) {
            errno = ENXIO;
        }
        return -1;
    }
    if (probe(fd) == -1) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    g_system.fd = fd;
    return 0;
}

const System& system()
{
    return g_system;
}

int ioctl_retry(int fd, unsigned long request, void* arg)
{
    int ret;
    do {
        ret = ioctl(fd, request, arg);
    } while (ret == -1 && errno == EINTR);
    return ret;
}

int create_vm()
{
    int vm = ioctl_retry(g_system.fd, KVM_CREATE_VM, nullptr);
    if (vm < 0) {
        return -1;
    }
    // KVM would otherwise advance RIP before the exit for "out 0x7e" only,
    // breaking the rule that an IO exit leaves RIP on the instruction; and
    // it would run MONITOR/MWAIT as NOPs where NVMM's VMMs inject #UD.
    struct kvm_enable_cap quirks = {};
    quirks.cap = KVM_CAP_DISABLE_QUIRKS;
    quirks.args[0] = KVM_X86_QUIRK_OUT_7E_INC_RIP | KVM_X86_QUIRK_MWAIT_NEVER_UD_FAULTS |
                     KVM_X86_QUIRK_MISC_ENABLE_NO_MWAIT;
    ioctl(vm, KVM_ENABLE_CAP, &quirks);
    // MSRs outside NVMM's in-kernel set go to the VMM (NVMM's RDMSR/WRMSR
    // exits) instead of KVM's model or a #GP: the filtered ones, those KVM
    // does not know, and the x2APIC ones, which KVM refuses without an
    // in-kernel APIC (libnvmm turns a refusal of an in-kernel MSR back into
    // KVM's #GP).
    struct kvm_enable_cap msr = {};
    msr.cap = KVM_CAP_X86_USER_SPACE_MSR;
    msr.args[0] = KVM_MSR_EXIT_REASON_UNKNOWN | KVM_MSR_EXIT_REASON_FILTER | KVM_MSR_EXIT_REASON_INVAL;
    if (ioctl(vm, KVM_ENABLE_CAP, &msr) == -1 || install_msr_filter(vm) == -1) {
        int err = errno;
        close(vm);
        errno = err;
        return -1;
    }
    return vm;
}

int set_memory_region(int vm_fd, uint32_t slot, uint32_t flags, uint64_t gpa, uint64_t size,
                      uint64_t hva)
{
    struct kvm_userspace_memory_region region = {};
    region.slot = slot;
    region.flags = flags;
    region.guest_phys_addr = gpa;
    region.memory_size = size;
    region.userspace_addr = hva;
    return ioctl_retry(vm_fd, KVM_SET_USER_MEMORY_REGION, &region);
}

int create_vcpu(int vm_fd, unsigned cpuid)
{
    return ioctl_retry(vm_fd, KVM_CREATE_VCPU, reinterpret_cast<void*>(static_cast<uintptr_t>(cpuid)));
}

}  // namespace vmruntime::nvmm::kvm

namespace vmruntime::nvmm::kvm {

namespace {

void apply_mask(kvm_cpuid_entry2& e, const nvmm_vcpu_conf_cpuid& m)
{
    e.eax = (e.eax & ~m.u.mask.del.eax) | m.u.mask.set.eax;
    e.ebx = (e.ebx & ~m.u.mask.del.ebx) | m.u.mask.set.ebx;
    e.ecx = (e.ecx & ~m.u.mask.del.ecx) | m.u.mask.set.ecx;
    e.edx = (e.edx & ~m.u.mask.del.edx) | m.u.mask.set.edx;
}

}  // namespace

int set_cpuid(int vcpu_fd, unsigned vcpu, unsigned vcpus, const std::vector<nvmm_vcpu_conf_cpuid>& masks,
              uint32_t* leaf1_edx)
{
    std::vector<kvm_cpuid_entry2> entries = g_cpuid;
    const int tsc_khz = ioctl(vcpu_fd, KVM_GET_TSC_KHZ, 0);
    cpuid::for_vcpu(entries, vcpu, vcpus, tsc_khz > 0 ? static_cast<uint32_t>(tsc_khz) : 0);
    if (entries.size() > kMaxCpuidEntries) {
        return E2BIG;  // as KVM_SET_CPUID2 says of a table too long
    }
    auto table = std::make_unique<CpuidTable>();
    table->count() = static_cast<uint32_t>(entries.size());
    for (uint32_t i = 0; i < table->count(); i++) {
        kvm_cpuid_entry2& e = table->entries()[i] = entries[i];
        // NVMM matches on the leaf alone, every subleaf alike.
        for (const auto& m : masks) {
            if (m.leaf == e.function) {
                apply_mask(e, m);
            }
        }
        if (e.function == 1) {
            *leaf1_edx = e.edx;
        }
    }
    return ioctl_retry(vcpu_fd, kSetCpuid2, table->arg()) == -1 ? errno : 0;
}

}  // namespace vmruntime::nvmm::kvm

namespace vmruntime::nvmm::kvm {

// Images larger than struct kvm_xsave (AMX hosts) need KVM_GET_XSAVE2,
// whose size field is nominal: KVM copies KVM_CAP_XSAVE2 bytes.
int get_xsave(int vcpu_fd, XsaveImage& image)
{
    image.resize(g_system.xsave_size);
    unsigned long request = g_system.xsave_size > kXsaveSize ? kGetXsave2 : kGetXsave;
    return ioctl(vcpu_fd, request, image.bytes());
}

int set_xsave(int vcpu_fd, XsaveImage& image)
{
    return ioctl(vcpu_fd, kSetXsave, image.bytes());
}

}  // namespace vmruntime::nvmm::kvm
