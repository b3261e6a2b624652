// SPDX-License-Identifier: BSD-2-Clause
#include "vmruntime/loader/linux_boot.h"

#include <algorithm>
#include <string>

#include "vmruntime/loader/boot_state.h"

namespace vmruntime::loader {
namespace {

constexpr uint64_t kPageSize = 0x1000;

}  // namespace

std::vector<MemoryRegion> memory_map(uint64_t ram_size)
{
    std::vector<MemoryRegion> map;
    map.push_back({0, std::min(ram_size, kConventionalEnd), kMemoryRam});
    map.push_back({kConventionalEnd, kEbdaEnd - kConventionalEnd, kMemoryReserved});
    map.push_back({kBiosBegin, kHighMemory - kBiosBegin, kMemoryReserved});
    if (ram_size > kHighMemory) {
        map.push_back({kHighMemory, ram_size - kHighMemory, kMemoryRam});
    }
    return map;
}

Result<uint64_t> place_initrd(uint64_t size, uint64_t ram_size, uint64_t last_byte,
                              uint64_t floor)
{
    if (size == 0) return Error{"initrd is empty"};
    const uint64_t top = last_byte == UINT64_MAX ? ram_size : std::min(ram_size, last_byte + 1);
    const uint64_t room_begin = (floor + kPageSize - 1) & ~(kPageSize - 1);
    if (top < room_begin || size > top - room_begin) {
        return Error{"initrd of " + std::to_string(size) + " bytes does not fit: " +
                     std::to_string(top > room_begin ? top - room_begin : 0) +
                     " bytes of RAM are free between the kernel's end (" + hex(floor) +
                     ") and the highest address an initrd may use (" + hex(top) + ")"};
    }
    return (top - size) & ~(kPageSize - 1);
}

Status check_linux_cmdline(std::string_view cmdline, uint64_t kernel_max)
{
    if (cmdline.size() > kernel_max) {
        return Error{"command line is " + std::to_string(cmdline.size()) +
                     " bytes, the kernel takes at most " + std::to_string(kernel_max)};
    }
    return {};
}

}  // namespace vmruntime::loader
