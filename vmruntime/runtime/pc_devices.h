// SPDX-License-Identifier: BSD-2-Clause
//
// The legacy PC platform of a machine: 8259A pair, 8254 PIT with port 0x61,
// 16550A on COM1, CMOS RTC, i8042, POST port 0x80, the debug-exit port and
// an empty PCI configuration space, wired to one port bus.  Lives on the
// machine's device strand and must be destroyed there.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>

#include "vmruntime/dev/cmos_rtc.h"
#include "vmruntime/dev/debug_port.h"
#include "vmruntime/dev/i8042.h"
#include "vmruntime/dev/io_bus.h"
#include "vmruntime/dev/pci_config.h"
#include "vmruntime/dev/pic8259.h"
#include "vmruntime/dev/pit8254.h"
#include "vmruntime/dev/port61.h"
#include "vmruntime/dev/uart16550.h"
#include "vmruntime/runtime/host_time.h"

namespace vmruntime::runtime {

struct PlatformEvents {
    std::function<void(uint32_t status)> power_off;  // debug-exit port
    std::function<void()> reset;                     // i8042 reset line
    std::function<void(bool level)> intr;            // the PIC's INT output
};

class PcDevices {
public:
    PcDevices(const Strand& strand, dev::Clock& clock, dev::ByteSink& console,
              PlatformEvents events);

    uint32_t read(uint16_t port, unsigned size) { return bus_.read(port, size); }
    void write(uint16_t port, unsigned size, uint32_t value) { bus_.write(port, size, value); }
    std::optional<uint8_t> acknowledge() { return pic_.acknowledge(); }
    size_t push_input(std::span<const uint8_t> bytes) { return uart_.push_input(bytes); }

    // A write the vCPU need not wait for: only the interrupt controller's
    // state must be settled before the vCPU decides on its next injection.
    static bool write_is_posted(uint16_t port);

private:
    void wire();

    PlatformEvents events_;
    dev::Pic8259Pair pic_;
    StrandTimer pit_timer_;
    StrandTimer rtc_timer_;
    dev::Pit8254 pit_;
    dev::Port61 port61_;
    dev::Uart16550 uart_;
    dev::CmosRtc rtc_;
    dev::I8042 i8042_;
    dev::PostCodePort post_;
    dev::DebugExitPort debug_exit_;
    dev::PciConfig pci_;
    dev::IoBus bus_;
};

}  // namespace vmruntime::runtime
