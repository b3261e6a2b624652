// SPDX-License-Identifier: BSD-2-Clause
//
// BootState to nvmm_x64_state: every field the loader decides lands in the
// NVMM slot of the same name, the other GPRs are cleared, and what the loader
// does not decide (IDT, LDT, FPU, other MSRs) keeps the caller's values.
#include "vmruntime/loader/nvmm_state.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "vmruntime/loader/boot_area.h"

namespace vmruntime::loader {
namespace {

class NvmmStateTest : public ::testing::Test {
protected:
    NvmmStateTest()
    {
        std::memset(&state_, 0xA5, sizeof state_);
        boot_ = write_boot_area(ram_, Mode::Long64, 0x100010, 0xFF000, "");
        boot_.rsp = 0xFF000;
    }

    std::vector<uint8_t> ram_ = std::vector<uint8_t>(0x10000);
    BootState boot_;
    nvmm_x64_state state_;
};

TEST_F(NvmmStateTest, CopiesRegisters)
{
    to_nvmm_state(boot_, state_);
    EXPECT_EQ(state_.gprs[NVMM_X64_GPR_RIP], 0x100010u);
    EXPECT_EQ(state_.gprs[NVMM_X64_GPR_RSP], 0xFF000u);
    EXPECT_EQ(state_.gprs[NVMM_X64_GPR_RSI], kCmdlineGpa);
    EXPECT_EQ(state_.gprs[NVMM_X64_GPR_RFLAGS], RFLAGS_FIXED);
    for (int gpr : {NVMM_X64_GPR_RAX, NVMM_X64_GPR_RDI, NVMM_X64_GPR_RBP, NVMM_X64_GPR_R15}) {
        EXPECT_EQ(state_.gprs[gpr], 0u) << "GPR " << gpr;
    }
    EXPECT_EQ(state_.crs[NVMM_X64_CR_CR0], boot_.cr0);
    EXPECT_EQ(state_.crs[NVMM_X64_CR_CR2], 0u);
    EXPECT_EQ(state_.crs[NVMM_X64_CR_CR3], kPml4Gpa);
    EXPECT_EQ(state_.crs[NVMM_X64_CR_CR4], boot_.cr4);
    EXPECT_EQ(state_.msrs[NVMM_X64_MSR_EFER], EFER_LME | EFER_LMA);
}

TEST_F(NvmmStateTest, CopiesSegments)
{
    to_nvmm_state(boot_, state_);
    const nvmm_x64_state_seg& cs = state_.segs[NVMM_X64_SEG_CS];
    EXPECT_EQ(cs.selector, kBootCodeSelector);
    EXPECT_EQ(cs.base, 0u);
    EXPECT_EQ(cs.limit, 0xFFFFFFFFu);
    EXPECT_EQ(cs.attrib.type, 0xB);
    EXPECT_EQ(cs.attrib.s, 1);
    EXPECT_EQ(cs.attrib.dpl, 0);
    EXPECT_EQ(cs.attrib.p, 1);
    EXPECT_EQ(cs.attrib.l, 1);
    EXPECT_EQ(cs.attrib.def, 0);
    EXPECT_EQ(cs.attrib.g, 1);
    EXPECT_EQ(cs.attrib.avl, 0);
    EXPECT_EQ(cs.attrib.rsvd, 0);
    for (int seg : {NVMM_X64_SEG_DS, NVMM_X64_SEG_ES, NVMM_X64_SEG_FS, NVMM_X64_SEG_GS,
                    NVMM_X64_SEG_SS}) {
        EXPECT_EQ(state_.segs[seg].selector, kBootDataSelector) << "segment " << seg;
        EXPECT_EQ(state_.segs[seg].attrib.def, 1) << "segment " << seg;
        EXPECT_EQ(state_.segs[seg].attrib.type, 0x3) << "segment " << seg;
    }
    EXPECT_EQ(state_.segs[NVMM_X64_SEG_TR].attrib.type, 0xB);
    EXPECT_EQ(state_.segs[NVMM_X64_SEG_TR].attrib.s, 0);
    EXPECT_EQ(state_.segs[NVMM_X64_SEG_TR].attrib.p, 1);
    EXPECT_EQ(state_.segs[NVMM_X64_SEG_GDT].base, kGdtGpa);
    EXPECT_EQ(state_.segs[NVMM_X64_SEG_GDT].limit, kGdtLimit);
}

TEST_F(NvmmStateTest, LeavesTheRestAlone)
{
    nvmm_x64_state before;
    std::memcpy(&before, &state_, sizeof before);
    to_nvmm_state(boot_, state_);
    EXPECT_EQ(std::memcmp(&state_.segs[NVMM_X64_SEG_IDT], &before.segs[NVMM_X64_SEG_IDT],
                          sizeof(nvmm_x64_state_seg)), 0);
    EXPECT_EQ(std::memcmp(&state_.segs[NVMM_X64_SEG_LDT], &before.segs[NVMM_X64_SEG_LDT],
                          sizeof(nvmm_x64_state_seg)), 0);
    EXPECT_EQ(state_.crs[NVMM_X64_CR_CR8], before.crs[NVMM_X64_CR_CR8]);
    EXPECT_EQ(state_.crs[NVMM_X64_CR_XCR0], before.crs[NVMM_X64_CR_XCR0]);
    EXPECT_EQ(state_.msrs[NVMM_X64_MSR_PAT], before.msrs[NVMM_X64_MSR_PAT]);
    EXPECT_EQ(std::memcmp(state_.drs, before.drs, sizeof before.drs), 0);
    EXPECT_EQ(std::memcmp(&state_.fpu, &before.fpu, sizeof before.fpu), 0);
}

}  // namespace
}  // namespace vmruntime::loader
