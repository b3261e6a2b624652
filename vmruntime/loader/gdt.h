// SPDX-License-Identifier: BSD-2-Clause
//
// The loader's boot GDT at kGdtGpa and the hidden segment state that matches
// it.  Hidden state and table are built from the same Segment values, so an
// interrupt or IRET that reloads CS or SS from the table finds what the vCPU
// was started with.
#pragma once

#include <cstdint>
#include <span>

#include "vmruntime/loader/boot_state.h"

namespace vmruntime::loader {

// Flat 4 GiB segments: kBootCodeSelector is 64-bit code in Long64 mode and
// 32-bit code otherwise; kBootDataSelector is 32-bit read/write data.
Segment flat_code_segment(Mode mode);
Segment flat_data_segment();
// A real-mode segment register holding `selector` (base = selector * 16).
Segment real_mode_segment(uint16_t selector, bool code);
// The TR that VM entry accepts in every mode: a busy 32/64-bit TSS.
Segment boot_task_register();

// The 8-byte GDT descriptor for a code or data segment.
uint64_t encode_descriptor(const Segment& segment);

// Writes the GDT; `ram` must cover [kGdtGpa, kGdtGpa + kGdtLimit].
void write_gdt(std::span<uint8_t> ram, Mode mode);

}  // namespace vmruntime::loader
