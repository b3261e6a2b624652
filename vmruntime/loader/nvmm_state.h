// SPDX-License-Identifier: BSD-2-Clause
//
// BootState to NVMM vCPU state (<nvmm.h>, struct nvmm_x64_state).
#pragma once

#include <nvmm.h>

#include "vmruntime/loader/boot_state.h"

namespace vmruntime::loader {

// The state areas to_nvmm_state writes, for nvmm_vcpu_setstate().
inline constexpr uint64_t kBootStateAreas =
    NVMM_X64_STATE_SEGS | NVMM_X64_STATE_GPRS | NVMM_X64_STATE_CRS | NVMM_X64_STATE_MSRS;

// Overwrites in `state` what `boot` decides: CS, DS, ES, FS, GS, SS, TR and
// the GDT; every GPR (those not in `boot` become 0); CR0, CR2, CR3, CR4;
// EFER.  The rest (IDT, LDT, CR8, XCR0, DRs, other MSRs, FPU) keeps what the
// caller read, normally the vCPU's reset state from nvmm_vcpu_getstate().
void to_nvmm_state(const BootState& boot, nvmm_x64_state& state);

}  // namespace vmruntime::loader
