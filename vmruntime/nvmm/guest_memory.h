// SPDX-License-Identifier: BSD-2-Clause
//
// Read access to guest-physical RAM, as the page walker and the instruction
// fetcher need it.  Implemented by the machine over its gpa mappings.
#pragma once

#include <cstddef>
#include <cstdint>

namespace vmruntime::nvmm {

class GuestMemory {
public:
    virtual ~GuestMemory() = default;
    // Copies `len` bytes at `gpa` into `out`; false if any byte is not RAM.
    virtual bool read(uint64_t gpa, void* out, size_t len) const = 0;
};

}  // namespace vmruntime::nvmm
