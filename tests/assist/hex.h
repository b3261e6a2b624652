// SPDX-License-Identifier: BSD-2-Clause
// A uint64_t that GoogleTest prints in hex, for register and memory values.
#pragma once

#include <cstdint>
#include <ios>
#include <ostream>

namespace vmruntime::assist_test {

struct Hex {
  uint64_t value;
  bool operator==(const Hex&) const = default;
};

inline void PrintTo(Hex h, std::ostream* os) { *os << "0x" << std::hex << h.value << std::dec; }

}  // namespace vmruntime::assist_test
