// SPDX-License-Identifier: BSD-2-Clause
// The PVH loader: ELF notes, the entry note, the start info and initrd.
#include "loader_input.h"
#include "vmruntime/loader/pvh.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    using namespace vmruntime;
    auto in = fuzz::loader_input(data, size);
    loader::has_pvh_note(in.file);
    fuzz::check_loaded(loader::load_pvh(in.file, fuzz::guest_ram(), in.options()));
    return 0;
}
