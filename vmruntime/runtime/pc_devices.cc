// SPDX-License-Identifier: BSD-2-Clause
//
// Port map and IRQ routing of the PC/AT: PIT on IRQ 0, COM1 on IRQ 4, the
// keyboard controller on IRQ 1 and 12, the RTC on IRQ 8.
#include "vmruntime/runtime/pc_devices.h"

#include <stdexcept>

namespace vmruntime::runtime {
namespace {

constexpr uint16_t kPicMaster = 0x20;
constexpr uint16_t kPicSlave = 0xA0;
constexpr uint16_t kElcr = 0x4D0;
constexpr uint16_t kPit = 0x40;
constexpr uint16_t kPort61 = 0x61;
constexpr uint16_t kCom1 = 0x3F8;
constexpr uint16_t kRtc = 0x70;
constexpr uint16_t kI8042Data = 0x60;
constexpr uint16_t kI8042Command = 0x64;
constexpr uint16_t kPciConfig = 0xCF8;

}  // namespace

PcDevices::PcDevices(const Strand& strand, dev::Clock& clock, dev::ByteSink& console,
                     PlatformEvents events)
    : events_(std::move(events)),
      pit_timer_(strand),
      rtc_timer_(strand),
      pit_(clock, pit_timer_, pic_.line(0)),
      port61_(pit_),
      uart_(pic_.line(4), console),
      rtc_(clock, rtc_timer_, pic_.line(8)),
      i8042_(pic_.line(1), pic_.line(12), [this] { events_.reset(); }),
      debug_exit_([this](uint32_t status) { events_.power_off(status); })
{
    pic_.on_intr_change([this](bool level) { events_.intr(level); });
    wire();
}

void PcDevices::wire()
{
    bool ok = bus_.register_device(kPicMaster, 2, pic_.master()) &&
              bus_.register_device(kPicSlave, 2, pic_.slave()) &&
              bus_.register_device(kElcr, 2, pic_.elcr()) &&
              bus_.register_device(kPit, 4, pit_) &&
              bus_.register_device(kPort61, 1, port61_) &&
              bus_.register_device(kCom1, 8, uart_) &&
              bus_.register_device(kRtc, 2, rtc_) &&
              bus_.register_device(kI8042Data, 1, i8042_.data_port()) &&
              bus_.register_device(kI8042Command, 1, i8042_.command_port()) &&
              bus_.register_device(dev::kPostCodePort, 1, post_) &&
              bus_.register_device(dev::kDefaultDebugExitPort, 1, debug_exit_) &&
              bus_.register_device(kPciConfig, 8, pci_);
    if (!ok) {
        throw std::logic_error("PC port map overlaps");  // a bug in the table above
    }
}

bool PcDevices::write_is_posted(uint16_t port)
{
    bool pic = (port & ~1) == kPicMaster || (port & ~1) == kPicSlave || (port & ~1) == kElcr;
    return !pic;
}

}  // namespace vmruntime::runtime
