// SPDX-License-Identifier: BSD-2-Clause
// I/O assist cases in real mode (snippets in guests/io16.S), with DS and ES
// at GUEST_DATA_GPA.  Ones in bits 31:16 of EDI/ESI and ECX must survive the
// 16-bit string forms.
#include "io_assist.h"

GUEST_SNIPPET(io16_in);
GUEST_EXIT_LABEL(io16_in_b);
GUEST_EXIT_LABEL(io16_in_w);
GUEST_EXIT_LABEL(io16_in_l);
GUEST_EXIT_LABEL(io16_in_dxb);
GUEST_EXIT_LABEL(io16_in_dxw);
GUEST_EXIT_LABEL(io16_in_dxl);
GUEST_SNIPPET(io16_out);
GUEST_EXIT_LABEL(io16_out_b);
GUEST_EXIT_LABEL(io16_out_w);
GUEST_EXIT_LABEL(io16_out_l);
GUEST_EXIT_LABEL(io16_out_dxb);
GUEST_EXIT_LABEL(io16_out_dxw);
GUEST_EXIT_LABEL(io16_out_dxl);
GUEST_EXIT_LABEL(io16_out_2a);
GUEST_EXIT_LABEL(io16_out_2b);
GUEST_SNIPPET(io16_ins);
GUEST_EXIT_LABEL(io16_ins_b);
GUEST_EXIT_LABEL(io16_ins_w);
GUEST_EXIT_LABEL(io16_ins_l);
GUEST_EXIT_LABEL(io16_ins_repb);
GUEST_EXIT_LABEL(io16_ins_repw);
GUEST_EXIT_LABEL(io16_ins_repl);
GUEST_EXIT_LABEL(io16_ins_a32);
GUEST_EXIT_LABEL(io16_ins_down);
GUEST_EXIT_LABEL(io16_ins_a32w);
GUEST_SNIPPET(io16_outs);
GUEST_EXIT_LABEL(io16_outs_b);
GUEST_EXIT_LABEL(io16_outs_w);
GUEST_EXIT_LABEL(io16_outs_l);
GUEST_EXIT_LABEL(io16_outs_repb);
GUEST_EXIT_LABEL(io16_outs_repw);
GUEST_EXIT_LABEL(io16_outs_repl);
GUEST_EXIT_LABEL(io16_outs_a32);
GUEST_EXIT_LABEL(io16_outs_down);
GUEST_EXIT_LABEL(io16_outs_fs);
GUEST_EXIT_LABEL(io16_outs_fs1);
GUEST_EXIT_LABEL(io16_outs_2a);
GUEST_EXIT_LABEL(io16_outs_2b);

namespace vmruntime::assist_test {
namespace {

constexpr CpuMode k16 = CpuMode::kReal16;
using enum IoKind;


const IoCase kReal16Cases[] = {
    {"In", GUEST_CODE(io16_in), k16, "123456789ABCDE", "", "", "",
     {{INSN(io16_in_b), kIn, 1, 2, {{kRax, 0xFFFFFF31}}},
      {INSN(io16_in_w), kIn, 2, 2, {{kRax, 0xFFFF3332}}},
      {INSN(io16_in_l), kIn, 4, 2, {{kRax, 0x37363534}}},
      {INSN(io16_in_dxb), kIn, 1, 2, {{kRax, 0xFFFFFF38}}},
      {INSN(io16_in_dxw), kIn, 2, 2, {{kRax, 0xFFFF4139}}},
      {INSN(io16_in_dxl), kIn, 4, 2, {{kRax, 0x45444342}}}}},
    {"Out", GUEST_CODE(io16_out), k16, "", "AABABCDAABABCDAA", "", "",
     {{INSN(io16_out_b), kOut, 1, 2, {{kRax, 0x44434241}}},
      {INSN(io16_out_w), kOut, 2, 2, {{kRax, 0x44434241}}},
      {INSN(io16_out_l), kOut, 4, 2, {{kRax, 0x44434241}}},
      {INSN(io16_out_dxb), kOut, 1, 2, {{kRax, 0x44434241}}},
      {INSN(io16_out_dxw), kOut, 2, 2, {{kRax, 0x44434241}}},
      {INSN(io16_out_dxl), kOut, 4, 2, {{kRax, 0x44434241}}},
      {INSN(io16_out_2a), kOut, 1, 2, {}, kNoOverride, kNoHlt},
      {INSN(io16_out_2b), kOut, 1, 2, {{kRax, 0x44434241}}}}},
    {"Ins", GUEST_CODE(io16_ins), k16, kIoBytes + "wx", "", "", kIoMoved + "wx",
     {{INSN(io16_ins_b), kIns, 1, 2, {{kRdi, 0xFFFF0001}}},
      {INSN(io16_ins_w), kIns, 2, 2, {{kRdi, 0xFFFF0003}}},
      {INSN(io16_ins_l), kIns, 4, 2, {{kRdi, 0xFFFF0007}}},
      {INSN(io16_ins_repb), kRepIns, 1, 2, {{kRdi, 0xFFFF000C}, {kRcx, 0xFFFF0000}}},
      {INSN(io16_ins_repw), kRepIns, 2, 2, {{kRdi, 0xFFFF0012}, {kRcx, 0xFFFF0000}}},
      {INSN(io16_ins_repl), kRepIns, 4, 2, {{kRdi, 0xFFFF001A}, {kRcx, 0xFFFF0000}}},
      {INSN(io16_ins_a32), kRepIns, 1, 4, {{kRdi, 28}, {kRcx, 0}}},
      {INSN(io16_ins_down), kRepIns, 2, 2, {{kRdi, 26}, {kRcx, 0}}},
      {INSN(io16_ins_a32w), kIns, 2, 4, {{kRdi, 34}}}}},
    {"Outs", GUEST_CODE(io16_outs), k16, "", kIoMoved + "wxyz!",
     kIoBytes + "wxyz!", kIoBytes + "wxyz!",
     {{INSN(io16_outs_b), kOuts, 1, 2, {{kRsi, 0xFFFF0001}}},
      {INSN(io16_outs_w), kOuts, 2, 2, {{kRsi, 0xFFFF0003}}},
      {INSN(io16_outs_l), kOuts, 4, 2, {{kRsi, 0xFFFF0007}}},
      {INSN(io16_outs_repb), kRepOuts, 1, 2, {{kRsi, 0xFFFF000C}, {kRcx, 0xFFFF0000}}},
      {INSN(io16_outs_repw), kRepOuts, 2, 2, {{kRsi, 0xFFFF0012}, {kRcx, 0xFFFF0000}}},
      {INSN(io16_outs_repl), kRepOuts, 4, 2, {{kRsi, 0xFFFF001A}, {kRcx, 0xFFFF0000}}},
      {INSN(io16_outs_a32), kRepOuts, 1, 4, {{kRsi, 28}, {kRcx, 0}}},
      {INSN(io16_outs_down), kRepOuts, 2, 2, {{kRsi, 26}, {kRcx, 0}}},
      {INSN(io16_outs_fs), kRepOuts, 1, 2, {{kRsi, 2}, {kRcx, 0}}, NVMM_X64_SEG_FS},
      {INSN(io16_outs_fs1), kOuts, 1, 2, {{kRsi, 3}}, NVMM_X64_SEG_FS},
      {INSN(io16_outs_2a), kOuts, 1, 2, {}, NVMM_X64_SEG_FS, kNoHlt},
      {INSN(io16_outs_2b), kOuts, 1, 2, {{kRsi, 5}}, NVMM_X64_SEG_FS}}},
};

INSTANTIATE_TEST_SUITE_P(Real16, IoAssistTest,
                         ::testing::Combine(::testing::ValuesIn(kReal16Cases),
                                            ::testing::ValuesIn(kIoPaths)),
                         io_param_name);

}  // namespace
}  // namespace vmruntime::assist_test
