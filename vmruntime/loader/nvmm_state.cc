// SPDX-License-Identifier: BSD-2-Clause
//
// BootState to nvmm_x64_state.  Segment limits are in bytes on both sides,
// so hidden parts copy field by field.
#include "vmruntime/loader/nvmm_state.h"

#include <cstring>

namespace vmruntime::loader {
namespace {

nvmm_x64_state_seg to_nvmm_seg(const Segment& s)
{
    nvmm_x64_state_seg seg{};
    seg.selector = s.selector;
    seg.attrib.type = s.type & 0xF;
    seg.attrib.s = s.s;
    seg.attrib.dpl = s.dpl & 3;
    seg.attrib.p = s.p;
    seg.attrib.l = s.l;
    seg.attrib.def = s.db;
    seg.attrib.g = s.g;
    seg.limit = s.limit;
    seg.base = s.base;
    return seg;
}

}  // namespace

void to_nvmm_state(const BootState& boot, nvmm_x64_state& state)
{
    state.segs[NVMM_X64_SEG_CS] = to_nvmm_seg(boot.cs);
    state.segs[NVMM_X64_SEG_DS] = to_nvmm_seg(boot.ds);
    state.segs[NVMM_X64_SEG_ES] = to_nvmm_seg(boot.es);
    state.segs[NVMM_X64_SEG_FS] = to_nvmm_seg(boot.fs);
    state.segs[NVMM_X64_SEG_GS] = to_nvmm_seg(boot.gs);
    state.segs[NVMM_X64_SEG_SS] = to_nvmm_seg(boot.ss);
    state.segs[NVMM_X64_SEG_TR] = to_nvmm_seg(boot.tr);
    state.segs[NVMM_X64_SEG_GDT].base = boot.gdt_base;
    state.segs[NVMM_X64_SEG_GDT].limit = boot.gdt_limit;

    std::memset(state.gprs, 0, sizeof state.gprs);
    state.gprs[NVMM_X64_GPR_RIP] = boot.rip;
    state.gprs[NVMM_X64_GPR_RSP] = boot.rsp;
    state.gprs[NVMM_X64_GPR_RFLAGS] = boot.rflags;
    state.gprs[NVMM_X64_GPR_RSI] = boot.rsi;
    state.gprs[NVMM_X64_GPR_RBX] = boot.rbx;

    state.crs[NVMM_X64_CR_CR0] = boot.cr0;
    state.crs[NVMM_X64_CR_CR2] = 0;
    state.crs[NVMM_X64_CR_CR3] = boot.cr3;
    state.crs[NVMM_X64_CR_CR4] = boot.cr4;
    state.msrs[NVMM_X64_MSR_EFER] = boot.efer;
}

}  // namespace vmruntime::loader
