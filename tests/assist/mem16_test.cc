// SPDX-License-Identifier: BSD-2-Clause
// MMIO assist cases in real mode (snippets in guests/mem16.S), the device at
// DS:0 and ES:0.  Registers are compared in their low 32 bits.
#include "mem_assist.h"

GUEST_SNIPPET(mem16_mov_store);
GUEST_SNIPPET(mem16_mov_load);
GUEST_SNIPPET(mem16_mov_imm);
GUEST_SNIPPET(mem16_moffs);
GUEST_SNIPPET(mem16_or);
GUEST_SNIPPET(mem16_and);
GUEST_SNIPPET(mem16_xor);
GUEST_SNIPPET(mem16_sub);
GUEST_SNIPPET(mem16_cmp);
GUEST_SNIPPET(mem16_test);
GUEST_SNIPPET(mem16_xchg);
GUEST_SNIPPET(mem16_movzx);
GUEST_SNIPPET(mem16_movsx);
GUEST_SNIPPET(mem16_stos);
GUEST_SNIPPET(mem16_lods);
GUEST_SNIPPET(mem16_movs);
GUEST_SNIPPET(mem16_cmps);

namespace vmruntime::assist_test {
namespace {

constexpr CpuMode k16 = CpuMode::kReal16;

const MemCase kReal16Cases[] = {
    {"MovStore", GUEST_CODE(mem16_mov_store), k16, {},
     {0x4455667722335A11, 0x4455667700002233, 0x4455667722330011, 0x5A}, {}},
    {"MovLoad", GUEST_CODE(mem16_mov_load), k16, {0x8877665544332211, 0xFFEEDDCCBBAA9988},
     {0x8877665544332211, 0xFFEEDDCCBBAA9988},
     {{kRax, 0xFFFFFF11}, {kRcx, 0xFFFF4433}, {kRdx, 0x88776655}, {kRbx, 0xFFFF22FF},
      {kRbp, 0xFFFFAA99}, {kRsi, 0xFFEEDDCC}, {kRdi, 0xEEDD}}},
    {"MovImm", GUEST_CODE(mem16_mov_imm), k16, {},
     {0x789ABCDE34560012, 0x1234CAFEBABE, 0x56, 0x78}, {}},
    {"Moffs", GUEST_CODE(mem16_moffs), k16, {0, 0, 0xCAFEBABEDEADBEEF},
     {0x0044334400000044, 0x1122334411223344, 0xCAFEBABEDEADBEEF},
     {{kRbx, 0xFFFFFFEF}, {kRcx, 0xFFFFBEEF}, {kRdx, 0xDEADBEEF}, {kRsi, 0xFFFFFFBE},
      {kRax, 0xFFFFBABE}}},
    {"Or", GUEST_CODE(mem16_or), k16, {0x0102030405060708, 0x80000001, 0xF0},
     {0x3102030415060788, 0x8F000001, 0x100FF, 0xFFFFFFF0},
     {{kRbp, flag_trace({0, kSF, kSF | kPF})}, {kRax, 0x8F004001}, {kRdx, 0x0F0000F0}}},
    {"And", GUEST_CODE(mem16_and), k16, {0xFFFFFFFFFFFFFFFF, 0x00FF00FF, 0x1234, 0xF0F0F0F0},
     {0x800000011234FF0F, 0, 0x1200, 0xF0F000F0},
     {{kRbp, flag_trace({kSF, kZF | kPF})}, {kRax, 0x1234}, {kRcx, 0xFFFF1234}}},
    {"Xor", GUEST_CODE(mem16_xor), k16, {0x1111111111111111, 0xA5A5A5A5, 0xFF},
     {0x80000000000011EE, 0x5A5A5A5A, 0x12345688, 0xFFFFFFFF},
     {{kRbp, flag_trace({kZF | kPF, kSF | kPF, kZF | kPF})}, {kRax, 0}}},
    {"Sub", GUEST_CODE(mem16_sub), k16, {0x10, 0x80000000, 0xA0FF, 0x1000A0FF},
     {0xF0, 0x7FFFFFFF, 0x1A000, 0x1000A0EE},
     {{kRbp, flag_trace({kCF | kSF | kPF, kOF | kPF, kCF})}, {kRcx, 0x6001}}},
    {"Cmp", GUEST_CODE(mem16_cmp), k16, {0xF2345678, 0x80}, {0xF2345678, 0x80},
     {{kRbp, flag_trace({kZF | kPF, kCF | kSF | kPF, 0, kOF, kCF | kSF | kOF | kPF, kCF | kSF})},
      {kRdx, flag_trace({kZF | kPF, kCF | kSF | kPF})}}},
    {"Test", GUEST_CODE(mem16_test), k16, {0xA0FF, 0x80000000}, {0xA0FF, 0x80000000},
     {{kRbp, flag_trace({kPF, kZF | kPF, kPF, kSF, kSF | kPF})}}},
    {"Xchg", GUEST_CODE(mem16_xchg), k16, {0x11223344, 0, 0xAAAA, 0x66},
     {0x05060708, 0x12345678, 0xFFBB, 0x55},
     {{kRbx, 0x11223344}, {kRcx, 0xFFFFAAAA}, {kRdx, 0xFFFFFFBB}, {kRbp, 0}, {kRax, 0x6600}}},
    {"Movzx", GUEST_CODE(mem16_movzx), k16, {0x9080F0FE}, {0x9080F0FE},
     {{kRax, 0xFFFF00FE}, {kRbx, 0xF0}, {kRcx, 0x9080}, {kRdx, 0xF0FE}, {kRbp, 0xFFFF0090}}},
    {"Movsx", GUEST_CODE(mem16_movsx), k16, {0x9080F07E}, {0x9080F07E},
     {{kRax, 0xFFFF007E}, {kRbx, 0xFFF0}, {kRcx, 0xFFFFFFF0}, {kRdx, 0xFFFF9080},
      {kRbp, 0x7E}}},
    {"Stos", GUEST_CODE(mem16_stos), k16, {},
     {0x0044332211221111, 0xABABAB, 0x5A5A5A5A, 0x7777000000000000},
     {{kRbx, 0xFFFF001D}, {kRdx, 0xFFFF0000}, {kRdi, 20}, {kRcx, 0}, {kRax, 0x44335A5A}}},
    {"Lods", GUEST_CODE(mem16_lods), k16, {0x8877665544332211, 0xFFEEDDCCBBAA9988},
     {0x8877665544332211, 0xFFEEDDCCBBAA9988},
     {{kRbx, 0xFFFFFF11}, {kRcx, 0xFFFF3322}, {kRdx, 0x77665544}, {kRdi, 0xBBAA9988},
      {kRax, 0xBBAADDCC}, {kRsi, 10}}},
    {"Movs", GUEST_CODE(mem16_movs), k16, {0x8877665544332211, 0xFFEEDDCCBBAA9988},
     {0xFFEEDDCC44332211, 0xFFEEDDCCBBAA9988, 0x8877665544332211, 0x0123456789ABCDEF},
     {{kRsi, 10}, {kRdi, 2}, {kRcx, 0}}},
    {"Cmps", GUEST_CODE(mem16_cmps), k16,
     {0x1122334455667788, 0x80000000, 0x1122FF4455667788, 1},
     {0x1122334455667788, 0x80000000, 0x1122FF4455667788, 1},
     {{kRbp, flag_trace({kCF, kOF | kPF, kZF | kPF})}, {kRax, 2}, {kRbx, 6}, {kRdx, 22},
      {kRsi, 4}, {kRdi, 20}, {kRcx, 0}}},
};

INSTANTIATE_TEST_SUITE_P(Real16, MemAssistTest,
                         ::testing::Combine(::testing::ValuesIn(kReal16Cases),
                                            ::testing::ValuesIn(kMemPaths)),
                         mem_param_name);

}  // namespace
}  // namespace vmruntime::assist_test
