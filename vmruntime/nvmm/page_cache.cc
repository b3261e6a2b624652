// SPDX-License-Identifier: BSD-2-Clause
#include "page_cache.h"

#include <algorithm>
#include <cstring>

#include "machine.h"

namespace vmruntime::nvmm {
namespace {

constexpr uint64_t kPageSize = 4096;

}  // namespace

// The flag goes up before the generation is read (both seq_cst), and
// gpa_unmap bumps the generation before it looks at the flag: either this
// section sees the new generation, or gpa_unmap sees the flag and waits.
PageCache::Section::Section(PageCache& cache) : cache_(cache)
{
    cache_.reading_.store(true, std::memory_order_seq_cst);
    cache_.generation_ = cache_.mach_.map_generation();
}

PageCache::Section::~Section()
{
    cache_.reading_.store(false, std::memory_order_release);
}

bool PageCache::read(uint64_t gpa, void* out, size_t len) const
{
    auto* bytes = static_cast<uint8_t*>(out);
    while (len > 0) {
        size_t chunk = std::min<size_t>(len, kPageSize - (gpa & (kPageSize - 1)));
        if (!read_in_page(gpa, bytes, chunk)) {
            return false;
        }
        gpa += chunk;
        bytes += chunk;
        len -= chunk;
    }
    return true;
}

bool PageCache::read_in_page(uint64_t gpa, uint8_t* out, size_t len) const
{
    const uint64_t page = gpa / kPageSize;
    Slot& slot = slots_[page % kSlots];
    if (slot.page != page || slot.generation != generation_) {
        Machine::PageRead miss = mach_.read_page(gpa, out, len);
        if (!miss.ok) {
            return false;
        }
        slot = {page, miss.generation, miss.page_hva};
        return true;
    }
    std::memcpy(out, slot.hva + (gpa % kPageSize), len);
    return true;
}

}  // namespace vmruntime::nvmm
