// SPDX-License-Identifier: BSD-2-Clause
//
// Guest-physical mappings follow libnvmm's rules (page alignment, no
// overlap, exact-match unmap) with KVM's expressiveness: a slot is readable
// and executable, optionally read-only; a mapping without PROT_READ gets no
// slot, so every access to it reaches the VMM as a MEMORY exit.
#include "machine.h"

#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "kvm.h"
#include "vcpu.h"

namespace vmruntime::nvmm {
namespace {

constexpr uint64_t kPageMask = 4095;
// KVM on Intel needs three pages for its real-mode TSS and one for an
// identity map, somewhere the guest does not use: just below the BIOS area,
// where QEMU puts them too.
constexpr uint64_t kTssAddr = 0xFFFBD000;
constexpr uint64_t kIdentityMapAddr = 0xFFFBC000;

bool page_aligned(uint64_t v)
{
    return (v & kPageMask) == 0;
}

bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    return a < b + blen && b < a + alen;
}

}  // namespace

Machine::Machine(int vm_fd) : vm_fd_(vm_fd), created_(time(nullptr)), owner_(getpid()) {}

Machine::~Machine()
{
    for (auto& slot : vcpus_) {
        delete slot.exchange(nullptr);
    }
    close(vm_fd_);
}

int Machine::create(std::unique_ptr<Machine>* out)
{
    int fd = kvm::create_vm();
    if (fd < 0) {
        return errno;
    }
    uint64_t identity = kIdentityMapAddr;
    ioctl(fd, KVM_SET_IDENTITY_MAP_ADDR, &identity);  // Intel only; harmless elsewhere
    ioctl(fd, KVM_SET_TSS_ADDR, static_cast<unsigned long>(kTssAddr));
    out->reset(new Machine(fd));
    return 0;
}

int Machine::hva_map(uintptr_t hva, size_t size)
{
    if (hva == 0 || size == 0 || !page_aligned(hva) || !page_aligned(size) || hva + size < hva) {
        return EINVAL;
    }
    std::unique_lock lock(areas_mutex_);
    for (const auto& m : host_mappings_) {
        if (overlaps(m.hva, m.size, hva, size)) {
            return EEXIST;
        }
    }
    if (host_mappings_.size() >= kMaxHostMappings) {
        return ENOBUFS;
    }
    host_mappings_.push_back({hva, size});
    return 0;
}

int Machine::hva_unmap(uintptr_t hva, size_t size)
{
    std::unique_lock lock(areas_mutex_);
    auto it = std::find_if(host_mappings_.begin(), host_mappings_.end(),
                           [&](const HostMapping& m) { return m.hva == hva && m.size == size; });
    if (it == host_mappings_.end()) {
        return ENOENT;
    }
    host_mappings_.erase(it);
    return 0;
}

int Machine::free_slot() const
{
    for (int slot = 0;; slot++) {
        bool used = std::any_of(areas_.begin(), areas_.end(),
                                [&](const Area& a) { return a.slot == slot; });
        if (!used) {
            return slot;
        }
    }
}

int Machine::gpa_map(uintptr_t hva, uint64_t gpa, size_t size, int prot)
{
    if (hva == 0 || size == 0 || !page_aligned(hva) || !page_aligned(gpa) || !page_aligned(size) ||
        (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC)) != 0 || gpa + size < gpa ||
        gpa + size > kMaxRam || hva + size < hva) {
        return EINVAL;
    }
    std::unique_lock lock(areas_mutex_);
    for (const auto& a : areas_) {
        if (overlaps(a.gpa, a.size, gpa, size)) {
            return EINVAL;
        }
    }
    Area area{gpa, size, hva, prot, -1};
    if (prot & PROT_READ) {
        area.slot = free_slot();
        uint32_t flags = (prot & PROT_WRITE) ? 0 : KVM_MEM_READONLY;
        if (kvm::set_memory_region(vm_fd_, static_cast<uint32_t>(area.slot), flags, gpa, size, hva) == -1) {
            return errno == EEXIST ? EINVAL : errno;
        }
    }
    areas_.push_back(area);
    return 0;
}

int Machine::gpa_unmap(uintptr_t hva, uint64_t gpa, size_t size)
{
    {
        std::unique_lock lock(areas_mutex_);
        auto it = std::find_if(areas_.begin(), areas_.end(), [&](const Area& a) {
            return a.hva == hva && a.gpa == gpa && a.size == size;
        });
        if (it == areas_.end()) {
            return ESRCH;
        }
        if (it->slot >= 0 &&
            kvm::set_memory_region(vm_fd_, static_cast<uint32_t>(it->slot), 0, gpa, 0, hva) == -1) {
            return errno;
        }
        areas_.erase(it);
        map_generation_.fetch_add(1, std::memory_order_seq_cst);
    }
    // Outside the lock: a section that missed its cache takes it.
    wait_for_page_readers();
    return 0;
}

// Every vCPU's PageCache section opened before the generation moved ends
// in a few hundred nanoseconds (a page walk and a copy).
void Machine::wait_for_page_readers()
{
    std::lock_guard lock(vcpus_mutex_);
    for (const auto& slot : vcpus_) {
        if (const Vcpu* v = slot.load()) {
            while (v->page_cache().reading()) {
                __builtin_ia32_pause();
            }
        }
    }
}

const Machine::Area* Machine::find_area(uint64_t gpa) const
{
    for (const auto& a : areas_) {
        if (gpa >= a.gpa && gpa - a.gpa < a.size) {
            return &a;
        }
    }
    return nullptr;
}

int Machine::gpa_to_hva(uint64_t gpa, uintptr_t* hva, nvmm_prot_t* prot) const
{
    std::shared_lock lock(areas_mutex_);
    const Area* a = find_area(gpa);
    if (!a) {
        return ENOENT;
    }
    *hva = a->hva + (gpa - a->gpa);
    // PROT_* and NVMM_PROT_* share their R/W/X values.
    *prot = static_cast<nvmm_prot_t>(a->prot);
    return 0;
}

uint64_t Machine::ram_size() const
{
    std::shared_lock lock(areas_mutex_);
    uint64_t total = 0;
    for (const auto& a : areas_) {
        total += a.size;
    }
    return total;
}

bool Machine::read(uint64_t gpa, void* out, size_t len) const
{
    std::shared_lock lock(areas_mutex_);
    const Area* a = find_area(gpa);
    if (!a || a->slot < 0 || len > a->size - (gpa - a->gpa)) {
        return false;
    }
    std::memcpy(out, reinterpret_cast<const void*>(a->hva + (gpa - a->gpa)), len);
    return true;
}

// Areas are whole pages, so the page holding `gpa` lies in its area.
Machine::PageRef Machine::find_page(uint64_t gpa) const
{
    std::shared_lock lock(areas_mutex_);
    const Area* a = find_area(gpa);
    if (!a || a->slot < 0) {
        return {nullptr, 0};
    }
    const uint64_t page = gpa & ~uint64_t{4095};
    return {reinterpret_cast<const uint8_t*>(a->hva + (page - a->gpa)),
            map_generation_.load(std::memory_order_relaxed)};
}

int Machine::vcpu_create(unsigned cpuid, struct nvmm_vcpu* user)
{
    if (cpuid >= std::min(kMaxVcpus, kvm::system().max_vcpus)) {
        return EINVAL;
    }
    std::lock_guard lock(vcpus_mutex_);
    if (vcpus_[cpuid].load() != nullptr) {
        return EBUSY;
    }
    std::unique_ptr<Vcpu> vcpu;
    if (int err = Vcpu::create(*this, cpuid, &vcpu)) {
        return err;
    }
    vcpu->bind(user);
    pages_[cpuid] = vcpu->comm_page();
    vcpus_[cpuid].store(vcpu.release());
    return 0;
}

int Machine::vcpu_destroy(unsigned cpuid)
{
    if (cpuid >= kMaxVcpus) {
        return EINVAL;
    }
    std::lock_guard lock(vcpus_mutex_);
    Vcpu* vcpu = vcpus_[cpuid].exchange(nullptr);
    if (!vcpu) {
        return ENOENT;
    }
    pages_[cpuid] = nullptr;
    delete vcpu;
    return 0;
}

unsigned Machine::vcpu_count() const
{
    return static_cast<unsigned>(std::count_if(vcpus_.begin(), vcpus_.end(),
                                               [](const auto& v) { return v.load() != nullptr; }));
}

}  // namespace vmruntime::nvmm
