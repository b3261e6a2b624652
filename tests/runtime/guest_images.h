// SPDX-License-Identifier: BSD-2-Clause
//
// The guests of the runtime tests: guests/hello's ELF from the build tree,
// and the flat long-mode images of guests/*.S (the bytes between a
// snippet's NAME_begin and NAME_end labels), with what the tests need to
// know about them: where their code lies and where a symbol lives.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "vmruntime/runtime/machine_spec.h"

// Declares the guest image NAME of a guests/*.S file.
#define GUEST_IMAGE(name) extern "C" const uint8_t name##_begin[], name##_end[]
#define GUEST_BYTES(name) (::vmruntime::runtime_test::snippet_bytes(name##_begin, name##_end))

namespace vmruntime::runtime_test {

// Where the flat guests are loaded (MachineSpec's default).
inline constexpr uint64_t kFlatLoadAddress = 0x100000;

struct AddressRange {
    uint64_t begin = 0;
    uint64_t end = 0;
    bool contains(uint64_t address) const { return address >= begin && address < end; }
};

std::vector<uint8_t> snippet_bytes(const uint8_t* begin, const uint8_t* end);

// guests/hello's image; empty if the file cannot be read.
const std::vector<uint8_t>& hello_image();

// A machine running guests/hello with `cmdline`, in 2 MiB: the image ends
// below 1.1 MiB and the loader puts the stack under it.
runtime::MachineSpec hello_spec(const std::string& name, const std::string& cmdline);

// A machine running a flat long-mode image at kFlatLoadAddress.
runtime::MachineSpec flat_spec(const std::string& name, std::vector<uint8_t> image);

// The addresses an ELF64 image's executable PT_LOAD segments span.
std::optional<AddressRange> elf_code_range(std::span<const uint8_t> elf);

// The value of symbol `name` in an ELF64 image's symbol table.
std::optional<uint64_t> elf_symbol(std::span<const uint8_t> elf, std::string_view name);

}  // namespace vmruntime::runtime_test
