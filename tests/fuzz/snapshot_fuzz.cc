// SPDX-License-Identifier: BSD-2-Clause
//
// Restoring the legacy PC devices from a snapshot, which is untrusted: the
// input's first byte picks how.  'V' (a state file's magic begins so, and a
// real state file is an input as it is): the whole input is a state file,
// decoded and its sections restored as runtime/pc_devices.cc does, a missing
// one skipped.  Anything else: the rest is the eight sections' payloads,
// restored straight into the devices, since the CRC keeps random state files
// from ever reaching them.  A restored platform is then driven a little as a
// guest would drive it (port reads, interrupt acknowledges, clock steps that
// fire the timers), so that a state that restore let through but no guest
// could have made trips an invariant or a sanitizer here.
#include <fuzzer/FuzzedDataProvider.h>

#include <array>
#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "tests/fuzz/pc_platform.h"
#include "vmruntime/dev/device_state.h"
#include "vmruntime/runtime/snapshot_file.h"

namespace {

using namespace vmruntime::dev;
using vmruntime::runtime::SnapshotDefect;
using vmruntime::runtime::SnapshotSections;

// The platform, plus the INT level as the PIC last reported it.
struct Platform : fuzz::PcPlatform {
    bool intr = false;

    Platform() { pic.on_intr_change([this](bool level) { intr = level; }); }

    // pc_devices.cc's each_saved_device: its names, in its order (the PIT
    // before port 0x61, whose restore checks GATE2 against it); stops at the
    // first `fn` that returns false.
    template <class Fn>
    bool each_saved_device(Fn fn)
    {
        return fn("pic", pic) && fn("pit", pit) && fn("port61", port61) && fn("uart", uart) && fn("rtc", rtc) &&
               fn("i8042", i8042) && fn("pci", pci) && fn("post", post);
    }
};

// Every port of every device, at every width: the reads that pop the UART's
// FIFO and the i8042's queue, poll the PIC and clear the RTC's flags.
constexpr std::array<std::pair<uint16_t, uint16_t>, 11> kRanges = {
    {{0x20, 2}, {0xA0, 2}, {0x4D0, 2}, {0x40, 4}, {0x61, 1}, {0x3F8, 8}, {0x70, 2}, {0x60, 1}, {0x64, 1},
     {kPostCodePort, 1}, {0xCF8, 8}}};

void drive(Platform& pc)
{
    for (int round = 0; round < 3; round++) {
        for (auto [base, length] : kRanges) {
            for (uint16_t offset = 0; offset < length; offset++) {
                for (unsigned width : {1u, 2u, 4u}) {
                    if (pc.bus.read(static_cast<uint16_t>(base + offset), width) > all_ones(width)) {
                        __builtin_trap();  // no bits above the access width
                    }
                }
            }
        }
        // An interrupt handler's work: INTA, the RTC's register C, EOI.
        if (pc.pic.has_interrupt()) {
            pc.pic.acknowledge();
        }
        pc.bus.write(0x70, 1, 0x0c);
        pc.bus.read(0x71, 1);
        pc.bus.write(0xA0, 1, 0x20);
        pc.bus.write(0x20, 1, 0x20);
        // On time, then late: restored deadlines fire either way.
        pc.clock.advance(std::chrono::milliseconds(2));
        pc.clock.advance_late(std::chrono::milliseconds(50));
        pc.clock.fire_due();
        if (pc.intr != pc.pic.has_interrupt()) {
            __builtin_trap();  // the observer missed an INT change
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    if (size == 0) {
        return 0;
    }
    Platform pc;
    SnapshotSections sections;
    if (data[0] == 'V') {
        std::string error;
        if (sections.decode({data, size}, &error) != SnapshotDefect::None) {
            return 0;
        }
        // The framing has one spelling: what decodes encodes back to itself.
        if (sections.encode() != std::vector<uint8_t>(data, data + size)) {
            __builtin_trap();
        }
    } else {
        FuzzedDataProvider in(data + 1, size - 1);
        pc.each_saved_device([&](const char* name, auto&) {
            std::string payload = in.ConsumeRandomLengthString();
            sections.add(name, {payload.begin(), payload.end()});
            return true;
        });
    }
    bool restored = pc.each_saved_device([&](const char* name, auto& device) {
        const std::vector<uint8_t>* bytes = sections.find(name);
        if (!bytes) {
            return true;  // the device stays as a fresh one
        }
        StateReader r(*bytes);
        return device.restore(r) && r.done();
    });
    if (restored) {
        drive(pc);
    }
    return 0;
}
