// SPDX-License-Identifier: BSD-2-Clause
// I/O assist cases in 32-bit protected mode (snippets in guests/io32.S):
// flat segments; the string snippets load DS or ES with GUEST_SEL_DATAHI
// (base GUEST_DATA_GPA), so their offsets count from the buffer.
#include "io_assist.h"

GUEST_SNIPPET(io32_in);
GUEST_EXIT_LABEL(io32_in_b);
GUEST_EXIT_LABEL(io32_in_w);
GUEST_EXIT_LABEL(io32_in_l);
GUEST_EXIT_LABEL(io32_in_dxb);
GUEST_EXIT_LABEL(io32_in_dxw);
GUEST_EXIT_LABEL(io32_in_dxl);
GUEST_SNIPPET(io32_out);
GUEST_EXIT_LABEL(io32_out_b);
GUEST_EXIT_LABEL(io32_out_w);
GUEST_EXIT_LABEL(io32_out_l);
GUEST_EXIT_LABEL(io32_out_dxb);
GUEST_EXIT_LABEL(io32_out_dxw);
GUEST_EXIT_LABEL(io32_out_dxl);
GUEST_EXIT_LABEL(io32_out_2a);
GUEST_EXIT_LABEL(io32_out_2b);
GUEST_SNIPPET(io32_ins);
GUEST_EXIT_LABEL(io32_ins_b);
GUEST_EXIT_LABEL(io32_ins_w);
GUEST_EXIT_LABEL(io32_ins_l);
GUEST_EXIT_LABEL(io32_ins_repb);
GUEST_EXIT_LABEL(io32_ins_repw);
GUEST_EXIT_LABEL(io32_ins_repl);
GUEST_EXIT_LABEL(io32_ins_a16);
GUEST_EXIT_LABEL(io32_ins_down);
GUEST_EXIT_LABEL(io32_ins_a16w);
GUEST_SNIPPET(io32_outs);
GUEST_EXIT_LABEL(io32_outs_b);
GUEST_EXIT_LABEL(io32_outs_w);
GUEST_EXIT_LABEL(io32_outs_l);
GUEST_EXIT_LABEL(io32_outs_repb);
GUEST_EXIT_LABEL(io32_outs_repw);
GUEST_EXIT_LABEL(io32_outs_repl);
GUEST_EXIT_LABEL(io32_outs_a16);
GUEST_EXIT_LABEL(io32_outs_down);
GUEST_EXIT_LABEL(io32_outs_a16w);
GUEST_EXIT_LABEL(io32_outs_2a);
GUEST_EXIT_LABEL(io32_outs_2b);

namespace vmruntime::assist_test {
namespace {

constexpr CpuMode k32 = CpuMode::kProt32;
using enum IoKind;


const IoCase kProt32Cases[] = {
    {"In", GUEST_CODE(io32_in), k32, "123456789ABCDE", "", "", "",
     {{INSN(io32_in_b), kIn, 1, 4, {{kRax, 0xFFFFFF31}}},
      {INSN(io32_in_w), kIn, 2, 4, {{kRax, 0xFFFF3332}}},
      {INSN(io32_in_l), kIn, 4, 4, {{kRax, 0x37363534}}},
      {INSN(io32_in_dxb), kIn, 1, 4, {{kRax, 0xFFFFFF38}}},
      {INSN(io32_in_dxw), kIn, 2, 4, {{kRax, 0xFFFF4139}}},
      {INSN(io32_in_dxl), kIn, 4, 4, {{kRax, 0x45444342}}}}},
    {"Out", GUEST_CODE(io32_out), k32, "", "AABABCDAABABCDAA", "", "",
     {{INSN(io32_out_b), kOut, 1, 4, {{kRax, 0x44434241}}},
      {INSN(io32_out_w), kOut, 2, 4, {{kRax, 0x44434241}}},
      {INSN(io32_out_l), kOut, 4, 4, {{kRax, 0x44434241}}},
      {INSN(io32_out_dxb), kOut, 1, 4, {{kRax, 0x44434241}}},
      {INSN(io32_out_dxw), kOut, 2, 4, {{kRax, 0x44434241}}},
      {INSN(io32_out_dxl), kOut, 4, 4, {{kRax, 0x44434241}}},
      {INSN(io32_out_2a), kOut, 1, 4, {}, kNoOverride, kNoHlt},
      {INSN(io32_out_2b), kOut, 1, 4, {{kRax, 0x44434241}}}}},
    {"Ins", GUEST_CODE(io32_ins), k32, kIoBytes + "wx", "", "", kIoMoved + "wx",
     {{INSN(io32_ins_b), kIns, 1, 4, {{kRdi, 1}}},
      {INSN(io32_ins_w), kIns, 2, 4, {{kRdi, 3}}},
      {INSN(io32_ins_l), kIns, 4, 4, {{kRdi, 7}}},
      {INSN(io32_ins_repb), kRepIns, 1, 4, {{kRdi, 12}, {kRcx, 0}}},
      {INSN(io32_ins_repw), kRepIns, 2, 4, {{kRdi, 18}, {kRcx, 0}}},
      {INSN(io32_ins_repl), kRepIns, 4, 4, {{kRdi, 26}, {kRcx, 0}}},
      {INSN(io32_ins_a16), kRepIns, 1, 2, {{kRdi, 0xFFFF001C}, {kRcx, 0xFFFF0000}}},
      {INSN(io32_ins_down), kRepIns, 2, 4, {{kRdi, 26}, {kRcx, 0}}},
      {INSN(io32_ins_a16w), kIns, 2, 2, {{kRdi, 0xFFFF0022}}}}},
    {"Outs", GUEST_CODE(io32_outs), k32, "", kIoMoved + "wxyz",
     kIoBytes + "wxyz", kIoBytes + "wxyz",
     {{INSN(io32_outs_b), kOuts, 1, 4, {{kRsi, 1}}},
      {INSN(io32_outs_w), kOuts, 2, 4, {{kRsi, 3}}},
      {INSN(io32_outs_l), kOuts, 4, 4, {{kRsi, 7}}},
      {INSN(io32_outs_repb), kRepOuts, 1, 4, {{kRsi, 12}, {kRcx, 0}}},
      {INSN(io32_outs_repw), kRepOuts, 2, 4, {{kRsi, 18}, {kRcx, 0}}},
      {INSN(io32_outs_repl), kRepOuts, 4, 4, {{kRsi, 26}, {kRcx, 0}}},
      {INSN(io32_outs_a16), kRepOuts, 1, 2, {{kRsi, 0xFFFF001C}, {kRcx, 0xFFFF0000}}},
      {INSN(io32_outs_down), kRepOuts, 2, 4, {{kRsi, 26}, {kRcx, 0}}},
      {INSN(io32_outs_a16w), kOuts, 2, 2, {{kRsi, 0xFFFF0022}}},
      {INSN(io32_outs_2a), kOuts, 1, 4, {}, kNoOverride, kNoHlt},
      {INSN(io32_outs_2b), kOuts, 1, 4, {{kRsi, 0x24}}}}},
};

INSTANTIATE_TEST_SUITE_P(Prot32, IoAssistTest,
                         ::testing::Combine(::testing::ValuesIn(kProt32Cases),
                                            ::testing::ValuesIn(kIoPaths)),
                         io_param_name);

}  // namespace
}  // namespace vmruntime::assist_test
