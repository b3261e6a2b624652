// SPDX-License-Identifier: BSD-2-Clause
//
// What the loader fuzzers share: one guest RAM reused by every run (a
// loader writes only where an image asks, so nothing needs clearing), and
// boot options taken from the input's last bytes, so that a seed that is a
// real image stays one.
#pragma once

#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "vmruntime/loader/loader.h"
#include "vmruntime/loader/nvmm_state.h"

namespace vmruntime::fuzz {

inline constexpr size_t kRamBytes = 8 << 20;

inline std::span<uint8_t> guest_ram()
{
    static std::vector<uint8_t> ram(kRamBytes);
    return ram;
}

// An initrd's bytes are copied, never read: zeros of the size asked for.
inline std::span<const uint8_t> initrd_of_size(size_t size)
{
    static const std::vector<uint8_t> zeros(kRamBytes);
    return std::span<const uint8_t>(zeros).first(size);
}

struct LoaderInput {
    std::string cmdline;
    size_t initrd_size = 0;
    uint64_t load_gpa = 0;
    std::vector<uint8_t> file;
    loader::BootOptions options() const { return {cmdline, initrd_of_size(initrd_size), 0}; }
};

inline LoaderInput loader_input(const uint8_t* data, size_t size)
{
    FuzzedDataProvider in(data, size);
    LoaderInput li;
    li.cmdline.assign(in.ConsumeIntegral<uint16_t>() % 4096, 'c');
    li.initrd_size = in.ConsumeIntegral<uint32_t>() % kRamBytes;
    li.load_gpa = in.ConsumeIntegral<uint32_t>() % (kRamBytes + 4096);
    li.file = in.ConsumeRemainingBytes<uint8_t>();
    return li;
}

// A loaded image's boot state must convert to a vCPU state.
inline void check_loaded(const loader::Result<loader::BootState>& loaded)
{
    if (loaded.ok()) {
        nvmm_x64_state state{};
        loader::to_nvmm_state(loaded.value(), state);
    }
}

}  // namespace vmruntime::fuzz
