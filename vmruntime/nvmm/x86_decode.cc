// SPDX-License-Identifier: BSD-2-Clause
//
// Opcodes per the Intel SDM vol. 2: E4-E7 (IN/OUT imm8), EC-EF (IN/OUT DX),
// 6C-6F (INS/OUTS).  Prefixes: legacy groups 1-4 in any order, then REX in
// 64-bit code.
#include "x86_decode.h"

#include "nvmm.h"

namespace vmruntime::nvmm {
namespace {

constexpr size_t kMaxInsn = 15;

struct Prefixes {
    bool opsize = false;
    bool addrsize = false;
    bool rep = false;
    int8_t seg = -1;
    size_t count = 0;
};

int8_t segment_prefix(uint8_t b)
{
    switch (b) {
    case 0x26: return NVMM_X64_SEG_ES;
    case 0x2E: return NVMM_X64_SEG_CS;
    case 0x36: return NVMM_X64_SEG_SS;
    case 0x3E: return NVMM_X64_SEG_DS;
    case 0x64: return NVMM_X64_SEG_FS;
    case 0x65: return NVMM_X64_SEG_GS;
    default: return -1;
    }
}

}  // namespace

bool is_legacy_prefix(uint8_t b)
{
    return segment_prefix(b) >= 0 || b == 0x66 || b == 0x67 || b == 0xF0 || b == 0xF2 || b == 0xF3;
}

bool is_prefix(uint8_t b, unsigned mode)
{
    return is_legacy_prefix(b) || (mode == 8 && (b & 0xF0) == 0x40);
}

bool is_out_opcode(uint8_t b, size_t tail)
{
    return tail == 1 ? (b == 0xEE || b == 0xEF || b == 0x6E || b == 0x6F) : (b == 0xE6 || b == 0xE7);
}

namespace {

Prefixes scan_prefixes(const uint8_t* bytes, size_t len, unsigned mode)
{
    Prefixes p;
    for (; p.count < len && p.count < kMaxInsn; p.count++) {
        uint8_t b = bytes[p.count];
        int8_t seg = segment_prefix(b);
        if (seg >= 0) {
            p.seg = seg;
        } else if (b == 0x66) {
            p.opsize = true;
        } else if (b == 0x67) {
            p.addrsize = true;
        } else if (b == 0xF2 || b == 0xF3) {
            p.rep = true;
        } else if (b == 0xF0 || (mode == 8 && (b & 0xF0) == 0x40)) {
            continue;  // LOCK, REX: no effect on port I/O
        } else {
            break;
        }
    }
    return p;
}

uint8_t address_size(unsigned mode, bool prefixed)
{
    if (mode == 8) {
        return prefixed ? 4 : 8;
    }
    if (mode == 4) {
        return prefixed ? 2 : 4;
    }
    return prefixed ? 4 : 2;
}

uint8_t operand_size(unsigned mode, bool prefixed)
{
    bool wide16 = (mode == 2) != prefixed;  // 0x66 flips 16 <-> 32
    return wide16 ? 2 : 4;
}

}  // namespace

bool decode_io(const uint8_t* bytes, size_t len, unsigned mode, IoInsn* out)
{
    Prefixes p = scan_prefixes(bytes, len, mode);
    if (p.count >= len || p.count >= kMaxInsn) {
        return false;
    }
    uint8_t op = bytes[p.count];
    IoInsn insn;
    insn.length = static_cast<uint8_t>(p.count + 1);
    if (op >= 0xE4 && op <= 0xE7) {
        if (insn.length >= len) {
            return false;
        }
        insn.imm_port = bytes[insn.length++];
    } else if (op >= 0xEC && op <= 0xEF) {
        insn.dx_port = true;
    } else if (op >= 0x6C && op <= 0x6F) {
        insn.dx_port = true;
        insn.str = true;
        insn.rep = p.rep;
    } else {
        return false;
    }
    // Bit 0 clear is the byte form; bit 1 set is the output direction.
    insn.in = !(op & 2);
    insn.operand_size = (op & 1) ? operand_size(mode, p.opsize) : 1;
    insn.address_size = address_size(mode, p.addrsize);
    if (insn.str) {
        insn.seg = insn.in ? NVMM_X64_SEG_ES : (p.seg >= 0 ? p.seg : NVMM_X64_SEG_DS);
    }
    if (insn.length > kMaxInsn) {
        return false;
    }
    *out = insn;
    return true;
}

uint8_t msr_insn_length(const uint8_t* bytes, size_t len, unsigned mode, bool write)
{
    Prefixes p = scan_prefixes(bytes, len, mode);
    if (p.count + 2 > len || p.count + 2 > kMaxInsn) {
        return 0;
    }
    if (bytes[p.count] != 0x0F || bytes[p.count + 1] != (write ? 0x30 : 0x32)) {
        return 0;
    }
    return static_cast<uint8_t>(p.count + 2);
}

bool decode_rep_string(const uint8_t* bytes, size_t len, unsigned mode, RepString* out)
{
    Prefixes p = scan_prefixes(bytes, len, mode);
    if (!p.rep || p.count >= len || p.count >= kMaxInsn) {
        return false;
    }
    uint8_t op = bytes[p.count];
    bool string_op = (op >= 0x6C && op <= 0x6F) || (op >= 0xA4 && op <= 0xA7) || (op >= 0xAA && op <= 0xAF);
    if (!string_op) {
        return false;
    }
    out->length = static_cast<uint8_t>(p.count + 1);
    out->address_size = address_size(mode, p.addrsize);
    return true;
}

}  // namespace vmruntime::nvmm
