// SPDX-License-Identifier: BSD-2-Clause
//
// Range arithmetic and stores on a guest RAM view, shared by the loaders.
// Every range check is written so that no sum can wrap: image headers are
// untrusted and their offsets and sizes may be anything.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <span>
#include <string>

namespace vmruntime::loader {

// [begin, begin + size): an image's bytes in guest-physical memory.
struct Extent {
    uint64_t begin = 0;
    uint64_t size = 0;
};

// Whether [begin, begin + size) lies inside [0, limit).
constexpr bool fits(uint64_t begin, uint64_t size, uint64_t limit)
{
    return begin <= limit && size <= limit - begin;
}

// Whether two extents share a byte; both must already fit in 64 bits.
constexpr bool overlaps(Extent a, Extent b)
{
    return a.size != 0 && b.size != 0 && a.begin < b.begin + b.size && b.begin < a.begin + a.size;
}

inline std::string hex(uint64_t value)
{
    char text[19];
    std::snprintf(text, sizeof text, "0x%llx", static_cast<unsigned long long>(value));
    return text;
}

// The host is x86 too, so guest little-endian is host order.
template <typename T>
void store(std::span<uint8_t> ram, uint64_t gpa, T value)
{
    std::memcpy(ram.data() + gpa, &value, sizeof value);
}

}  // namespace vmruntime::loader
