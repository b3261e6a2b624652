// SPDX-License-Identifier: BSD-2-Clause
//
// A vCPU's lock-free view of guest RAM, for what it reads on every IO or
// MSR exit (the page walk and the code around RIP): the host address of the
// last few guest pages it read, tagged with the machine's mapping
// generation.  A hit is a plain memory access, with no lock and no search;
// a miss asks the machine under its lock and fills a slot.
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
#include "machine.h"

namespace vmruntime::nvmm {

class PageCache final : public GuestMemory {
public:
    explicit PageCache(const Machine& mach) : mach_(mach) {}

    class Section {
    public:
        // The flag goes up before the generation is read (both seq_cst),
        // and gpa_unmap bumps the generation before it looks at the flag:
        // either this section sees the new generation, or gpa_unmap sees
        // the flag and waits.  Inline: every IO and MSR exit opens one.
        explicit Section(PageCache& cache) : cache_(cache)
        {
            cache_.reading_.store(true, std::memory_order_seq_cst);
            cache_.generation_ = cache_.mach_.map_generation();
        }
        ~Section() { cache_.reading_.store(false, std::memory_order_release); }
        Section(const Section&) = delete;
        Section& operator=(const Section&) = delete;

    private:
        PageCache& cache_;
    };

    // Inside a Section only.
    bool read(uint64_t gpa, void* out, size_t len) const override;
    // Inside a Section only: where the byte at `gpa` is in the host, the
    // rest of its page following it, or null if that page is not RAM.
    // Valid until the section ends.
    const uint8_t* host(uint64_t gpa) const;

    // Inside a Section only: the generation of the machine's mappings it
    // opened with; host addresses from host() hold while it stays the same.
    uint64_t generation() const { return generation_; }

    // True while a Section is open (Machine::gpa_unmap waits on it).
    bool reading() const { return reading_.load(std::memory_order_seq_cst); }

private:
    struct Slot {
        uint64_t page = ~0ULL;
        uint64_t generation = ~0ULL;
        const uint8_t* hva = nullptr;
    };
    static constexpr size_t kSlots = 8;  // a 4-level walk and the code pages

    const Machine& mach_;
    std::atomic<bool> reading_{false};
    uint64_t generation_ = 0;  // the machine's, when the section opened
    mutable std::array<Slot, kSlots> slots_{};
};

}  // namespace vmruntime::nvmm
