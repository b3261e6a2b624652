// SPDX-License-Identifier: BSD-2-Clause
//
// The boot page tables: 4-level, identity-mapping [0, kIdentityMapSize) with
// 2 MiB pages, at kPml4Gpa (see boot_state.h for the layout).
#pragma once

#include <cstdint>
#include <span>

namespace vmruntime::loader {

inline constexpr uint64_t PG_P = 1ULL << 0;
inline constexpr uint64_t PG_RW = 1ULL << 1;
inline constexpr uint64_t PG_U = 1ULL << 2;
inline constexpr uint64_t PG_PS = 1ULL << 7;  // in a page directory: a 2 MiB page

// `ram` must cover [kPml4Gpa, kReservedEnd).
void write_identity_page_tables(std::span<uint8_t> ram);

}  // namespace vmruntime::loader
