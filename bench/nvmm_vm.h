// SPDX-License-Identifier: BSD-2-Clause
//
// The measured side of nvmm-bench: the same real-mode guest as RawKvmVm
// (guests/out_loop.S), set up and run through <nvmm.h> only.
#pragma once

#include <nvmm.h>

#include <cstdint>

#include "guest_ram.h"

namespace vmruntime::bench {

class NvmmVm {
public:
    // Starts at `entry`: kGuestEntry (the OUT loop) or kMmioEntry.
    explicit NvmmVm(uint64_t entry = kGuestEntry);  // exits the process on any failure (with a hint when /dev/kvm is missing)
    ~NvmmVm();
    NvmmVm(const NvmmVm&) = delete;
    NvmmVm& operator=(const NvmmVm&) = delete;

    // n exits, one nvmm_vcpu_run each and nothing else.
    void run_exits(uint64_t n);
    // n MMIO write exits (a VM started at kMmioEntry), each answered by nvmm_assist_mem.
    void run_mmio(uint64_t n);
    // n exits, each doing getstate(GPRS), checking RAX holds the value written
    // at the previous exit, writing it plus one and setstate(GPRS).
    void run_regs(uint64_t n);
    // One exit and one getstate(GPRS): afterwards GPRS are cached.
    void exit_and_fetch_gprs();
    // n getstate(GPRS) calls; after exit_and_fetch_gprs() the comm page serves them.
    void getstate_gprs(uint64_t n);

private:
    void map_ram();
    void enter_real_mode();
    void run_once();

    GuestRam ram_;
    nvmm_machine mach_{};
    nvmm_vcpu vcpu_{};
    uint64_t rax_ = 0;  // value the guest's RAX must hold at the next exit
    uint64_t entry_;
};

}  // namespace vmruntime::bench
