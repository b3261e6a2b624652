// SPDX-License-Identifier: BSD-2-Clause
//
// A vCPU's lock-free view of guest RAM, for what it reads on every IO or
// MSR exit (the page walk and the code around RIP): the host address of the
// last few guest pages it read, tagged with the machine's mapping
// generation.  A hit is a plain memcpy, with no lock and no search; a miss
// asks the machine under its lock and fills a slot.
//
// Reads happen inside a section.  Machine::gpa_unmap bumps the generation
// and then waits until no vCPU is inside a section it opened before, so
// that once it returns no cached pointer into the unmapped range is in use
// and the VMM may munmap it, as with the machine's lock.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

#include "guest_memory.h"

namespace vmruntime::nvmm {

class Machine;

class PageCache final : public GuestMemory {
public:
    explicit PageCache(const Machine& mach) : mach_(mach) {}

    class Section {
    public:
        explicit Section(PageCache& cache);
        ~Section();
        Section(const Section&) = delete;
        Section& operator=(const Section&) = delete;

    private:
        PageCache& cache_;
    };

    // Inside a Section only.
    bool read(uint64_t gpa, void* out, size_t len) const override;

    // True while a Section is open (Machine::gpa_unmap waits on it).
    bool reading() const { return reading_.load(std::memory_order_seq_cst); }

private:
    struct Slot {
        uint64_t page = ~0ULL;
        uint64_t generation = ~0ULL;
        const uint8_t* hva = nullptr;
    };
    static constexpr size_t kSlots = 8;  // a 4-level walk and the code pages

    bool read_in_page(uint64_t gpa, uint8_t* out, size_t len) const;

    const Machine& mach_;
    std::atomic<bool> reading_{false};
    uint64_t generation_ = 0;  // the machine's, when the section opened
    mutable std::array<Slot, kSlots> slots_{};
};

}  // namespace vmruntime::nvmm
