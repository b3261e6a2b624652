// SPDX-License-Identifier: BSD-2-Clause
//
// A libnvmm machine on KVM: one KVM VM, its guest-physical mappings (one KVM
// memory slot each) and its vCPUs.  Mappings may change while vCPUs run, so
// they sit behind a reader-writer lock; vCPU threads only ever read them.
#pragma once

#include <array>
#include <atomic>
#include <ctime>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <sys/types.h>
#include <vector>

#include "guest_memory.h"
#include "nvmm.h"

namespace vmruntime::nvmm {

class Vcpu;

inline constexpr unsigned kMaxMachines = 4096;
inline constexpr unsigned kMaxVcpus = 256;  // NVMM encodes a cpuid in 8 bits
inline constexpr uint64_t kMaxRam = 128ULL << 30;
inline constexpr unsigned kMaxHostMappings = 32;

class Machine final : public GuestMemory {
public:
    // 0, or an errno.
    static int create(std::unique_ptr<Machine>* out);
    ~Machine() override;
    Machine(const Machine&) = delete;
    Machine& operator=(const Machine&) = delete;

    int vm_fd() const { return vm_fd_; }
    nvmm_comm_page** pages() { return pages_.data(); }
    time_t created() const { return created_; }
    pid_t owner() const { return owner_; }

    // Each returns 0 or an errno, with NetBSD's meaning.
    int hva_map(uintptr_t hva, size_t size);
    int hva_unmap(uintptr_t hva, size_t size);
    int gpa_map(uintptr_t hva, uint64_t gpa, size_t size, int prot);
    int gpa_unmap(uintptr_t hva, uint64_t gpa, size_t size);
    int gpa_to_hva(uint64_t gpa, uintptr_t* hva, nvmm_prot_t* prot) const;
    uint64_t ram_size() const;

    bool read(uint64_t gpa, void* out, size_t len) const override;

    // For PageCache: the generation of the gpa mappings, which gpa_unmap
    // bumps, and where the RAM page holding `gpa` is in the host (null if
    // that page is not RAM), with the generation it belongs to.
    uint64_t map_generation() const { return map_generation_.load(std::memory_order_seq_cst); }
    struct PageRef {
        const uint8_t* page_hva;
        uint64_t generation;
    };
    PageRef find_page(uint64_t gpa) const;

    int vcpu_create(unsigned cpuid, struct nvmm_vcpu* user);
    int vcpu_destroy(unsigned cpuid);
    // Inline: every libnvmm call on a vCPU looks it up.
    Vcpu* vcpu(unsigned cpuid) const
    {
        return cpuid < kMaxVcpus ? vcpus_[cpuid].load(std::memory_order_acquire) : nullptr;
    }
    unsigned vcpu_count() const;

private:
    struct Area {
        uint64_t gpa;
        uint64_t size;
        uintptr_t hva;
        int prot;
        int slot;  // -1: no KVM slot, every access exits
    };
    struct HostMapping {
        uintptr_t hva;
        size_t size;
    };

    explicit Machine(int vm_fd);
    const Area* find_area(uint64_t gpa) const;
    int free_slot() const;
    void wait_for_page_readers();

    int vm_fd_;
    time_t created_;
    pid_t owner_;

    mutable std::shared_mutex areas_mutex_;
    std::vector<Area> areas_;
    std::vector<HostMapping> host_mappings_;
    std::atomic<uint64_t> map_generation_{0};

    std::mutex vcpus_mutex_;
    std::array<std::atomic<Vcpu*>, kMaxVcpus> vcpus_{};
    std::array<nvmm_comm_page*, kMaxVcpus> pages_{};
};

}  // namespace vmruntime::nvmm
