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

#include "tests/fuzz/pc_platform.h"

namespace {

using namespace vmruntime::dev;

using Platform = fuzz::PcPlatform;

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
