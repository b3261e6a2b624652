// SPDX-License-Identifier: BSD-2-Clause
// The ELF64 loader and the image detection in front of every loader.
#include "loader_input.h"
#include "vmruntime/loader/detect.h"
#include "vmruntime/loader/elf.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    using namespace vmruntime;
    auto in = fuzz::loader_input(data, size);
    loader::detect_image(in.file);
    fuzz::check_loaded(loader::load_elf64(in.file, fuzz::guest_ram(), in.options()));
    return 0;
}
