// SPDX-License-Identifier: BSD-2-Clause
//
// Linux kernels built in memory for the loader tests: a bzImage with a
// setup header of protocol 2.15 (fields at their bootparam.h offsets), and
// a vmlinux-like ELF64 with a PVH entry note.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "elf_image.h"

namespace vmruntime::loader::test {

inline constexpr uint64_t kSetupSects = 4;  // setup is (4 + 1) sectors
inline constexpr uint64_t kSetupBytes = (kSetupSects + 1) * 512;
inline constexpr uint64_t kKernelAddress = 0x1000000;  // pref_address
inline constexpr uint32_t kInitSize = 0x400000;
inline constexpr uint32_t kInitrdAddrMax = 0x7FFFFFFF;
inline constexpr uint32_t kCmdlineSize = 2047;

template <typename T>
void put(std::vector<uint8_t>& bytes, uint64_t offset, T value)
{
    std::memcpy(bytes.data() + offset, &value, sizeof value);
}

template <typename T>
T get(const uint8_t* bytes, uint64_t offset)
{
    T value;
    std::memcpy(&value, bytes + offset, sizeof value);
    return value;
}

// Setup sectors, then `kernel` (the protected-mode part).
inline std::vector<uint8_t> make_bzimage(const std::vector<uint8_t>& kernel)
{
    std::vector<uint8_t> file(kSetupBytes + kernel.size());
    std::copy(kernel.begin(), kernel.end(), file.begin() + kSetupBytes);
    file[0x1F1] = kSetupSects;
    put<uint16_t>(file, 0x1FE, 0xAA55);
    file[0x200] = 0xEB;                 // jmp short
    file[0x201] = 0x6A;                 // to 0x26C, the end of the 2.15 header
    put<uint32_t>(file, 0x202, 0x53726448);  // "HdrS"
    put<uint16_t>(file, 0x206, 0x020F);
    file[0x211] = 0x01;                 // LOADED_HIGH
    put<uint32_t>(file, 0x22C, kInitrdAddrMax);
    put<uint32_t>(file, 0x230, 0x200000);  // kernel_alignment
    file[0x234] = 1;                    // relocatable_kernel
    put<uint16_t>(file, 0x236, 0x01 | 0x02);  // XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G
    put<uint32_t>(file, 0x238, kCmdlineSize);
    put<uint64_t>(file, 0x258, kKernelAddress);
    put<uint32_t>(file, 0x260, kInitSize);
    return file;
}

// A PT_NOTE segment's bytes: one note named "Xen" of `type` with `desc`.
inline std::vector<uint8_t> xen_note(uint32_t type, const std::vector<uint8_t>& desc)
{
    std::vector<uint8_t> note(12);
    put<uint32_t>(note, 0, 4);  // namesz, the NUL included
    put<uint32_t>(note, 4, static_cast<uint32_t>(desc.size()));
    put<uint32_t>(note, 8, type);
    for (char c : {'X', 'e', 'n', '\0'}) note.push_back(static_cast<uint8_t>(c));
    note.insert(note.end(), desc.begin(), desc.end());
    note.resize((note.size() + 3) & ~size_t{3});
    return note;
}

inline std::vector<uint8_t> le32(uint32_t value)
{
    std::vector<uint8_t> bytes(4);
    std::memcpy(bytes.data(), &value, 4);
    return bytes;
}

}  // namespace vmruntime::loader::test
