// SPDX-License-Identifier: BSD-2-Clause
//
// 8259A pair: driven by port offset the way Linux's arch/x86/kernel/i8259.c
// drives it (ICW1 0x11, vector base, cascade, ICW4 0x01; OCW2 EOIs; OCW3
// 0x0a/0x0b to read IRR/ISR), checked against the 8259A datasheet.
#include "vmruntime/dev/pic8259.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <vector>

namespace vmruntime::dev {
namespace {

constexpr uint16_t kCmd = 0;
constexpr uint16_t kData = 1;
constexpr uint8_t kMasterBase = 0x30;  // Linux's ISA_IRQ_VECTOR(0) on x86-64
constexpr uint8_t kSlaveBase = 0x38;
constexpr uint8_t kReadIrr = 0x0a;
constexpr uint8_t kReadIsr = 0x0b;
constexpr uint8_t kNonSpecificEoi = 0x20;
constexpr uint8_t kSpecificEoi = 0x60;

class Pic8259Test : public ::testing::Test {
protected:
    // Linux's init_8259A(auto_eoi = 0), then everything unmasked.
    void init_like_linux(uint8_t master_icw4 = 0x01, uint8_t slave_icw4 = 0x01)
    {
        pic_.master().write(kData, 1, 0xff);
        pic_.master().write(kCmd, 1, 0x11);
        pic_.master().write(kData, 1, kMasterBase);
        pic_.master().write(kData, 1, 1u << kPicCascadeIrq);
        pic_.master().write(kData, 1, master_icw4);
        pic_.slave().write(kCmd, 1, 0x11);
        pic_.slave().write(kData, 1, kSlaveBase);
        pic_.slave().write(kData, 1, kPicCascadeIrq);
        pic_.slave().write(kData, 1, slave_icw4);
        pic_.master().write(kData, 1, 0x00);
        pic_.slave().write(kData, 1, 0x00);
    }

    uint8_t reg(PioDevice& chip, uint8_t ocw3)
    {
        chip.write(kCmd, 1, ocw3);
        return static_cast<uint8_t>(chip.read(kCmd, 1));
    }
    uint8_t master_irr() { return reg(pic_.master(), kReadIrr); }
    uint8_t master_isr() { return reg(pic_.master(), kReadIsr); }
    uint8_t slave_irr() { return reg(pic_.slave(), kReadIrr); }
    uint8_t slave_isr() { return reg(pic_.slave(), kReadIsr); }

    Pic8259Pair pic_;
};

TEST_F(Pic8259Test, ImrIsReadableBeforeInitAsLinuxProbes)
{
    pic_.slave().write(kData, 1, 0xff);
    pic_.master().write(kData, 1, 0xa5);
    EXPECT_EQ(pic_.master().read(kData, 1), 0xa5u);
    EXPECT_EQ(pic_.slave().read(kData, 1), 0xffu);
}

TEST_F(Pic8259Test, NoInterruptOrVectorBeforeInitialization)
{
    pic_.master().write(kData, 1, 0x00);
    pic_.set_irq(1, true);
    EXPECT_FALSE(pic_.has_interrupt());
    EXPECT_EQ(pic_.acknowledge(), std::nullopt);
}

TEST_F(Pic8259Test, Icw1ClearsImrAndIcw2KeepsUpperFiveBits)
{
    pic_.master().write(kData, 1, 0xff);
    pic_.master().write(kCmd, 1, 0x13);  // edge, single, ICW4 needed
    EXPECT_EQ(pic_.master().read(kData, 1), 0x00u);
    pic_.master().write(kData, 1, 0x57);  // ICW2; no ICW3 in single mode
    pic_.master().write(kData, 1, 0x01);  // ICW4
    pic_.master().write(kData, 1, 0xfd);  // OCW1: only IRQ1
    EXPECT_EQ(pic_.master().read(kData, 1), 0xfdu);
    pic_.set_irq(1, true);
    EXPECT_EQ(pic_.acknowledge(), 0x51);
}

TEST_F(Pic8259Test, IcwSequenceWithoutIcw4GoesStraightToOcw1)
{
    pic_.master().write(kCmd, 1, 0x10);  // cascade, no ICW4
    pic_.master().write(kData, 1, 0x20);
    pic_.master().write(kData, 1, 0x04);
    pic_.master().write(kData, 1, 0xfe);  // OCW1, not ICW4
    EXPECT_EQ(pic_.master().read(kData, 1), 0xfeu);
    pic_.set_irq(0, true);
    EXPECT_EQ(pic_.acknowledge(), 0x20);
}

TEST_F(Pic8259Test, EdgeLatchesOnRisingEdgeUntilAcknowledged)
{
    init_like_linux();
    pic_.line(4).pulse();
    EXPECT_EQ(master_irr(), 0x10);
    EXPECT_TRUE(pic_.has_interrupt());
    EXPECT_EQ(pic_.acknowledge(), kMasterBase + 4);
    EXPECT_EQ(master_irr(), 0x00);
    EXPECT_EQ(master_isr(), 0x10);
    EXPECT_FALSE(pic_.has_interrupt());
    pic_.master().write(kCmd, 1, kNonSpecificEoi);
    EXPECT_EQ(master_isr(), 0x00);
    EXPECT_FALSE(pic_.has_interrupt());
}

TEST_F(Pic8259Test, EdgeInputHeldHighRequestsOnlyOnce)
{
    init_like_linux();
    pic_.set_irq(3, true);
    EXPECT_EQ(pic_.acknowledge(), kMasterBase + 3);
    pic_.master().write(kCmd, 1, kNonSpecificEoi);
    pic_.set_irq(3, true);
    EXPECT_FALSE(pic_.has_interrupt());
    EXPECT_EQ(master_irr(), 0x00);
    pic_.set_irq(3, false);
    pic_.set_irq(3, true);
    EXPECT_TRUE(pic_.has_interrupt());
}

TEST_F(Pic8259Test, Icw1ResetsEdgeSenseSoAHighInputMustRiseAgain)
{
    pic_.set_irq(3, true);
    init_like_linux();
    EXPECT_EQ(master_irr(), 0x00);
    EXPECT_FALSE(pic_.has_interrupt());
    pic_.set_irq(3, false);
    pic_.set_irq(3, true);
    EXPECT_EQ(pic_.acknowledge(), kMasterBase + 3);
}

TEST_F(Pic8259Test, FixedPriorityIrq0HighestAndNesting)
{
    init_like_linux();
    pic_.line(5).pulse();
    pic_.line(3).pulse();
    EXPECT_EQ(pic_.acknowledge(), kMasterBase + 3);
    EXPECT_FALSE(pic_.has_interrupt());  // IRQ5 is below IRQ3 in service
    pic_.line(1).pulse();
    EXPECT_TRUE(pic_.has_interrupt());   // IRQ1 outranks it and nests
    EXPECT_EQ(pic_.acknowledge(), kMasterBase + 1);
    EXPECT_EQ(master_isr(), 0x0a);
    pic_.master().write(kCmd, 1, kNonSpecificEoi);  // ends the highest: IRQ1
    EXPECT_EQ(master_isr(), 0x08);
    EXPECT_FALSE(pic_.has_interrupt());
    pic_.master().write(kCmd, 1, kNonSpecificEoi);
    EXPECT_EQ(pic_.acknowledge(), kMasterBase + 5);
}

TEST_F(Pic8259Test, SpecificEoiClearsOnlyTheNamedLevel)
{
    init_like_linux();
    pic_.line(6).pulse();
    EXPECT_EQ(pic_.acknowledge(), kMasterBase + 6);
    pic_.line(4).pulse();
    EXPECT_EQ(pic_.acknowledge(), kMasterBase + 4);
    EXPECT_EQ(master_isr(), 0x50);
    pic_.master().write(kCmd, 1, kSpecificEoi + 6);
    EXPECT_EQ(master_isr(), 0x10);
}

TEST_F(Pic8259Test, MaskedRequestWaitsInIrr)
{
    init_like_linux();
    pic_.master().write(kData, 1, 0x02);
    pic_.line(1).pulse();
    EXPECT_EQ(master_irr(), 0x02);
    EXPECT_FALSE(pic_.has_interrupt());
    pic_.master().write(kData, 1, 0x00);
    EXPECT_TRUE(pic_.has_interrupt());
    EXPECT_EQ(pic_.acknowledge(), kMasterBase + 1);
}

TEST_F(Pic8259Test, SlaveRequestCascadesThroughMasterIr2)
{
    init_like_linux();
    pic_.line(12).pulse();
    EXPECT_EQ(slave_irr(), 0x10);
    EXPECT_EQ(master_irr(), 0x04);
    EXPECT_TRUE(pic_.has_interrupt());
    EXPECT_EQ(pic_.acknowledge(), kSlaveBase + 4);
    EXPECT_EQ(master_isr(), 0x04);
    EXPECT_EQ(slave_isr(), 0x10);
    // Linux's mask_and_ack_8259A: specific EOI to the slave, then to IR2.
    pic_.slave().write(kCmd, 1, kSpecificEoi + 4);
    pic_.master().write(kCmd, 1, kSpecificEoi + kPicCascadeIrq);
    EXPECT_EQ(master_isr(), 0x00);
    EXPECT_EQ(slave_isr(), 0x00);
    EXPECT_FALSE(pic_.has_interrupt());
}

TEST_F(Pic8259Test, SlaveIrqsRankAtMasterIr2)
{
    init_like_linux();
    pic_.line(3).pulse();
    pic_.line(15).pulse();
    pic_.line(1).pulse();
    std::vector<uint8_t> order;
    while (pic_.has_interrupt()) {
        uint8_t v = *pic_.acknowledge();
        order.push_back(v);
        if (v >= kSlaveBase) {
            pic_.slave().write(kCmd, 1, kNonSpecificEoi);
        }
        pic_.master().write(kCmd, 1, kNonSpecificEoi);
    }
    EXPECT_EQ(order, (std::vector<uint8_t>{kMasterBase + 1, kSlaveBase + 7, kMasterBase + 3}));
}

TEST_F(Pic8259Test, SecondSlaveRequestFollowsAfterEoi)
{
    init_like_linux();
    pic_.line(9).pulse();
    pic_.line(8).pulse();
    EXPECT_EQ(pic_.acknowledge(), kSlaveBase + 0);
    EXPECT_FALSE(pic_.has_interrupt());
    pic_.slave().write(kCmd, 1, kSpecificEoi + 0);
    pic_.master().write(kCmd, 1, kSpecificEoi + kPicCascadeIrq);
    EXPECT_TRUE(pic_.has_interrupt());
    EXPECT_EQ(pic_.acknowledge(), kSlaveBase + 1);
}

TEST_F(Pic8259Test, LevelTriggeredInputFollowsTheLine)
{
    init_like_linux();
    pic_.elcr().write(0, 1, 0x20);  // IRQ5 level
    EXPECT_EQ(pic_.elcr().read(0, 1), 0x20u);
    pic_.set_irq(5, true);
    EXPECT_EQ(pic_.acknowledge(), kMasterBase + 5);
    EXPECT_EQ(master_irr(), 0x20);  // still requested: the line is high
    EXPECT_FALSE(pic_.has_interrupt());  // but not above itself in service
    pic_.master().write(kCmd, 1, kNonSpecificEoi);
    EXPECT_TRUE(pic_.has_interrupt());  // no new edge needed
    pic_.set_irq(5, false);
    EXPECT_EQ(master_irr(), 0x00);
    EXPECT_FALSE(pic_.has_interrupt());
}

TEST_F(Pic8259Test, ElcrKeepsReservedBitsEdge)
{
    pic_.elcr().write(0, 1, 0xff);
    pic_.elcr().write(1, 1, 0xff);
    EXPECT_EQ(pic_.elcr().read(0, 1), kElcrMasterMask);
    EXPECT_EQ(pic_.elcr().read(1, 1), kElcrSlaveMask);
}

TEST_F(Pic8259Test, SpuriousIrq7WhenLevelRequestDropsBeforeInta)
{
    init_like_linux();
    pic_.elcr().write(0, 1, 0x40);
    pic_.set_irq(6, true);
    EXPECT_TRUE(pic_.has_interrupt());
    pic_.set_irq(6, false);
    EXPECT_EQ(pic_.acknowledge(), kMasterBase + 7);
    EXPECT_EQ(master_isr(), 0x00);  // what Linux checks to call it spurious
}

TEST_F(Pic8259Test, SpuriousIrq7WhenMaskedBeforeInta)
{
    init_like_linux();
    pic_.line(3).pulse();
    pic_.master().write(kData, 1, 0x08);
    EXPECT_FALSE(pic_.has_interrupt());
    EXPECT_EQ(pic_.acknowledge(), kMasterBase + 7);
    EXPECT_EQ(master_isr(), 0x00);
    EXPECT_EQ(master_irr(), 0x08);
}

TEST_F(Pic8259Test, SpuriousIrq15LeavesMasterIr2InService)
{
    init_like_linux();
    pic_.elcr().write(1, 1, 0x04);  // IRQ10 level
    pic_.set_irq(10, true);
    pic_.set_irq(10, false);
    EXPECT_TRUE(pic_.has_interrupt());  // master latched the slave's INT edge
    EXPECT_EQ(pic_.acknowledge(), kSlaveBase + 7);
    EXPECT_EQ(slave_isr(), 0x00);
    EXPECT_EQ(master_isr(), 0x04);
    pic_.master().write(kCmd, 1, kSpecificEoi + kPicCascadeIrq);
    EXPECT_EQ(master_isr(), 0x00);
    EXPECT_FALSE(pic_.has_interrupt());
}

TEST_F(Pic8259Test, AutoEoiLeavesIsrClear)
{
    init_like_linux(0x03);  // master ICW4 with AEOI, as Linux's auto_eoi
    pic_.line(1).pulse();
    pic_.line(0).pulse();
    EXPECT_EQ(pic_.acknowledge(), kMasterBase + 0);
    EXPECT_EQ(master_isr(), 0x00);
    EXPECT_TRUE(pic_.has_interrupt());
    EXPECT_EQ(pic_.acknowledge(), kMasterBase + 1);
    EXPECT_FALSE(pic_.has_interrupt());
}

TEST_F(Pic8259Test, SlaveInAutoEoiDeliversBackToBackRequests)
{
    init_like_linux(0x03, 0x03);
    pic_.line(9).pulse();
    pic_.line(8).pulse();
    EXPECT_EQ(pic_.acknowledge(), kSlaveBase + 0);
    EXPECT_TRUE(pic_.has_interrupt());  // slave INT fell in INTA and rose again
    EXPECT_EQ(pic_.acknowledge(), kSlaveBase + 1);
    EXPECT_FALSE(pic_.has_interrupt());
}

TEST_F(Pic8259Test, RotateOnNonSpecificEoiMakesServicedLevelLowest)
{
    init_like_linux();
    pic_.line(3).pulse();
    EXPECT_EQ(pic_.acknowledge(), kMasterBase + 3);
    pic_.master().write(kCmd, 1, 0xa0);  // rotate on non-specific EOI
    pic_.line(0).pulse();
    pic_.line(4).pulse();
    EXPECT_EQ(pic_.acknowledge(), kMasterBase + 4);  // IRQ4 is now highest
}

TEST_F(Pic8259Test, RotateInAutoEoiModeRotatesOnAcknowledge)
{
    init_like_linux(0x03);
    pic_.master().write(kCmd, 1, 0x80);  // set rotate in AEOI mode
    pic_.line(1).pulse();
    EXPECT_EQ(pic_.acknowledge(), kMasterBase + 1);  // IRQ2 becomes highest
    pic_.line(0).pulse();
    pic_.line(3).pulse();
    EXPECT_EQ(pic_.acknowledge(), kMasterBase + 3);
    pic_.master().write(kCmd, 1, 0x00);  // clear rotate in AEOI mode
    EXPECT_EQ(pic_.acknowledge(), kMasterBase + 0);
    pic_.line(5).pulse();
    pic_.line(6).pulse();
    EXPECT_EQ(pic_.acknowledge(), kMasterBase + 5);  // IRQ4 stays highest
}

TEST_F(Pic8259Test, SetPriorityCommand)
{
    init_like_linux();
    pic_.master().write(kCmd, 1, 0xc0 + 5);  // IRQ5 lowest, IRQ6 highest
    pic_.line(0).pulse();
    pic_.line(7).pulse();
    EXPECT_EQ(pic_.acknowledge(), kMasterBase + 7);
}

TEST_F(Pic8259Test, PollCommandAcknowledgesOnRead)
{
    init_like_linux();
    pic_.line(5).pulse();
    pic_.master().write(kCmd, 1, 0x0c);
    EXPECT_EQ(pic_.master().read(kCmd, 1), 0x85u);
    EXPECT_EQ(master_isr(), 0x20);
    pic_.master().write(kCmd, 1, 0x0c);
    EXPECT_EQ(pic_.master().read(kCmd, 1), 0x00u);
}

TEST_F(Pic8259Test, SpecialMaskModeLetsLowerLevelsIn)
{
    init_like_linux();
    pic_.line(3).pulse();
    EXPECT_EQ(pic_.acknowledge(), kMasterBase + 3);
    pic_.line(5).pulse();
    EXPECT_FALSE(pic_.has_interrupt());
    pic_.master().write(kData, 1, 0x08);  // mask the level in service
    pic_.master().write(kCmd, 1, 0x68);   // set special mask mode
    EXPECT_TRUE(pic_.has_interrupt());
    EXPECT_EQ(pic_.acknowledge(), kMasterBase + 5);
    pic_.master().write(kCmd, 1, 0x48);   // reset special mask mode
    EXPECT_EQ(master_isr(), 0x28);
}

TEST_F(Pic8259Test, IntrObserverSeesEachChange)
{
    std::vector<bool> seen;
    pic_.on_intr_change([&](bool level) { seen.push_back(level); });
    init_like_linux();
    pic_.line(4).pulse();
    pic_.line(4).pulse();  // already latched: no change
    pic_.acknowledge();
    pic_.master().write(kCmd, 1, kNonSpecificEoi);
    EXPECT_EQ(seen, (std::vector<bool>{true, false}));
}

TEST_F(Pic8259Test, Irq2AndOutOfRangeInputsAreIgnored)
{
    init_like_linux();
    pic_.set_irq(kPicCascadeIrq, true);
    pic_.set_irq(16, true);
    EXPECT_FALSE(pic_.has_interrupt());
    EXPECT_EQ(master_irr(), 0x00);
    EXPECT_THROW(pic_.line(16), std::out_of_range);
}

TEST_F(Pic8259Test, WideAccessesAreIgnoredAndCounted)
{
    init_like_linux();
    pic_.master().write(kData, 2, 0x1234);
    EXPECT_EQ(pic_.master().read(kData, 4), 0xffffffffu);
    EXPECT_EQ(pic_.master().read(kData, 1), 0x00u);
    EXPECT_EQ(pic_.ignored_accesses(), 2u);
}

}  // namespace
}  // namespace vmruntime::dev
