// SPDX-License-Identifier: BSD-2-Clause
//
// Register layouts: NVMM orders GPRs and segments by their hardware encoding
// (RAX, RCX, RDX, RBX...; ES, CS, SS, DS...), KVM by name.  Segment limits
// are the expanded byte limits in both.
#include "vcpu_state.h"

#include "kvm.h"

#include <sys/ioctl.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <initializer_list>

namespace vmruntime::nvmm::state {
namespace {

constexpr uint64_t kXfeatureX87 = 1ULL << 0;
constexpr uint64_t kXfeatureSse = 1ULL << 1;
constexpr uint64_t kXfeatureYmm = 1ULL << 2;

constexpr uint32_t kMsrTsc = 0x10;
constexpr uint32_t kMsrSysenterCs = 0x174;
constexpr uint32_t kMsrSysenterEsp = 0x175;
constexpr uint32_t kMsrSysenterEip = 0x176;
constexpr uint32_t kMsrPat = 0x277;
constexpr uint32_t kMsrStar = 0xC0000081;
constexpr uint32_t kMsrLstar = 0xC0000082;
constexpr uint32_t kMsrCstar = 0xC0000083;
constexpr uint32_t kMsrSfmask = 0xC0000084;
constexpr uint32_t kMsrKernelGsBase = 0xC0000102;

// NVMM_X64_MSR_* index -> MSR number; EFER (index 0) travels in kvm_sregs.
constexpr uint32_t kMsrIndex[NVMM_X64_NMSR] = {
    0,           kMsrStar,        kMsrLstar,       kMsrCstar,       kMsrSfmask, kMsrKernelGsBase,
    kMsrSysenterCs, kMsrSysenterEsp, kMsrSysenterEip, kMsrPat,      kMsrTsc,
};
constexpr unsigned kIoctlMsrs = NVMM_X64_NMSR - 1;

using MsrList = kvm::FlexList<kvm_msr_entry, kIoctlMsrs>;

void seg_from_kvm(const kvm_segment& k, nvmm_x64_state_seg& s)
{
    s.selector = k.selector;
    s.base = k.base;
    s.limit = k.limit;
    s.attrib.type = k.type & 0xF;
    s.attrib.s = k.s;
    s.attrib.dpl = k.dpl & 3;
    s.attrib.p = k.present;
    s.attrib.avl = k.avl;
    s.attrib.l = k.l;
    s.attrib.def = k.db;
    s.attrib.g = k.g;
    s.attrib.rsvd = 0;
}

void seg_to_kvm(const nvmm_x64_state_seg& s, kvm_segment& k)
{
    k.selector = s.selector;
    k.base = s.base;
    k.limit = s.limit;
    k.type = s.attrib.type;
    k.s = s.attrib.s;
    k.dpl = s.attrib.dpl;
    k.present = s.attrib.p;
    k.avl = s.attrib.avl;
    k.l = s.attrib.l;
    k.db = s.attrib.def;
    k.g = s.attrib.g;
    // VMX's "unusable" is NVMM's not-present, as NetBSD's VMX backend has it.
    k.unusable = !s.attrib.p;
}

}  // namespace

void gprs_from_kvm(const kvm_regs& k, uint64_t* g)
{
    g[NVMM_X64_GPR_RAX] = k.rax;
    g[NVMM_X64_GPR_RCX] = k.rcx;
    g[NVMM_X64_GPR_RDX] = k.rdx;
    g[NVMM_X64_GPR_RBX] = k.rbx;
    g[NVMM_X64_GPR_RSP] = k.rsp;
    g[NVMM_X64_GPR_RBP] = k.rbp;
    g[NVMM_X64_GPR_RSI] = k.rsi;
    g[NVMM_X64_GPR_RDI] = k.rdi;
    g[NVMM_X64_GPR_R8] = k.r8;
    g[NVMM_X64_GPR_R9] = k.r9;
    g[NVMM_X64_GPR_R10] = k.r10;
    g[NVMM_X64_GPR_R11] = k.r11;
    g[NVMM_X64_GPR_R12] = k.r12;
    g[NVMM_X64_GPR_R13] = k.r13;
    g[NVMM_X64_GPR_R14] = k.r14;
    g[NVMM_X64_GPR_R15] = k.r15;
    g[NVMM_X64_GPR_RIP] = k.rip;
    g[NVMM_X64_GPR_RFLAGS] = k.rflags;
}

void gprs_to_kvm(const uint64_t* g, kvm_regs& k)
{
    k.rax = g[NVMM_X64_GPR_RAX];
    k.rcx = g[NVMM_X64_GPR_RCX];
    k.rdx = g[NVMM_X64_GPR_RDX];
    k.rbx = g[NVMM_X64_GPR_RBX];
    k.rsp = g[NVMM_X64_GPR_RSP];
    k.rbp = g[NVMM_X64_GPR_RBP];
    k.rsi = g[NVMM_X64_GPR_RSI];
    k.rdi = g[NVMM_X64_GPR_RDI];
    k.r8 = g[NVMM_X64_GPR_R8];
    k.r9 = g[NVMM_X64_GPR_R9];
    k.r10 = g[NVMM_X64_GPR_R10];
    k.r11 = g[NVMM_X64_GPR_R11];
    k.r12 = g[NVMM_X64_GPR_R12];
    k.r13 = g[NVMM_X64_GPR_R13];
    k.r14 = g[NVMM_X64_GPR_R14];
    k.r15 = g[NVMM_X64_GPR_R15];
    k.rip = g[NVMM_X64_GPR_RIP];
    k.rflags = g[NVMM_X64_GPR_RFLAGS];
}

void segs_from_kvm(const kvm_sregs& k, nvmm_x64_state_seg* s)
{
    seg_from_kvm(k.es, s[NVMM_X64_SEG_ES]);
    seg_from_kvm(k.cs, s[NVMM_X64_SEG_CS]);
    seg_from_kvm(k.ss, s[NVMM_X64_SEG_SS]);
    seg_from_kvm(k.ds, s[NVMM_X64_SEG_DS]);
    seg_from_kvm(k.fs, s[NVMM_X64_SEG_FS]);
    seg_from_kvm(k.gs, s[NVMM_X64_SEG_GS]);
    seg_from_kvm(k.ldt, s[NVMM_X64_SEG_LDT]);
    seg_from_kvm(k.tr, s[NVMM_X64_SEG_TR]);
    s[NVMM_X64_SEG_GDT].selector = 0;
    s[NVMM_X64_SEG_GDT].base = k.gdt.base;
    s[NVMM_X64_SEG_GDT].limit = k.gdt.limit;
    s[NVMM_X64_SEG_IDT].selector = 0;
    s[NVMM_X64_SEG_IDT].base = k.idt.base;
    s[NVMM_X64_SEG_IDT].limit = k.idt.limit;
}

void segs_to_kvm(const nvmm_x64_state_seg* s, kvm_sregs& k)
{
    seg_to_kvm(s[NVMM_X64_SEG_ES], k.es);
    seg_to_kvm(s[NVMM_X64_SEG_CS], k.cs);
    seg_to_kvm(s[NVMM_X64_SEG_SS], k.ss);
    seg_to_kvm(s[NVMM_X64_SEG_DS], k.ds);
    seg_to_kvm(s[NVMM_X64_SEG_FS], k.fs);
    seg_to_kvm(s[NVMM_X64_SEG_GS], k.gs);
    seg_to_kvm(s[NVMM_X64_SEG_LDT], k.ldt);
    seg_to_kvm(s[NVMM_X64_SEG_TR], k.tr);
    k.gdt.base = s[NVMM_X64_SEG_GDT].base;
    k.gdt.limit = static_cast<uint16_t>(s[NVMM_X64_SEG_GDT].limit);
    k.idt.base = s[NVMM_X64_SEG_IDT].base;
    k.idt.limit = static_cast<uint16_t>(s[NVMM_X64_SEG_IDT].limit);
}

void crs_from_kvm(const kvm_sregs& k, uint64_t cr8, uint64_t* c)
{
    c[NVMM_X64_CR_CR0] = k.cr0;
    c[NVMM_X64_CR_CR2] = k.cr2;
    c[NVMM_X64_CR_CR3] = k.cr3;
    c[NVMM_X64_CR_CR4] = k.cr4;
    c[NVMM_X64_CR_CR8] = cr8;
}

void crs_to_kvm(const uint64_t* c, kvm_sregs& k)
{
    k.cr0 = c[NVMM_X64_CR_CR0];
    k.cr2 = c[NVMM_X64_CR_CR2];
    k.cr3 = c[NVMM_X64_CR_CR3];
    k.cr4 = c[NVMM_X64_CR_CR4];
    k.cr8 = c[NVMM_X64_CR_CR8];
}

int get_drs(int fd, uint64_t* drs)
{
    kvm_debugregs d = {};
    if (ioctl(fd, KVM_GET_DEBUGREGS, &d) == -1) {
        return -1;
    }
    for (int i = 0; i < 4; i++) {
        drs[NVMM_X64_DR_DR0 + i] = d.db[i];
    }
    drs[NVMM_X64_DR_DR6] = d.dr6;
    drs[NVMM_X64_DR_DR7] = d.dr7;
    return 0;
}

int set_drs(int fd, const uint64_t* drs)
{
    kvm_debugregs d = {};
    for (int i = 0; i < 4; i++) {
        d.db[i] = drs[NVMM_X64_DR_DR0 + i];
    }
    d.dr6 = drs[NVMM_X64_DR_DR6];
    d.dr7 = drs[NVMM_X64_DR_DR7];
    return ioctl(fd, KVM_SET_DEBUGREGS, &d);
}

static void fill_msr_list(MsrList& list, const uint64_t* msrs)
{
    list.count() = kIoctlMsrs;
    for (unsigned i = 0; i < kIoctlMsrs; i++) {
        list.entries()[i].index = kMsrIndex[i + 1];
        list.entries()[i].data = msrs ? msrs[i + 1] : 0;
    }
}

int get_msrs(int fd, uint64_t* msrs)
{
    MsrList list;
    fill_msr_list(list, nullptr);
    int n = ioctl(fd, kvm::kGetMsrs, list.arg());
    if (n == -1) {
        return -1;
    }
    if (n != static_cast<int>(kIoctlMsrs)) {
        errno = EIO;  // KVM stopped at an MSR it does not know
        return -1;
    }
    for (unsigned i = 0; i < kIoctlMsrs; i++) {
        msrs[i + 1] = list.entries()[i].data;
    }
    return 0;
}

int set_msrs(int fd, const uint64_t* msrs)
{
    MsrList list;
    fill_msr_list(list, msrs);
    int n = ioctl(fd, kvm::kSetMsrs, list.arg());
    if (n == -1) {
        return -1;
    }
    if (n != static_cast<int>(kIoctlMsrs)) {
        errno = EINVAL;  // KVM refused a value (e.g. a bad PAT)
        return -1;
    }
    return 0;
}

int get_fpu(int fd, fxsave& fpu)
{
    kvm::XsaveImage image;
    if (kvm::get_xsave(fd, image) == -1) {
        return -1;
    }
    std::memcpy(&fpu, image.bytes(), sizeof(fpu));
    uint64_t present = image.xstate_bv();
    // XSAVE leaves components in their init state out of the image.
    if (!(present & kXfeatureX87)) {
        fpu.fx_cw = 0x37F;
        fpu.fx_sw = 0;
        fpu.fx_tw = 0;
        fpu.fx_opcode = 0;
        fpu.fx_ip.fa_64 = 0;
        fpu.fx_dp.fa_64 = 0;
        std::memset(fpu.fx_87_ac, 0, sizeof(fpu.fx_87_ac));
    }
    if (!(present & kXfeatureSse)) {
        std::memset(fpu.fx_xmm, 0, sizeof(fpu.fx_xmm));
    }
    if (!(present & (kXfeatureSse | kXfeatureYmm))) {
        fpu.fx_mxcsr = 0x1F80;
    }
    fpu.fx_mxcsr_mask = kvm::system().mxcsr_mask;
    std::memset(fpu.fx_rsvd, 0, sizeof(fpu.fx_rsvd));
    std::memset(fpu.fx_kernel, 0, sizeof(fpu.fx_kernel));
    return 0;
}

int set_fpu(int fd, const fxsave& fpu)
{
    // Keep the components past SSE (AVX, PKRU...) as the guest has them.
    kvm::XsaveImage image;
    if (kvm::get_xsave(fd, image) == -1) {
        return -1;
    }
    fxsave legacy = fpu;
    legacy.fx_mxcsr_mask = 0;  // ignored by XRSTOR, reserved here
    std::memcpy(image.bytes(), &legacy, offsetof(fxsave, fx_rsvd));
    image.set_xstate_bv(image.xstate_bv() | kXfeatureX87 | kXfeatureSse);
    return kvm::set_xsave(fd, image);
}

void fix_up(nvmm_x64_state& s, uint64_t flags)
{
    constexpr uint64_t kLow32 = 0xFFFFFFFF;
    constexpr uint64_t kCr0Et = 1ULL << 4, kCr0Nw = 1ULL << 29, kCr0Cd = 1ULL << 30;
    constexpr uint64_t kCr8Tpr = 0xF;
    // The CR4 bits NetBSD's kernel keeps; KVM refuses those of features the
    // VCPU's CPUID lacks, as a VM entry does on NetBSD.
    constexpr uint64_t kNvmmCr4 = 0x00370FFF;
    // FXSAVE's MXCSR_MASK of 0 stands for the mask of CPUs without DAZ.
    constexpr uint32_t kDefaultMxcsrMask = 0xFFBF;
    if (flags & NVMM_X64_STATE_CRS) {
        uint64_t& cr0 = s.crs[NVMM_X64_CR_CR0];
        cr0 = (cr0 & kLow32) | kCr0Et;
        if (!(cr0 & kCr0Cd)) {
            cr0 &= ~kCr0Nw;
        }
        s.crs[NVMM_X64_CR_CR4] &= kNvmmCr4;
        s.crs[NVMM_X64_CR_CR8] &= kCr8Tpr;
        s.crs[NVMM_X64_CR_XCR0] = (s.crs[NVMM_X64_CR_XCR0] & kvm::system().xcr0_mask) | kXfeatureX87;
    }
    if (flags & NVMM_X64_STATE_DRS) {
        s.drs[NVMM_X64_DR_DR6] &= kLow32;
        s.drs[NVMM_X64_DR_DR7] &= kLow32;
    }
    if (flags & NVMM_X64_STATE_FPU) {
        const uint32_t mask =
            (s.fpu.fx_mxcsr_mask ? s.fpu.fx_mxcsr_mask : kDefaultMxcsrMask) & kvm::system().mxcsr_mask;
        s.fpu.fx_mxcsr &= mask;
    }
}

void reset_state(nvmm_x64_state& s)
{
    std::memset(&s, 0, sizeof(s));
    for (auto& seg : s.segs) {
        seg.limit = 0xFFFF;
        seg.attrib.p = 1;
    }
    for (int i : {NVMM_X64_SEG_ES, NVMM_X64_SEG_SS, NVMM_X64_SEG_DS, NVMM_X64_SEG_FS,
                  NVMM_X64_SEG_GS}) {
        s.segs[i].attrib.type = 3;  // read/write, accessed
        s.segs[i].attrib.s = 1;
    }
    s.segs[NVMM_X64_SEG_CS].selector = 0xF000;
    s.segs[NVMM_X64_SEG_CS].base = 0xFFFF0000;
    s.segs[NVMM_X64_SEG_CS].attrib.type = 0xB;  // execute/read, accessed
    s.segs[NVMM_X64_SEG_CS].attrib.s = 1;
    s.segs[NVMM_X64_SEG_GDT].attrib.type = 2;
    s.segs[NVMM_X64_SEG_IDT].attrib.type = 2;
    s.segs[NVMM_X64_SEG_LDT].attrib.type = 2;  // LDT
    s.segs[NVMM_X64_SEG_TR].attrib.type = 3;   // busy 16-bit TSS

    s.gprs[NVMM_X64_GPR_RIP] = 0xFFF0;
    s.gprs[NVMM_X64_GPR_RFLAGS] = 0x2;
    s.gprs[NVMM_X64_GPR_RDX] = 0x600;
    s.crs[NVMM_X64_CR_CR0] = 0x60000010;  // CD, NW, ET
    s.crs[NVMM_X64_CR_XCR0] = 1;
    s.drs[NVMM_X64_DR_DR6] = 0xFFFF0FF0;
    s.drs[NVMM_X64_DR_DR7] = 0x400;
    s.msrs[NVMM_X64_MSR_PAT] = 0x0007040600070406ULL;
    s.fpu.fx_cw = 0x40;
    s.fpu.fx_tw = 0x55;
    s.fpu.fx_mxcsr = 0x1F80;
}

}  // namespace vmruntime::nvmm::state
