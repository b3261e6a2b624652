// SPDX-License-Identifier: BSD-2-Clause
//
// PCI mechanism #1 with no devices, as Linux's pci_check_type1/type2 and
// pci_sanity_check probe it.
#include "vmruntime/dev/pci_config.h"

#include <gtest/gtest.h>

#include <span>
#include <vector>

#include "vmruntime/dev/device_state.h"

namespace vmruntime::dev {
namespace {

constexpr uint16_t kAddr = 0;  // 0xcf8
constexpr uint16_t kData = 4;  // 0xcfc

TEST(PciConfig, LinuxType1ProbeSeesTheAddressRegister)
{
    PciConfig pci;
    pci.write(3, 1, 0x01);  // outb(0x01, 0xCFB): not CONFIG_ADDRESS
    const uint32_t saved = pci.read(kAddr, 4);
    pci.write(kAddr, 4, PCI_CONFIG_ENABLE);
    EXPECT_EQ(pci.read(kAddr, 4), PCI_CONFIG_ENABLE);
    pci.write(kAddr, 4, saved);
    EXPECT_EQ(pci.read(kAddr, 4), 0u);
}

TEST(PciConfig, NoFunctionAnswers)
{
    PciConfig pci;
    for (uint32_t devfn : {0u, 1u, 8u, 0xffu}) {
        pci.write(kAddr, 4, PCI_CONFIG_ENABLE | devfn << 8);  // vendor/device ID, bus 0
        EXPECT_EQ(pci.read(kData, 4), 0xffffffffu);
        EXPECT_EQ(pci.read(kData, 2), 0xffffu);
        EXPECT_EQ(pci.read(kData + 2, 2), 0xffffu);
        EXPECT_EQ(pci.read(kData + 3, 1), 0xffu);
    }
    pci.write(kAddr, 4, PCI_CONFIG_ENABLE | 0x10);  // BAR0
    pci.write(kData, 4, 0x12345678);
    EXPECT_EQ(pci.read(kData, 4), 0xffffffffu);
    EXPECT_EQ(pci.config_reads(), 17u);
}

TEST(PciConfig, DataPortWithoutEnableIsNotAConfigCycle)
{
    PciConfig pci;
    pci.write(kAddr, 4, 0x00000010);
    EXPECT_EQ(pci.read(kData, 4), 0xffffffffu);
    EXPECT_EQ(pci.config_reads(), 0u);
}

TEST(PciConfig, AddressBits1And0ReadAsZero)
{
    PciConfig pci;
    pci.write(kAddr, 4, 0x80ffff07);
    EXPECT_EQ(pci.read(kAddr, 4), 0x80ffff04u);
    EXPECT_EQ(pci.address(), 0x80ffff04u);
}

// pci_check_type2 writes bytes to 0xcf8/0xcfa and expects them back as 0.
TEST(PciConfig, ByteAndWordAccessesToTheAddressFloat)
{
    PciConfig pci;
    pci.write(kAddr, 4, PCI_CONFIG_ENABLE);
    pci.write(kAddr, 1, 0x00);
    pci.write(2, 1, 0x00);
    EXPECT_EQ(pci.read(kAddr, 1), 0xffu);
    EXPECT_EQ(pci.read(2, 1), 0xffu);
    EXPECT_EQ(pci.read(kAddr, 2), 0xffffu);
    EXPECT_EQ(pci.read(kAddr, 4), PCI_CONFIG_ENABLE);
}

bool restores(std::span<const uint8_t> bytes)
{
    PciConfig pci;
    StateReader in(bytes);
    return pci.restore(in);
}

// The read count is a host statistic: the copy starts its own.
TEST(PciConfig, SnapshotRoundTripKeepsTheAddress)
{
    PciConfig pci;
    pci.write(kAddr, 4, PCI_CONFIG_ENABLE | 0x00ab1234);
    pci.read(kData, 4);
    StateWriter state;
    pci.save(state);

    PciConfig copy;
    StateReader in(state.bytes());
    ASSERT_TRUE(copy.restore(in));
    EXPECT_TRUE(in.done());
    EXPECT_EQ(copy.read(kAddr, 4), PCI_CONFIG_ENABLE | 0x00ab1234);
    EXPECT_EQ(copy.read(kData, 4), 0xffffffffu);
    EXPECT_EQ(copy.config_reads(), 1u);  // the enable bit came back too
}

TEST(PciConfig, SnapshotRestoreRefusesTruncatedAndImpossibleStates)
{
    PciConfig pci;
    pci.write(kAddr, 4, PCI_CONFIG_ENABLE);
    StateWriter state;
    pci.save(state);
    ASSERT_TRUE(restores(state.bytes()));
    for (size_t n = 0; n < state.bytes().size(); ++n) {
        EXPECT_FALSE(restores(std::span(state.bytes()).first(n))) << n;
    }
    EXPECT_FALSE(restores(std::vector<uint8_t>{0x01, 0, 0, 0x80}));  // bits 1:0 read as zero
}

}  // namespace
}  // namespace vmruntime::dev
