// SPDX-License-Identifier: BSD-2-Clause
//
// The C entry points of <nvmm.h>.  Each validates its arguments, finds the
// machine and vCPU, and returns 0 or -1 with errno; nothing here throws
// across the C boundary.
#include <fcntl.h>
#include <sys/mman.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>

#include "kvm.h"
#include "machine.h"
#include "nvmm.h"
#include "vcpu.h"

#define NVMM_API extern "C" __attribute__((visibility("default")))

namespace vmruntime::nvmm {
namespace {

std::array<std::atomic<Machine*>, kMaxMachines> g_machines{};
std::mutex g_machines_mutex;

int fail(int err)
{
    errno = err;
    return -1;
}

int ensure_init()
{
    return kvm::system().fd >= 0 ? 0 : kvm::open_system(O_RDWR);
}

// Runs `body` (returning 0 or an errno) with C error conventions.
template <typename Body>
int c_call(Body&& body)
{
    try {
        int err = body();
        return err == 0 ? 0 : fail(err);
    } catch (const std::bad_alloc&) {
        return fail(ENOMEM);
    } catch (...) {
        return fail(EIO);
    }
}

Machine* find_machine(const struct nvmm_machine* mach)
{
    if (!mach || mach->machid >= kMaxMachines) {
        return nullptr;
    }
    Machine* m = g_machines[mach->machid].load(std::memory_order_acquire);
    return m == mach->areas ? m : nullptr;
}

// ENOENT covers "no such machine", as NetBSD's kernel says it.
int with_machine(struct nvmm_machine* mach, auto&& body)
{
    if (!mach) {
        return fail(EINVAL);
    }
    Machine* m = find_machine(mach);
    if (!m) {
        return fail(ENOENT);
    }
    return c_call([&] { return body(*m); });
}

int with_vcpu(struct nvmm_machine* mach, struct nvmm_vcpu* vcpu, auto&& body)
{
    if (!vcpu) {
        return fail(EINVAL);
    }
    return with_machine(mach, [&](Machine& m) {
        Vcpu* v = m.vcpu(vcpu->cpuid);
        return v ? body(*v) : ENOENT;
    });
}

int machine_create(struct nvmm_machine* mach)
{
    if (ensure_init() == -1) {
        return errno;
    }
    std::unique_ptr<Machine> m;
    if (int err = Machine::create(&m)) {
        return err;
    }
    std::lock_guard lock(g_machines_mutex);
    for (unsigned id = 0; id < kMaxMachines; id++) {
        if (g_machines[id].load() == nullptr) {
            std::memset(mach, 0, sizeof(*mach));
            mach->machid = id;
            mach->pages = m->pages();
            mach->areas = m.get();
            g_machines[id].store(m.release(), std::memory_order_release);
            return 0;
        }
    }
    return ENOBUFS;
}

void print_segment(const char* name, const nvmm_x64_state_seg& seg)
{
    uint16_t attrib = 0;
    std::memcpy(&attrib, &seg.attrib, sizeof(attrib));
    std::printf("| -> %s: sel=0x%x base=%016" PRIx64 " limit=%x attrib=%x type=%x l=%x def=%x\n",
                name, seg.selector, seg.base, seg.limit, attrib, seg.attrib.type, seg.attrib.l,
                seg.attrib.def);
}

}  // namespace
}  // namespace vmruntime::nvmm

using namespace vmruntime::nvmm;

NVMM_API int nvmm_init(void)
{
    return kvm::open_system(O_RDWR);
}

// There is one owner (this process) on KVM; root init is plain init.
NVMM_API int nvmm_root_init(void)
{
    return kvm::open_system(O_RDWR);
}

NVMM_API int nvmm_capability(struct nvmm_capability* cap)
{
    if (!cap) {
        return fail(EINVAL);
    }
    if (ensure_init() == -1) {
        return -1;
    }
    const kvm::System& sys = kvm::system();
    std::memset(cap, 0, sizeof(*cap));
    cap->version = NVMM_KERN_VERSION;
    cap->state_size = sizeof(struct nvmm_x64_state);
    cap->max_machines = kMaxMachines;
    cap->max_vcpus = std::min(kMaxVcpus, sys.max_vcpus);
    cap->max_ram = kMaxRam;
    cap->arch.vcpu_conf_support = NVMM_CAP_ARCH_VCPU_CONF_CPUID | NVMM_CAP_ARCH_VCPU_CONF_TPR;
    cap->arch.conf_cpuid_maxops = kMaxCpuidConf;
    cap->arch.xcr0_mask = sys.xcr0_mask;
    cap->arch.mxcsr_mask = sys.mxcsr_mask;
    return 0;
}

NVMM_API int nvmm_machine_create(struct nvmm_machine* mach)
{
    if (!mach) {
        return fail(EINVAL);
    }
    return c_call([&] { return machine_create(mach); });
}

NVMM_API int nvmm_machine_destroy(struct nvmm_machine* mach)
{
    if (!mach) {
        return fail(EINVAL);
    }
    std::unique_ptr<Machine> doomed;
    {
        std::lock_guard lock(g_machines_mutex);
        Machine* m = find_machine(mach);
        if (!m) {
            return fail(ENOENT);
        }
        g_machines[mach->machid].store(nullptr, std::memory_order_release);
        doomed.reset(m);
    }
    return 0;
}

// x86 defines no machine configuration.
NVMM_API int nvmm_machine_configure(struct nvmm_machine* mach, uint64_t, void*)
{
    return with_machine(mach, [](Machine&) { return EINVAL; });
}

NVMM_API int nvmm_vcpu_create(struct nvmm_machine* mach, nvmm_cpuid_t cpuid, struct nvmm_vcpu* vcpu)
{
    if (!vcpu) {
        return fail(EINVAL);
    }
    return with_machine(mach, [&](Machine& m) { return m.vcpu_create(cpuid, vcpu); });
}

NVMM_API int nvmm_vcpu_destroy(struct nvmm_machine* mach, struct nvmm_vcpu* vcpu)
{
    if (!vcpu) {
        return fail(EINVAL);
    }
    return with_machine(mach, [&](Machine& m) { return m.vcpu_destroy(vcpu->cpuid); });
}

NVMM_API int nvmm_vcpu_configure(struct nvmm_machine* mach, struct nvmm_vcpu* vcpu, uint64_t op,
                                 void* conf)
{
    return with_vcpu(mach, vcpu, [&](Vcpu& v) {
        if (!conf) {
            return EINVAL;
        }
        if (op == NVMM_VCPU_CONF_CALLBACKS) {
            std::memcpy(&vcpu->cbs, conf, sizeof(vcpu->cbs));
            return 0;
        }
        return v.configure(op, conf);
    });
}

NVMM_API int nvmm_vcpu_setstate(struct nvmm_machine* mach, struct nvmm_vcpu* vcpu, uint64_t flags)
{
    return with_vcpu(mach, vcpu, [&](Vcpu& v) {
        if (flags & ~static_cast<uint64_t>(NVMM_X64_STATE_ALL)) {
            return EINVAL;
        }
        nvmm_comm_page* c = v.comm_page();
        c->state_commit |= flags;
        c->state_cached |= flags;
        return 0;
    });
}

NVMM_API int nvmm_vcpu_getstate(struct nvmm_machine* mach, struct nvmm_vcpu* vcpu, uint64_t flags)
{
    return with_vcpu(mach, vcpu, [&](Vcpu& v) { return v.getstate(flags); });
}

NVMM_API int nvmm_vcpu_inject(struct nvmm_machine* mach, struct nvmm_vcpu* vcpu)
{
    return with_vcpu(mach, vcpu, [&](Vcpu& v) {
        v.comm_page()->event_commit = true;
        return 0;
    });
}

NVMM_API int nvmm_vcpu_run(struct nvmm_machine* mach, struct nvmm_vcpu* vcpu)
{
    return with_vcpu(mach, vcpu, [&](Vcpu& v) { return v.run(); });
}

NVMM_API int nvmm_vcpu_stop(struct nvmm_vcpu* vcpu)
{
    if (!vcpu || !vcpu->stop) {
        return fail(EINVAL);
    }
    request_stop(vcpu->stop);
    return 0;
}

NVMM_API int nvmm_gpa_map(struct nvmm_machine* mach, uintptr_t hva, gpaddr_t gpa, size_t size, int prot)
{
    return with_machine(mach, [&](Machine& m) { return m.gpa_map(hva, gpa, size, prot); });
}

NVMM_API int nvmm_gpa_unmap(struct nvmm_machine* mach, uintptr_t hva, gpaddr_t gpa, size_t size)
{
    return with_machine(mach, [&](Machine& m) { return m.gpa_unmap(hva, gpa, size); });
}

NVMM_API int nvmm_hva_map(struct nvmm_machine* mach, uintptr_t hva, size_t size)
{
    return with_machine(mach, [&](Machine& m) { return m.hva_map(hva, size); });
}

NVMM_API int nvmm_hva_unmap(struct nvmm_machine* mach, uintptr_t hva, size_t size)
{
    return with_machine(mach, [&](Machine& m) { return m.hva_unmap(hva, size); });
}

NVMM_API int nvmm_gva_to_gpa(struct nvmm_machine* mach, struct nvmm_vcpu* vcpu, gvaddr_t gva,
                             gpaddr_t* gpa, nvmm_prot_t* prot)
{
    if (!gpa || !prot) {
        return fail(EINVAL);
    }
    return with_vcpu(mach, vcpu, [&](Vcpu& v) { return v.gva_to_gpa(gva, gpa, prot); });
}

NVMM_API int nvmm_gpa_to_hva(struct nvmm_machine* mach, gpaddr_t gpa, uintptr_t* hva, nvmm_prot_t* prot)
{
    if (!hva || !prot) {
        return fail(EINVAL);
    }
    return with_machine(mach, [&](Machine& m) { return m.gpa_to_hva(gpa, hva, prot); });
}

NVMM_API int nvmm_assist_io(struct nvmm_machine* mach, struct nvmm_vcpu* vcpu)
{
    return with_vcpu(mach, vcpu, [&](Vcpu& v) { return v.assist_io(mach, vcpu); });
}

NVMM_API int nvmm_assist_mem(struct nvmm_machine* mach, struct nvmm_vcpu* vcpu)
{
    return with_vcpu(mach, vcpu, [&](Vcpu& v) { return v.assist_mem(mach, vcpu); });
}

NVMM_API int nvmm_ctl(int op, void* data, size_t size)
{
    if (op != NVMM_CTL_MACH_INFO || !data || size != sizeof(struct nvmm_ctl_mach_info)) {
        return fail(EINVAL);
    }
    auto* info = static_cast<struct nvmm_ctl_mach_info*>(data);
    if (info->machid >= kMaxMachines) {
        return fail(EINVAL);
    }
    std::lock_guard lock(g_machines_mutex);
    Machine* m = g_machines[info->machid].load();
    if (!m) {
        return fail(ENOENT);
    }
    info->nvcpus = m->vcpu_count();
    info->nram = m->ram_size();
    info->pid = m->owner();
    info->time = m->created();
    return 0;
}

NVMM_API int nvmm_vcpu_dump(struct nvmm_machine* mach, struct nvmm_vcpu* vcpu)
{
    if (nvmm_vcpu_getstate(mach, vcpu, NVMM_X64_STATE_ALL) == -1) {
        return -1;
    }
    static const char* const kSegNames[NVMM_X64_NSEG] = {"ES", "CS",  "SS",  "DS",  "FS",
                                                         "GS", "GDT", "IDT", "LDT", "TR"};
    const nvmm_x64_state& s = *vcpu->state;
    std::printf("+ VCPU id=%u\n", vcpu->cpuid);
    static const char* const kGprNames[8] = {"RAX", "RCX", "RDX", "RBX", "RSP", "RBP", "RSI", "RDI"};
    for (int i = 0; i < 8; i++) {
        std::printf("| -> %s=%" PRIx64 "\n", kGprNames[i], s.gprs[i]);
    }
    std::printf("| -> RIP=%" PRIx64 "\n| -> RFLAGS=%" PRIx64 "\n", s.gprs[NVMM_X64_GPR_RIP],
                s.gprs[NVMM_X64_GPR_RFLAGS]);
    for (int i = 0; i < NVMM_X64_NSEG; i++) {
        print_segment(kSegNames[i], s.segs[i]);
    }
    std::printf("| -> MSR_EFER=%" PRIx64 "\n| -> CR0=%" PRIx64 "\n| -> CR3=%" PRIx64
                "\n| -> CR4=%" PRIx64 "\n| -> CR8=%" PRIx64 "\n",
                s.msrs[NVMM_X64_MSR_EFER], s.crs[NVMM_X64_CR_CR0], s.crs[NVMM_X64_CR_CR3],
                s.crs[NVMM_X64_CR_CR4], s.crs[NVMM_X64_CR_CR8]);
    return 0;
}
