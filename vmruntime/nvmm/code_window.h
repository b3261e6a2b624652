// SPDX-License-Identifier: BSD-2-Clause
//
// The guest code around RIP that IO and MSR exits decode, kept between
// exits.  Fetching it takes a page walk and a copy; an exit at the same
// place as the last one only compares what that fetch read (the page-table
// entries on the way and the code bytes) with what is there now, in place,
// since the walk and the window depend on nothing else.  A VMM's exits
// mostly come from a few instructions run again and again, so the decode of
// the last window is reused as long as the version stays the same.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "guest_memory.h"
#include "page_cache.h"
#include "x86_walk.h"

namespace vmruntime::nvmm {

inline constexpr size_t kMaxInsn = 15;                // longest x86 instruction
inline constexpr size_t kCodeWindow = 2 * kMaxInsn;   // an instruction on each side of RIP

class CodeWindow {
public:
    explicit CodeWindow(PageCache& mem) : mem_(mem) {}
    CodeWindow(const CodeWindow&) = delete;
    CodeWindow& operator=(const CodeWindow&) = delete;

    // Brings the window to [linear - 15, linear + 15) under `regs`.
    // Returns its version, which changes whenever the bytes or their
    // validity may have.  Inline, like the check behind it: it runs on
    // every IO and MSR exit.
    uint64_t update(const PagingRegs& regs, uint64_t linear)
    {
        PageCache::Section section(mem_);
        if (!unchanged(regs, linear)) {
            fetch(regs, linear);
        }
        return version_;
    }

    const uint8_t* bytes() const { return bytes_; }
    // Which bytes could be read.
    const bool* valid() const { return valid_; }
    // How many bytes from RIP (bytes()[15]) on could be read.
    size_t readable_from_rip() const;

private:
    // One read the last fetch made inside one page, where, and what it saw.
    struct Read {
        uint64_t gpa;
        const uint8_t* host;  // null: not RAM
        uint8_t len;
        uint8_t data[kCodeWindow];
    };
    // Two chunks, each a walk of up to five levels and its code bytes.
    static constexpr size_t kMaxReads = 12;

    class Recorder;
    bool unchanged(const PagingRegs& regs, uint64_t linear) const;
    void fetch(const PagingRegs& regs, uint64_t linear);
    static bool same_bytes(const uint8_t* a, const uint8_t* b, size_t n);

    PageCache& mem_;
    bool replayable_ = false;  // fetched, and all the reads fit in reads_
    uint64_t version_ = 0;
    uint64_t generation_ = 0;  // of the machine's mappings the reads saw
    PagingRegs regs_{};
    uint64_t linear_ = 0;
    size_t nreads_ = 0;
    std::array<Read, kMaxReads> reads_{};
    uint8_t bytes_[kCodeWindow] = {};
    bool valid_[kCodeWindow] = {};
};

// The host addresses the reads took stay valid while the mappings keep
// their generation; a page that was not RAM may have been mapped since.
// One branch for the registers.
inline bool CodeWindow::unchanged(const PagingRegs& regs, uint64_t linear) const
{
    const uint64_t moved = (linear ^ linear_) | (regs.cr0 ^ regs_.cr0) | (regs.cr3 ^ regs_.cr3) |
                           (regs.cr4 ^ regs_.cr4) | (regs.efer ^ regs_.efer) | (regs.cpl ^ regs_.cpl) |
                           (mem_.generation() ^ generation_);
    if (moved != 0 || !replayable_) {
        return false;
    }
    for (size_t i = 0; i < nreads_; i++) {
        const Read& r = reads_[i];
        if (r.host ? !same_bytes(r.host, r.data, r.len) : mem_.host(r.gpa) != nullptr) {
            return false;
        }
    }
    return true;
}

// n <= 32, so two fixed-size compares, first and last, possibly
// overlapping: a variable-length memcmp costs more than the whole check.
static_assert(kCodeWindow <= 32, "a read is at most the window");
inline bool CodeWindow::same_bytes(const uint8_t* a, const uint8_t* b, size_t n)
{
    auto diff = [](const uint8_t* x, const uint8_t* y, auto word) {
        decltype(word) u, v;
        std::memcpy(&u, x, sizeof u);
        std::memcpy(&v, y, sizeof v);
        return u ^ v;
    };
    using U128 = unsigned __int128;
    if (n >= 16) {
        return (diff(a, b, U128{}) | diff(a + n - 16, b + n - 16, U128{})) == 0;
    }
    if (n >= 8) {
        return (diff(a, b, uint64_t{}) | diff(a + n - 8, b + n - 8, uint64_t{})) == 0;
    }
    if (n >= 4) {
        return (diff(a, b, uint32_t{}) | diff(a + n - 4, b + n - 4, uint32_t{})) == 0;
    }
    return std::memcmp(a, b, n) == 0;
}

}  // namespace vmruntime::nvmm
