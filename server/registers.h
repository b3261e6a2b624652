// SPDX-License-Identifier: BSD-2-Clause
//
// vCPU state between nvmm's struct nvmm_x64_state and the API's Registers
// message.  Each class message lists its fields in nvmm's index order
// (GeneralRegisters field k is gprs[k], NVMM_X64_GPR_RAX first), which is
// what lets the conversion walk them by position.
#pragma once

#include <nvmm.h>

#include <absl/status/statusor.h>

#include <cstdint>

#include "vmruntime/v1/vmruntime.pb.h"

namespace vmruntime::server {

// NVMM_X64_STATE_* flags for the classes asked for; all of them when empty.
// INVALID_ARGUMENT for an unknown class.
absl::StatusOr<uint64_t> state_flags(const google::protobuf::RepeatedField<int>& classes);

// Fills the classes in `flags` from `state`.
void to_proto(const nvmm_x64_state& state, uint64_t flags, v1::Registers* out);

// Copies the classes present in `in` into `state` and returns their flags.
// INVALID_ARGUMENT, with nothing written, for malformed FPU registers or a
// segment field too wide for the hardware's.
absl::StatusOr<uint64_t> from_proto(const v1::Registers& in, nvmm_x64_state* state);

}  // namespace vmruntime::server
