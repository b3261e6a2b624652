// SPDX-License-Identifier: BSD-2-Clause
//
// The legacy PC devices wired at the ports runtime/pc_devices.cc uses, on
// a fake clock, for the fuzzers that drive them (devices_fuzz,
// snapshot_fuzz).  A wiring bug traps: it is the fuzzer's, not the input's.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "tests/unit/dev/fakes.h"
#include "vmruntime/dev/cmos_rtc.h"
#include "vmruntime/dev/debug_port.h"
#include "vmruntime/dev/i8042.h"
#include "vmruntime/dev/io_bus.h"
#include "vmruntime/dev/pci_config.h"
#include "vmruntime/dev/pic8259.h"
#include "vmruntime/dev/pit8254.h"
#include "vmruntime/dev/port61.h"
#include "vmruntime/dev/uart16550.h"

namespace vmruntime::dev::fuzz {

// Console output is counted, not kept: a long run would fill memory.
class CountingSink final : public ByteSink {
public:
    void write(std::span<const uint8_t> bytes) override { count_ += bytes.size(); }

private:
    size_t count_ = 0;
};

struct PcPlatform {
    testing::FakeClock clock;
    testing::FakeTimer pit_timer{clock};
    testing::FakeTimer rtc_timer{clock};
    CountingSink console;
    Pic8259Pair pic;
    Pit8254 pit{clock, pit_timer, pic.line(0)};
    Port61 port61{pit};
    Uart16550 uart{pic.line(4), console};
    CmosRtc rtc{clock, rtc_timer, pic.line(8)};
    I8042 i8042{pic.line(1), pic.line(12), [] {}};
    PostCodePort post;
    DebugExitPort debug_exit{[](uint32_t) {}};
    PciConfig pci;
    GuestLog log{"fuzz", clock};
    IoBus bus{log};

    PcPlatform()
    {
        bool ok = bus.register_device(0x20, 2, pic.master()) && bus.register_device(0xA0, 2, pic.slave()) &&
                  bus.register_device(0x4D0, 2, pic.elcr()) && bus.register_device(0x40, 4, pit) &&
                  bus.register_device(0x61, 1, port61) && bus.register_device(0x3F8, 8, uart) &&
                  bus.register_device(0x70, 2, rtc) && bus.register_device(0x60, 1, i8042.data_port()) &&
                  bus.register_device(0x64, 1, i8042.command_port()) &&
                  bus.register_device(kPostCodePort, 1, post) &&
                  bus.register_device(kDefaultDebugExitPort, 1, debug_exit) &&
                  bus.register_device(0xCF8, 8, pci);
        if (!ok) {
            __builtin_trap();
        }
    }
    PcPlatform(const PcPlatform&) = delete;
    PcPlatform& operator=(const PcPlatform&) = delete;
};

}  // namespace vmruntime::dev::fuzz
