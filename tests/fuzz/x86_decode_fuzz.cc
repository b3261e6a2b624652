// SPDX-License-Identifier: BSD-2-Clause
// The instruction decoding behind the IO and MSR exits, in each code size:
// any bytes a guest leaves at RIP.
#include <cstddef>
#include <cstdint>
#include <initializer_list>

#include "vmruntime/nvmm/x86_decode.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    using namespace vmruntime::nvmm;
    for (unsigned mode : {2u, 4u, 8u}) {
        IoInsn io;
        if (decode_io(data, size, mode, &io) && (io.length == 0 || io.length > size)) {
            __builtin_trap();  // a decoded instruction lies within the bytes given
        }
        RepString rep;
        if (decode_rep_string(data, size, mode, &rep) && (rep.length == 0 || rep.length > size)) {
            __builtin_trap();
        }
        for (bool write : {false, true}) {
            if (msr_insn_length(data, size, mode, write) > size) {
                __builtin_trap();
            }
        }
        for (size_t tail = 1; tail <= 2 && size > 0; tail++) {
            is_out_opcode(data[0], tail);
        }
    }
    return 0;
}
