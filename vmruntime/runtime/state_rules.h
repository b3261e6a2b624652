// SPDX-License-Identifier: BSD-2-Clause
//
// The rules a vCPU state must keep for KVM to run it: what KVM_SET_SREGS,
// KVM_SET_DEBUGREGS and KVM_SET_XCRS refuse (x86's architectural rules on
// CR0, CR4, EFER, DR6/DR7 and XCR0, and long mode's consistency), checked
// before a state is committed, so that a caller who writes registers hears
// which field is wrong instead of the vCPU failing at its next run.
#pragma once

#include <nvmm.h>

#include <optional>
#include <string>

namespace vmruntime::runtime {

// Why KVM would refuse to run a vCPU from `state`, naming the field, or
// nothing.
std::optional<std::string> unrunnable(const nvmm_x64_state& state);

}  // namespace vmruntime::runtime
