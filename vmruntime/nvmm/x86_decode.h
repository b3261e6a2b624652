// SPDX-License-Identifier: BSD-2-Clause
//
// Decoding of the x86 port-I/O instructions (IN, OUT, INS, OUTS), enough to
// fill NVMM's IO exit: KVM reports the port access but neither the length
// of the instruction nor its string/REP form.
#pragma once

#include <cstddef>
#include <cstdint>

namespace vmruntime::nvmm {

struct IoInsn {
    uint8_t length = 0;
    bool in = false;
    bool str = false;
    bool rep = false;
    bool dx_port = false;      // port in DX, else imm8
    uint8_t imm_port = 0;
    int8_t seg = -1;           // NVMM_X64_SEG_*, string forms only
    uint8_t address_size = 0;  // 2, 4, 8
    uint8_t operand_size = 0;  // 1, 2, 4
};

// `mode` is the code size: 2, 4 or 8 bytes.  False if `bytes` does not start
// with a complete port-I/O instruction.
bool decode_io(const uint8_t* bytes, size_t len, unsigned mode, IoInsn* out);

// Whether `b` is an OUT/OUTS opcode whose instruction ends `tail` bytes
// after it (1: EE, EF, 6E, 6F; 2: E6, E7 followed by imm8).
bool is_out_opcode(uint8_t b, size_t tail);
// Whether `b` is a prefix byte in code of size `mode`; legacy: not REX.
bool is_prefix(uint8_t b, unsigned mode);
bool is_legacy_prefix(uint8_t b);

struct RepString {
    uint8_t length = 0;
    uint8_t address_size = 0;
};

// A REP/REPNE-prefixed string instruction (INS, OUTS, MOVS, CMPS, STOS,
// LODS, SCAS) at `bytes`: its length and address size.
bool decode_rep_string(const uint8_t* bytes, size_t len, unsigned mode, RepString* out);

// Length of the RDMSR (0F 32) or WRMSR (0F 30) at `bytes`, or 0.
uint8_t msr_insn_length(const uint8_t* bytes, size_t len, unsigned mode, bool write);

}  // namespace vmruntime::nvmm
