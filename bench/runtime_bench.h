// SPDX-License-Identifier: BSD-2-Clause
//
// What the parts of runtime-bench share: the guests of
// guests/runtime_guests.S, the memory they are loaded into, and errors.
#pragma once

#include <cstdint>
#include <vector>

namespace vmruntime::runtime_bench {

// Machines and the raw baseline alike: 4 MiB of RAM, the image at 1 MiB.
inline constexpr uint64_t kGuestMemory = 4ULL << 20;
inline constexpr uint64_t kLoadAddress = 1ULL << 20;
// UART_SOURCE in guests/runtime_guests.S.
inline constexpr uint64_t kUartSource = 2ULL << 20;

std::vector<uint8_t> pio_loop_image();
std::vector<uint8_t> uart_flood_image();

// Print "runtime-bench: <what>: <strerror(errno)>" / "runtime-bench: <message>" and exit 1.
[[noreturn]] void die_errno(const char* what);
[[noreturn]] void die(const char* message);

}  // namespace vmruntime::runtime_bench
