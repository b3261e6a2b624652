// SPDX-License-Identifier: BSD-2-Clause
// MMIO assist cases in 64-bit long mode (snippets in guests/mem64.S), the
// device at kMmio.
#include "mem_assist.h"

GUEST_SNIPPET(mem64_mov_store);
GUEST_SNIPPET(mem64_mov_load);
GUEST_SNIPPET(mem64_mov_imm);
GUEST_SNIPPET(mem64_moffs);
GUEST_SNIPPET(mem64_or);
GUEST_SNIPPET(mem64_and);
GUEST_SNIPPET(mem64_xor);
GUEST_SNIPPET(mem64_sub);
GUEST_SNIPPET(mem64_cmp);
GUEST_SNIPPET(mem64_test);
GUEST_SNIPPET(mem64_xchg);
GUEST_SNIPPET(mem64_movzx);
GUEST_SNIPPET(mem64_movsx);
GUEST_SNIPPET(mem64_stos);
GUEST_SNIPPET(mem64_lods);
GUEST_SNIPPET(mem64_movs);
GUEST_SNIPPET(mem64_cmps);

namespace vmruntime::assist_test {
namespace {

constexpr uint64_t kMmio = ASSIST_MMIO_GPA;
constexpr CpuMode k64 = CpuMode::kLong64;

const MemCase kLong64Cases[] = {
    {"MovStore", GUEST_CODE(mem64_mov_store), k64, {},
     {0x4455667722335A11, 0x8899AABBCCDDEEFF, 0x44556677223300FF, 0x8899AABBCCDDEEFF}, {}},
    {"MovLoad", GUEST_CODE(mem64_mov_load), k64, {0x8877665544332211, 0xFFEEDDCCBBAA9988},
     {0x8877665544332211, 0xFFEEDDCCBBAA9988},
     {{kRax, 0xFFFFFFFFFFFFFF11}, {kRbx, 0xFFFFFFFFFFFF22FF}, {kRcx, 0xFFFFFFFFFFFF4433},
      {kRdx, 0x88776655}, {kR10, 0xFFEEDDCCBBAA9988}, {kR11, 0xFFFFFFFFFFFFFF99},
      {kR12, 0xFFEEDDCC}, {kR13, 0x8877665544332211}}},
    {"MovImm", GUEST_CODE(mem64_mov_imm), k64, {},
     {0x789ABCDE34560012, 0xFFFFFFFFFFFFFFFE, 0x7FFFFFFF, 0xAB}, {}},
    {"Moffs", GUEST_CODE(mem64_moffs), k64, {0, 0, 0xCAFEBABEDEADBEEF},
     {0x0088778855667788, 0x1122334455667788, 0xCAFEBABEDEADBEEF, 0xDEADBEEF},
     {{kRbx, 0xFFFFFFFFFFFFFFEF}, {kRcx, 0xFFFFFFFFFFFFBEEF}, {kRdx, 0xDEADBEEF},
      {kRsi, 0xCAFEBABEDEADBEEF}, {kRax, 0xFFFFFFFFFFFFFFBE}}},
    {"Or", GUEST_CODE(mem64_or), k64, {0x0102030405060708, 0x8000000000000001, 0xF0},
     {0x3102030415060788, 0x8F00000000000001, 0x100FF, 0xFFFFFFFFFFFFFFF0},
     {{kRbp, flag_trace({kSF, kSF | kPF})}, {kR9, 0x8F00000000004001}, {kRax, 0xF0}}},
    {"And", GUEST_CODE(mem64_and), k64,
     {0xFFFFFFFFFFFFFFFF, 0x00FF00FF00FF00FF, 0x8000000000001234, 0xF0F0F0F0},
     {0x800000011234FF0F, 0, 0x8000000000001200, 0xF0F000F0},
     {{kRbp, flag_trace({kSF, kZF | kPF})}, {kR9, 0x8000000000001234}, {kR10, 0x1234}}},
    {"Xor", GUEST_CODE(mem64_xor), k64, {0x1111111111111111, 0xA5A5A5A5A5A5A5A5, 0xFF},
     {0x80000000000011EE, 0x5A5A5A5A5A5A5A5A, 0x12345688, 0xFFFFFFFFFFFFFFFF},
     {{kRbp, flag_trace({kZF | kPF, kSF | kPF, kZF | kPF})}, {kR9, 0}}},
    {"Sub", GUEST_CODE(mem64_sub), k64, {0x10, 0x8000000000000000, 0xA0FF, 0xF1000A0FF},
     {0xF0, 0x7FFFFFFFFFFFFFFF, 0x1A000, 0xF1000A0EE},
     {{kRbp, flag_trace({kCF | kSF | kPF, kOF | kPF, kCF})}, {kRcx, 0x6001}}},
    {"Cmp", GUEST_CODE(mem64_cmp), k64, {0xFFFFFFFFF2345678, 0x80},
     {0xFFFFFFFFF2345678, 0x80},
     {{kRbp, flag_trace({kZF | kPF, kCF | kSF | kPF, 0, kCF | kSF, kOF, kCF | kSF | kOF | kPF,
                         kZF | kPF, kCF | kSF | kPF})}}},
    {"Test", GUEST_CODE(mem64_test), k64, {0xA0FF, 0x8000000000000000},
     {0xA0FF, 0x8000000000000000},
     {{kRbp, flag_trace({kPF, kZF | kPF, kPF, kSF | kPF, kSF, kSF | kPF})}}},
    {"Xchg", GUEST_CODE(mem64_xchg), k64, {0x1122334455667788, 0, 0xAAAA, 0x66},
     {0x0102030405060708, 0xFFFFFFFF12345678, 0xFFBB, 0x55},
     {{kRbx, 0x1122334455667788}, {kRcx, 0xFFFFFFFFFFFFAAAA}, {kRdx, 0xFFFFFFFFFFFFFFBB},
      {kR8, 0}, {kR9, 0}, {kRax, 0x6600}}},
    {"Movzx", GUEST_CODE(mem64_movzx), k64, {0x9080F0FE}, {0x9080F0FE},
     {{kRax, 0xFFFFFFFFFFFF00FE}, {kRbx, 0xF0}, {kRcx, 0x80}, {kRdx, 0x9080}, {kR8, 0xF0FE},
      {kR9, 0x90}, {kR10, 0xFFFFFFFFFFFF0090}}},
    {"Movsx", GUEST_CODE(mem64_movsx), k64, {0x9080F07E, 0x80000001}, {0x9080F07E, 0x80000001},
     {{kRax, 0xFFFFFFFFFFFF007E}, {kRbx, 0xFFF0}, {kRcx, 0xFFFFFFF0},
      {kRdx, 0xFFFFFFFFFFFFFF80}, {kR8, 0xFFFF9080}, {kR9, 0xFFFFFFFFFFFFF07E},
      {kR10, 0xFFFFFFFF80000001}, {kR11, 0}, {kR12, 0x7E}}},
    {"Stos", GUEST_CODE(mem64_stos), k64, {},
     {0x0044332211221111, 0x8877665544332211, 0xABABAB, 0x777700005A5A5A5A},
     {{kRdi, kMmio + 29}, {kRcx, 0}, {kRax, 0x8877665544335A77}}},
    {"Lods", GUEST_CODE(mem64_lods), k64, {0x8877665544332211, 0xFFEEDDCCBBAA9988},
     {0x8877665544332211, 0xFFEEDDCCBBAA9988},
     {{kRbx, 0xFFFFFFFFFFFFFF11}, {kRcx, 0xFFFFFFFFFFFF3322}, {kRdx, 0x77665544},
      {kR8, 0xFFEEDDCCBBAA9988}, {kRax, 0xFFEEDDCCBBAA6677}, {kRsi, kMmio + 5}}},
    {"Movs", GUEST_CODE(mem64_movs), k64, {0x8877665544332211, 0xFFEEDDCCBBAA9988},
     {0xFFEEDDCC44332211, 0xFFEEDDCCBBAA9988, 0x8877665544332211, 0x0123456789ABCDEF},
     {{kRsi, kMmio + 10}, {kRdi, kMmio + 2}, {kRcx, 0}, {kR8, 0xFFEEDDCCBBAA9988}}},
    {"Cmps", GUEST_CODE(mem64_cmps), k64,
     {0x1122334455667788, 0x8000000000000000, 0x1122FF4455667788, 1},
     {0x1122334455667788, 0x8000000000000000, 0x1122FF4455667788, 1},
     {{kRbp, flag_trace({kCF, kOF | kPF, kZF | kPF, kZF | kPF})}, {kR9, 2}, {kR10, kMmio + 6},
      {kR11, kMmio + 22}, {kRcx, 0}, {kRsi, kMmio + 4}, {kRdi, kMmio + 20}}},
};

INSTANTIATE_TEST_SUITE_P(Long64, MemAssistTest,
                         ::testing::Combine(::testing::ValuesIn(kLong64Cases),
                                            ::testing::ValuesIn(kMemPaths)),
                         mem_param_name);

}  // namespace
}  // namespace vmruntime::assist_test
