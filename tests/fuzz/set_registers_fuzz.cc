// SPDX-License-Identifier: BSD-2-Clause
//
// SetRegisters' conversion of a client's Registers message (as the wire
// carries it) into nvmm's vCPU state.  What it accepts must come back
// unchanged through GetRegisters' conversion, and convert again.
#include <google/protobuf/util/message_differencer.h>

#include "server/registers.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    using namespace vmruntime;
    v1::Registers in;
    if (!in.ParseFromArray(data, static_cast<int>(size))) {
        return -1;  // not a message: gRPC would have refused it
    }
    nvmm_x64_state state{};
    auto flags = server::from_proto(in, &state);
    if (!flags.ok()) {
        return 0;
    }
    v1::Registers out;
    server::to_proto(state, *flags, &out);
    nvmm_x64_state again{};
    auto flags_again = server::from_proto(out, &again);
    v1::Registers out_again;
    if (flags_again.ok()) {
        server::to_proto(again, *flags_again, &out_again);
    }
    if (!flags_again.ok() || *flags_again != *flags ||
        !google::protobuf::util::MessageDifferencer::Equals(out, out_again)) {
        __builtin_trap();  // GetRegisters' answer would not be a valid SetRegisters
    }
    return 0;
}
