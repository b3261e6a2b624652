// SPDX-License-Identifier: BSD-2-Clause
//
// One vCPU's thread: pinned to a host CPU, it runs the zero-copy loop on
// the vCPU's comm page (registers are read and written in place), sends
// port and MMIO accesses to the device strand through its IoChannel, injects the
// PIC's interrupts at NVMM's interrupt windows, sleeps while the guest is
// halted, runs the PIT's expiries (vCPU 0: a signal at each deadline takes
// it out of the guest or its sleep), and serves the machine's control
// requests at exits.
#pragma once

#include <nvmm.h>
#include <time.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <thread>
#include <utility>

#include "vmruntime/runtime/machine.h"
#include "vmruntime/runtime/io_channel.h"

namespace vmruntime::runtime {

class Machine;
class PcDevices;
class VirtioDevices;
struct ExitCounters;

class VcpuRunner {
public:
    using Request = std::function<bool(nvmm_machine*, nvmm_vcpu*, std::string*)>;

    VcpuRunner(Machine& machine, unsigned id, int host_cpu);
    ~VcpuRunner();
    VcpuRunner(const VcpuRunner&) = delete;
    VcpuRunner& operator=(const VcpuRunner&) = delete;

    // nvmm_vcpu_create and the assist callbacks; 0 or an errno.
    int create(nvmm_machine* mach);
    nvmm_vcpu* vcpu() { return &vcpu_; }

    void start();
    void set_paused(bool paused);
    // False if the vCPU neither parked nor exited by `deadline`.
    bool wait_parked(Deadline deadline);
    void finish();
    void join();
    // Runs `fn` on the vCPU thread at its next exit (or while parked):
    // Done or Refused as `fn` says, Refused if the thread is gone, Late
    // (and `fn` never runs) if the thread did not take it by `deadline`.
    Outcome run_request(Request fn, std::string* error, Deadline deadline);
    // Makes the vCPU look at its interrupt line and requests now.
    void kick();

    // Device-strand side of the channel.
    void serve_channel(PcDevices& ports, VirtioDevices& memory);
    bool channel_busy() { return !channel_.ring.empty(); }

    // vCPU side of the channel.
    uint64_t call(IoRequest request);
    void post(IoRequest request);
    // A write to a device: posted when the machine allows it, else waited for.
    void write(IoRequest request);
    // The PIC, the PIT and port 0x61, reached from the vCPU thread.
    void direct_io(nvmm_io* io);
    // An MMIO access: to a virtio window through the channel, else to an
    // empty bus.
    void mmio(nvmm_mem* mem);
    // From the PIT timer's signal handler, on this vCPU's thread.
    void timer_signalled();
    // From the device strand, when the host refused the timer's signal.
    void timer_expired_on_strand();

    void add_counters(ExitCounters& total) const;
    // CPU time the vCPU's thread has used, in the guest and out of it: its
    // thread CPU clock read on demand, so the run loop pays nothing for it.
    std::chrono::nanoseconds cpu_time() const;

    // Whether the guest sits in HLT, waiting for an interrupt: read on the
    // vCPU thread (in a request), set before start() by a restore.
    bool halted() const { return halted_; }
    void set_halted(bool halted) { halted_ = halted; }

private:
    struct PendingRequest {
        Request fn;
        bool done = false;
        bool ok = false;
        std::string error;
    };

    void thread_main();
    void open_cpu_clock();
    void close_cpu_clock();
    void exit_thread();
    void loop();
    void wait_for_startup();
    bool attend();
    void serve_requests(std::unique_lock<std::mutex>& lock);
    void park(std::unique_lock<std::mutex>& lock);
    void pre_run();
    bool handle_exit();
    void wait_for_interrupt();
    void serve_timer();
    std::string describe_failure();
    size_t read_code(uint64_t gva, std::span<uint8_t> code);
    void push(const IoRequest& request);
    void settle_posted();
    void refuse_msr(bool write, uint32_t msr, uint64_t value);

    Machine& machine_;
    unsigned id_;
    int host_cpu_;
    nvmm_machine* mach_ = nullptr;
    nvmm_vcpu vcpu_{};
    bool have_vcpu_ = false;
    std::thread thread_;

    IoChannel channel_;
    uint32_t calls_ = 0;   // vCPU thread only: tickets of waited requests
    uint64_t posted_ = 0;  // vCPU thread only: posted writes pushed
    // vCPU thread only: the MSR accesses already logged, bounded.
    std::set<std::pair<bool, uint32_t>> msrs_logged_;

    // Control: `attention_` is the run loop's only per-exit check.
    std::atomic<bool> attention_{false};
    std::atomic<bool> finishing_{false};
    std::atomic<uint32_t> wake_{0};
    std::atomic<bool> timer_due_{false};  // set by the timer's signal handler
    bool serves_timer_ = false;
    bool halted_ = false;  // vCPU thread only, but for set_halted
    std::mutex mutex_;
    std::condition_variable cv_;
    bool pause_ = false;
    bool parked_ = false;
    bool exited_ = false;
    std::deque<PendingRequest*> requests_;

    // Other threads read the vCPU thread's CPU clock only under this lock
    // and while the thread holds the clock open: the clock names the
    // thread's TID, which a new thread may take once this one is gone.
    mutable std::mutex clock_mutex_;
    std::optional<clockid_t> cpu_clock_;
    std::chrono::nanoseconds cpu_used_{0};  // once the thread is gone

    std::atomic<uint64_t> n_io_{0}, n_mmio_{0}, n_halted_{0}, n_interrupts_{0}, n_stopped_{0},
        n_other_{0};
};

}  // namespace vmruntime::runtime
