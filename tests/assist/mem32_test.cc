// SPDX-License-Identifier: BSD-2-Clause
// MMIO assist cases in 32-bit protected mode (snippets in guests/mem32.S):
// flat with paging off and on, and with DS and ES based at the device for
// the 16-bit address size.  Registers are compared in their low 32 bits.
#include "mem_assist.h"

GUEST_SNIPPET(mem32_flat);
GUEST_SNIPPET(mem32_mov_store);
GUEST_SNIPPET(mem32_mov_load);
GUEST_SNIPPET(mem32_mov_imm);
GUEST_SNIPPET(mem32_moffs);
GUEST_SNIPPET(mem32_or);
GUEST_SNIPPET(mem32_and);
GUEST_SNIPPET(mem32_xor);
GUEST_SNIPPET(mem32_sub);
GUEST_SNIPPET(mem32_cmp);
GUEST_SNIPPET(mem32_test);
GUEST_SNIPPET(mem32_xchg);
GUEST_SNIPPET(mem32_movzx);
GUEST_SNIPPET(mem32_movsx);
GUEST_SNIPPET(mem32_stos);
GUEST_SNIPPET(mem32_lods);
GUEST_SNIPPET(mem32_movs);
GUEST_SNIPPET(mem32_cmps);

namespace vmruntime::assist_test {
namespace {

constexpr uint64_t kMmio = ASSIST_MMIO_GPA;
constexpr CpuMode kBased = CpuMode::kProt32Based;

const std::vector<RegValue> kFlatRegs = {{kRbx, 0xFFFF1122}, {kRdx, 0xCAFEBABE},
                                         {kRsi, GUEST_DATA_GPA + 4}, {kRdi, kMmio + 16},
                                         {kRcx, 0}, {kRax, 0x11227788}};

const MemCase kProt32Cases[] = {
    {"Flat", GUEST_CODE(mem32_flat), CpuMode::kProt32, {0, 0, 0xCAFEBABE},
     {0x0000556611223344, 0x77887788A5A5A5A5, 0xCAFEBABE}, kFlatRegs},
    {"FlatPaging", GUEST_CODE(mem32_flat), CpuMode::kProt32Paging, {0, 0, 0xCAFEBABE},
     {0x0000556611223344, 0x77887788A5A5A5A5, 0xCAFEBABE}, kFlatRegs},
    {"MovStore", GUEST_CODE(mem32_mov_store), kBased, {},
     {0x4455667722335A11, 0x44556677, 0x4455667722330011, 0x5A00}, {}},
    {"MovLoad", GUEST_CODE(mem32_mov_load), kBased, {0x8877665544332211, 0xFFEEDDCCBBAA9988},
     {0x8877665544332211, 0xFFEEDDCCBBAA9988},
     {{kRax, 0xFFFFFF11}, {kRcx, 0xFFFF4433}, {kRdx, 0x88776655}, {kRbp, 0xFFFFAA99},
      {kRdi, 0xFFFFEEDD}, {kRsi, 0xFFEEDDCC}, {kRbx, 0xFFFF2208}}},
    {"MovImm", GUEST_CODE(mem32_mov_imm), kBased, {},
     {0x789ABCDE34560012, 0x1234CAFEBABE, 0x56}, {}},
    {"Moffs", GUEST_CODE(mem32_moffs), kBased, {0, 0, 0xCAFEBABEDEADBEEF},
     {0x0044334400000044, 0x1122334411223344, 0xCAFEBABEDEADBEEF},
     {{kRbx, 0xFFFFFFEF}, {kRcx, 0xFFFFBEEF}, {kRdx, 0xDEADBEEF}, {kRsi, 0xFFFFFFBE},
      {kRax, 0xFFFFBABE}}},
    {"Or", GUEST_CODE(mem32_or), kBased, {0x0102030405060708, 0x80000001, 0xF0},
     {0x3102030415060788, 0x8F000001, 0x100FF, 0xFFFFFFF0},
     {{kRbp, flag_trace({0, kSF, kSF | kPF})}, {kRax, 0x8F004001}, {kRdx, 0x0F0000F0}}},
    {"And", GUEST_CODE(mem32_and), kBased,
     {0xFFFFFFFFFFFFFFFF, 0x00FF00FF, 0x1234, 0xF0F0F0F0},
     {0x800000011234FF0F, 0, 0x1200, 0xF0F000F0},
     {{kRbp, flag_trace({kSF, kZF | kPF})}, {kRax, 0x1234}, {kRcx, 0xFFFF1234}}},
    {"Xor", GUEST_CODE(mem32_xor), kBased, {0x1111111111111111, 0xA5A5A5A5, 0xFF},
     {0x80000000000011EE, 0x5A5A5A5A, 0x12345688, 0xFFFFFFFF},
     {{kRbp, flag_trace({kZF | kPF, kSF | kPF, kZF | kPF})}, {kRax, 0}}},
    {"Sub", GUEST_CODE(mem32_sub), kBased, {0x10, 0x80000000, 0xA0FF, 0x1000A0FF},
     {0xF0, 0x7FFFFFFF, 0x1A000, 0x1000A0EE},
     {{kRbp, flag_trace({kCF | kSF | kPF, kOF | kPF, kCF})}, {kRcx, 0x6001}}},
    {"Cmp", GUEST_CODE(mem32_cmp), kBased, {0xF2345678, 0x80}, {0xF2345678, 0x80},
     {{kRbp, flag_trace({kZF | kPF, kCF | kSF | kPF, 0, kOF, kCF | kSF | kOF | kPF, kCF | kSF})},
      {kRdx, flag_trace({kZF | kPF, kCF | kSF | kPF})}}},
    {"Test", GUEST_CODE(mem32_test), kBased, {0xA0FF, 0x80000000}, {0xA0FF, 0x80000000},
     {{kRbp, flag_trace({kPF, kZF | kPF, kPF, kSF, kSF | kPF})}}},
    {"Xchg", GUEST_CODE(mem32_xchg), kBased, {0x11223344, 0, 0xAAAA, 0x66},
     {0x05060708, 0x12345678, 0xFFBB, 0x55},
     {{kRbx, 0x11223344}, {kRcx, 0xFFFFAAAA}, {kRdx, 0xFFFFFFBB}, {kRbp, 0}, {kRax, 0x6600}}},
    {"Movzx", GUEST_CODE(mem32_movzx), kBased, {0x9080F0FE}, {0x9080F0FE},
     {{kRax, 0xFFFF00FE}, {kRbx, 0xF0}, {kRcx, 0x9080}, {kRdx, 0xF0FE}, {kRbp, 0xFFFF0090}}},
    {"Movsx", GUEST_CODE(mem32_movsx), kBased, {0x9080F07E}, {0x9080F07E},
     {{kRax, 0xFFFF007E}, {kRbx, 0xFFF0}, {kRcx, 0xFFFFFFF0}, {kRdx, 0xFFFF9080},
      {kRbp, 0x7E}}},
    {"Stos", GUEST_CODE(mem32_stos), kBased, {},
     {0x0044332211221111, 0xABABAB, 0x5A5A5A5A, 0x7777000000000000},
     {{kRdi, 0xFFFF0014}, {kRcx, 0xFFFF0000}, {kRax, 0x44335A5A}}},
    {"Lods", GUEST_CODE(mem32_lods), kBased, {0x8877665544332211, 0xFFEEDDCCBBAA9988},
     {0x8877665544332211, 0xFFEEDDCCBBAA9988},
     {{kRbx, 0xFFFFFF11}, {kRcx, 0xFFFF3322}, {kRdx, 0x77665544}, {kRdi, 0xBBAA9988},
      {kRax, 0xBBAADDCC}, {kRsi, 0xFFFF000A}}},
    {"Movs", GUEST_CODE(mem32_movs), kBased, {0x8877665544332211, 0xFFEEDDCCBBAA9988},
     {0xFFEEDDCC44332211, 0xFFEEDDCCBBAA9988, 0x8877665544332211, 0x0123456789ABCDEF},
     {{kRsi, 0xFFFF000A}, {kRdi, 0xFFFF0002}, {kRcx, 0xFFFF0000}}},
    {"Cmps", GUEST_CODE(mem32_cmps), kBased,
     {0x1122334455667788, 0x80000000, 0x1122FF4455667788, 1},
     {0x1122334455667788, 0x80000000, 0x1122FF4455667788, 1},
     {{kRbp, flag_trace({kCF, kOF | kPF, kZF | kPF})}, {kRax, 2}, {kRbx, 6}, {kRdx, 22},
      {kRsi, 0xFFFF0004}, {kRdi, 0xFFFF0014}, {kRcx, 0xFFFF0000}}},
};

INSTANTIATE_TEST_SUITE_P(Prot32, MemAssistTest,
                         ::testing::Combine(::testing::ValuesIn(kProt32Cases),
                                            ::testing::ValuesIn(kMemPaths)),
                         mem_param_name);

}  // namespace
}  // namespace vmruntime::assist_test
