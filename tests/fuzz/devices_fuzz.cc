// SPDX-License-Identifier: BSD-2-Clause
//
// Every legacy PC device's port surface, driven as a guest would drive it:
// the input is a sequence of port reads and writes (mostly at the devices'
// own ports), interrupt acknowledges, IRQ line changes, console input and
// steps of a fake clock that fire the PIT's and the RTC's timers, on time
// or late.  Wired at the ports runtime/pc_devices.cc uses.
#include <fuzzer/FuzzedDataProvider.h>

#include <array>
#include <chrono>

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

namespace {

using namespace vmruntime::dev;

// Console output is counted, not kept: a long run would fill memory.
class CountingSink final : public ByteSink {
public:
    void write(std::span<const uint8_t> bytes) override { count_ += bytes.size(); }

private:
    size_t count_ = 0;
};

struct Platform {
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

    Platform()
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
};

constexpr std::array<uint16_t, 12> kBases = {0x20, 0xA0, 0x4D0, 0x40, 0x61, 0x3F8,
                                             0x70, 0x60, 0x64, 0x80, 0x501, 0xCF8};

uint16_t pick_port(FuzzedDataProvider& in)
{
    uint8_t choice = in.ConsumeIntegral<uint8_t>();
    if (choice < 16) {
        return in.ConsumeIntegral<uint16_t>();  // anywhere: the floating bus
    }
    return static_cast<uint16_t>(kBases[choice % kBases.size()] + in.ConsumeIntegralInRange(0, 7));
}

unsigned pick_size(FuzzedDataProvider& in)
{
    constexpr std::array<unsigned, 3> kSizes = {1, 2, 4};
    return kSizes[in.ConsumeIntegralInRange<size_t>(0, 2)];
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    FuzzedDataProvider in(data, size);
    Platform pc;
    while (in.remaining_bytes() > 0) {
        switch (in.ConsumeIntegralInRange(0, 7)) {
        case 0:
        case 1: {
            uint16_t port = pick_port(in);
            unsigned width = pick_size(in);
            if (pc.bus.read(port, width) > all_ones(width)) {
                __builtin_trap();  // no bits above the access width
            }
            break;
        }
        case 2:
        case 3: {
            uint16_t port = pick_port(in);
            unsigned width = pick_size(in);
            pc.bus.write(port, width, in.ConsumeIntegral<uint32_t>());
            break;
        }
        case 4:  // up to 10 ms: a fast PIT fires ~12,000 times in that
            pc.clock.advance(std::chrono::nanoseconds(in.ConsumeIntegralInRange<uint32_t>(0, 10'000'000)));
            break;
        case 5:  // a busy strand: the timers run late
            pc.clock.advance_late(std::chrono::nanoseconds(in.ConsumeIntegralInRange<uint32_t>(0, 100'000'000)));
            pc.clock.fire_due();
            break;
        case 6: {
            auto bytes = in.ConsumeBytes<uint8_t>(in.ConsumeIntegralInRange(0, 32));
            pc.uart.push_input(bytes);
            break;
        }
        case 7:
            if (in.ConsumeBool()) {
                pc.pic.acknowledge();
            } else {
                pc.pic.set_irq(in.ConsumeIntegralInRange(0u, 15u), in.ConsumeBool());
            }
            break;
        }
    }
    return 0;
}
