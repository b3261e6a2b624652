// SPDX-License-Identifier: BSD-2-Clause
#include "page_cache.h"

#include <algorithm>
#include <cstring>

#include "machine.h"

namespace vmruntime::nvmm {
namespace {

constexpr uint64_t kPageSize = 4096;

}  // namespace

bool PageCache::read(uint64_t gpa, void* out, size_t len) const
{
    auto* bytes = static_cast<uint8_t*>(out);
    while (len > 0) {
        size_t chunk = std::min<size_t>(len, kPageSize - (gpa & (kPageSize - 1)));
        const uint8_t* from = host(gpa);
        if (!from) {
            return false;
        }
        std::memcpy(bytes, from, chunk);
        gpa += chunk;
        bytes += chunk;
        len -= chunk;
    }
    return true;
}

const uint8_t* PageCache::host(uint64_t gpa) const
{
    const uint64_t page = gpa / kPageSize;
    Slot& slot = slots_[page % kSlots];
    if (slot.page != page || slot.generation != generation_) {
        Machine::PageRef miss = mach_.find_page(gpa);
        if (!miss.page_hva) {
            return nullptr;
        }
        slot = {page, miss.generation, miss.page_hva};
    }
    return slot.hva + (gpa % kPageSize);
}

}  // namespace vmruntime::nvmm
