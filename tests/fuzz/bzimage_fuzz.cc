// SPDX-License-Identifier: BSD-2-Clause
// The Linux boot protocol loader: setup header, command line, initrd.
#include "loader_input.h"
#include "vmruntime/loader/bzimage.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    using namespace vmruntime;
    auto in = fuzz::loader_input(data, size);
    loader::has_setup_header(in.file);
    fuzz::check_loaded(loader::load_bzimage(in.file, fuzz::guest_ram(), in.options()));
    return 0;
}
