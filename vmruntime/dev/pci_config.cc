// SPDX-License-Identifier: BSD-2-Clause
//
// PCI mechanism #1 without devices: only CONFIG_ADDRESS holds state.
#include "vmruntime/dev/pci_config.h"

#include "vmruntime/dev/io_bus.h"

namespace vmruntime::dev {
namespace {

constexpr uint16_t kDataOffset = 4;
// CONFIG_ADDRESS bits 1:0 are read-only zero (PCI Local Bus spec 3.0,
// 3.2.2.3.2): accesses are always to a whole dword.
constexpr uint32_t kAddressWritable = ~uint32_t{3};

}  // namespace

uint32_t PciConfig::read(uint16_t offset, unsigned size)
{
    if (offset == 0 && size == 4) {
        return address_;
    }
    if (offset >= kDataOffset && (address_ & PCI_CONFIG_ENABLE)) {
        ++config_reads_;
    }
    return all_ones(size);
}

void PciConfig::write(uint16_t offset, unsigned size, uint32_t value)
{
    if (offset == 0 && size == 4) {
        address_ = value & kAddressWritable;
    }
}

void PciConfig::save(StateWriter& out) const
{
    out.put(address_);
}

bool PciConfig::restore(StateReader& in)
{
    address_ = in.get<uint32_t>();
    return in.check((address_ & ~kAddressWritable) == 0);
}

}  // namespace vmruntime::dev
