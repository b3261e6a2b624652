// SPDX-License-Identifier: BSD-2-Clause
//
// The rules a vCPU state must keep for KVM to run it, beyond what libnvmm
// corrects itself as NetBSD's kernel does (reserved bits of CR0, CR4, DR6
// and DR7, CR8, XCR0, MXCSR: docs/nvmm.3.md): CR0.PG needs PE, EFER's
// reserved bits stay clear, and long mode is on or off as a whole.
// Checked before a state is committed, so that a caller who writes
// registers hears which field is wrong instead of the vCPU failing at its
// next run.
#pragma once

#include <nvmm.h>

#include <optional>
#include <string>

namespace vmruntime::runtime {

// Why KVM would refuse to run a vCPU from `state`, naming the field, or
// nothing.
std::optional<std::string> unrunnable(const nvmm_x64_state& state);

}  // namespace vmruntime::runtime
