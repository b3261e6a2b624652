// SPDX-License-Identifier: BSD-2-Clause
// The flat-binary loader, in each CPU mode, at any load address.
#include "loader_input.h"
#include "vmruntime/loader/flat.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    using namespace vmruntime;
    auto in = fuzz::loader_input(data, size);
    for (auto mode : {loader::Mode::Real16, loader::Mode::Protected32, loader::Mode::Long64}) {
        fuzz::check_loaded(loader::load_flat(in.file, fuzz::guest_ram(), mode, in.load_gpa, in.options()));
    }
    return 0;
}
