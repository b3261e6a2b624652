// SPDX-License-Identifier: BSD-2-Clause
//
// The baseline of runtime-bench pio: a bare libnvmm machine running a flat
// long-mode guest on the calling thread, whose io callback answers port
// 0x80 from a dev::PostCodePort right there, on the vCPU's thread, and
// stops at the guest's write to the debug-exit port.  No queue, no device
// strand: what a port read costs without the runtime's device layer.
#pragma once

#include <nvmm.h>

#include <cstdint>
#include <span>
#include <string>

#include "vmruntime/dev/debug_port.h"

namespace vmruntime::runtime_bench {

class RawPioVm {
public:
    // Loads `image` at 1 MiB in 4 MiB of RAM, as a Machine with a flat
    // long-mode spec does.  Exits the process on any failure.
    RawPioVm(std::span<const uint8_t> image, const std::string& cmdline);
    ~RawPioVm();
    RawPioVm(const RawPioVm&) = delete;
    RawPioVm& operator=(const RawPioVm&) = delete;

    // Runs the guest until it writes the debug-exit port; returns its
    // port-I/O exits.
    uint64_t run();

private:
    static void on_io(struct nvmm_io* io);
    static void on_mem(struct nvmm_mem* mem);

    nvmm_machine mach_{};
    nvmm_vcpu vcpu_{};
    uint8_t* ram_ = nullptr;
    dev::PostCodePort post_;
    bool powered_off_ = false;
};

}  // namespace vmruntime::runtime_bench
