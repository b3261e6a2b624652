// SPDX-License-Identifier: BSD-2-Clause
// I/O assist cases in 64-bit long mode (snippets in guests/io64.S).
#include "io_assist.h"

GUEST_SNIPPET(io64_in);
GUEST_EXIT_LABEL(io64_in_b);
GUEST_EXIT_LABEL(io64_in_w);
GUEST_EXIT_LABEL(io64_in_l);
GUEST_EXIT_LABEL(io64_in_dxb);
GUEST_EXIT_LABEL(io64_in_dxw);
GUEST_EXIT_LABEL(io64_in_dxl);
GUEST_SNIPPET(io64_out);
GUEST_EXIT_LABEL(io64_out_b);
GUEST_EXIT_LABEL(io64_out_w);
GUEST_EXIT_LABEL(io64_out_l);
GUEST_EXIT_LABEL(io64_out_dxb);
GUEST_EXIT_LABEL(io64_out_dxw);
GUEST_EXIT_LABEL(io64_out_dxl);
GUEST_EXIT_LABEL(io64_out_2a);
GUEST_EXIT_LABEL(io64_out_2b);
GUEST_SNIPPET(io64_ins);
GUEST_EXIT_LABEL(io64_ins_b);
GUEST_EXIT_LABEL(io64_ins_w);
GUEST_EXIT_LABEL(io64_ins_l);
GUEST_EXIT_LABEL(io64_ins_repb);
GUEST_EXIT_LABEL(io64_ins_repw);
GUEST_EXIT_LABEL(io64_ins_repl);
GUEST_EXIT_LABEL(io64_ins_a32);
GUEST_EXIT_LABEL(io64_ins_down);
GUEST_EXIT_LABEL(io64_ins_a32w);
GUEST_SNIPPET(io64_outs);
GUEST_EXIT_LABEL(io64_outs_b);
GUEST_EXIT_LABEL(io64_outs_w);
GUEST_EXIT_LABEL(io64_outs_l);
GUEST_EXIT_LABEL(io64_outs_repb);
GUEST_EXIT_LABEL(io64_outs_repw);
GUEST_EXIT_LABEL(io64_outs_repl);
GUEST_EXIT_LABEL(io64_outs_a32);
GUEST_EXIT_LABEL(io64_outs_down);
GUEST_EXIT_LABEL(io64_outs_a32w);
GUEST_EXIT_LABEL(io64_outs_2a);
GUEST_EXIT_LABEL(io64_outs_2b);

namespace vmruntime::assist_test {
namespace {

constexpr uint64_t kData = GUEST_DATA_GPA;
constexpr CpuMode k64 = CpuMode::kLong64;
using enum IoKind;


const IoCase kLong64Cases[] = {
    {"In", GUEST_CODE(io64_in), k64, "123456789ABCDE", "", "", "",
     {{INSN(io64_in_b), kIn, 1, 8, {{kRax, 0xFFFFFFFFFFFFFF31}}},
      {INSN(io64_in_w), kIn, 2, 8, {{kRax, 0xFFFFFFFFFFFF3332}}},
      {INSN(io64_in_l), kIn, 4, 8, {{kRax, 0x37363534}}},
      {INSN(io64_in_dxb), kIn, 1, 8, {{kRax, 0xFFFFFFFFFFFFFF38}}},
      {INSN(io64_in_dxw), kIn, 2, 8, {{kRax, 0xFFFFFFFFFFFF4139}}},
      {INSN(io64_in_dxl), kIn, 4, 8, {{kRax, 0x45444342}}}}},
    {"Out", GUEST_CODE(io64_out), k64, "", "AABABCDAABABCDAA", "", "",
     {{INSN(io64_out_b), kOut, 1, 8, {{kRax, 0x44434241}}},
      {INSN(io64_out_w), kOut, 2, 8, {{kRax, 0x44434241}}},
      {INSN(io64_out_l), kOut, 4, 8, {{kRax, 0x44434241}}},
      {INSN(io64_out_dxb), kOut, 1, 8, {{kRax, 0x44434241}}},
      {INSN(io64_out_dxw), kOut, 2, 8, {{kRax, 0x44434241}}},
      {INSN(io64_out_dxl), kOut, 4, 8, {{kRax, 0x44434241}}},
      {INSN(io64_out_2a), kOut, 1, 8, {}, kNoOverride, kNoHlt},
      {INSN(io64_out_2b), kOut, 1, 8, {{kRax, 0x44434241}}}}},
    {"Ins", GUEST_CODE(io64_ins), k64, kIoBytes + "wx", "", "", kIoMoved + "wx",
     {{INSN(io64_ins_b), kIns, 1, 8, {{kRdi, kData + 1}}},
      {INSN(io64_ins_w), kIns, 2, 8, {{kRdi, kData + 3}}},
      {INSN(io64_ins_l), kIns, 4, 8, {{kRdi, kData + 7}}},
      {INSN(io64_ins_repb), kRepIns, 1, 8, {{kRdi, kData + 12}, {kRcx, 0}}},
      {INSN(io64_ins_repw), kRepIns, 2, 8, {{kRdi, kData + 18}, {kRcx, 0}}},
      {INSN(io64_ins_repl), kRepIns, 4, 8, {{kRdi, kData + 26}, {kRcx, 0}}},
      {INSN(io64_ins_a32), kRepIns, 1, 4, {{kRdi, kData + 28}, {kRcx, 0}}},
      {INSN(io64_ins_down), kRepIns, 2, 8, {{kRdi, kData + 26}, {kRcx, 0}}},
      {INSN(io64_ins_a32w), kIns, 2, 4, {{kRdi, kData + 34}}}}},
    {"Outs", GUEST_CODE(io64_outs), k64, "", kIoMoved + "wxyz",
     kIoBytes + "wxyz", kIoBytes + "wxyz",
     {{INSN(io64_outs_b), kOuts, 1, 8, {{kRsi, kData + 1}}},
      {INSN(io64_outs_w), kOuts, 2, 8, {{kRsi, kData + 3}}},
      {INSN(io64_outs_l), kOuts, 4, 8, {{kRsi, kData + 7}}},
      {INSN(io64_outs_repb), kRepOuts, 1, 8, {{kRsi, kData + 12}, {kRcx, 0}}},
      {INSN(io64_outs_repw), kRepOuts, 2, 8, {{kRsi, kData + 18}, {kRcx, 0}}},
      {INSN(io64_outs_repl), kRepOuts, 4, 8, {{kRsi, kData + 26}, {kRcx, 0}}},
      {INSN(io64_outs_a32), kRepOuts, 1, 4, {{kRsi, kData + 28}, {kRcx, 0}}},
      {INSN(io64_outs_down), kRepOuts, 2, 8, {{kRsi, kData + 26}, {kRcx, 0}}},
      {INSN(io64_outs_a32w), kOuts, 2, 4, {{kRsi, kData + 34}}},
      {INSN(io64_outs_2a), kOuts, 1, 8, {}, kNoOverride, kNoHlt},
      {INSN(io64_outs_2b), kOuts, 1, 8, {{kRsi, kData + 36}}}}},
};

INSTANTIATE_TEST_SUITE_P(Long64, IoAssistTest,
                         ::testing::Combine(::testing::ValuesIn(kLong64Cases),
                                            ::testing::ValuesIn(kIoPaths)),
                         io_param_name);

}  // namespace
}  // namespace vmruntime::assist_test
