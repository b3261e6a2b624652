// SPDX-License-Identifier: BSD-2-Clause
//
// A running virtual machine: guest RAM, an nvmm machine, one pinned thread
// per vCPU and the PC devices on a strand of the shared device layer.
//
// Threads: vCPU threads run the guest and own their vCPU; the device strand
// owns the devices; any other thread may call the public methods.  Anything
// that touches a vCPU (its registers, pausing it) is served on the vCPU's
// own thread at its next exit, so the run loop takes no lock.
#pragma once

#include <nvmm.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "vmruntime/dev/console_ring.h"
#include "vmruntime/runtime/device_layer.h"
#include "vmruntime/runtime/host_time.h"
#include "vmruntime/runtime/machine_spec.h"
#include "vmruntime/runtime/snapshot_dir.h"
#include "vmruntime/runtime/snapshot_file.h"
#include "vmruntime/runtime/written_pages.h"

namespace vmruntime::runtime {

class PcDevices;
class VcpuRunner;
class VirtioDevices;

// What a machine may have, stated once: RAM from 2 MiB to 3 GiB in whole
// pages (below the 32-bit PCI/BIOS hole, where KVM keeps its real-mode
// TSS), and 1 to 64 vCPUs.
inline constexpr uint64_t kMinMemoryBytes = 2ULL << 20;
inline constexpr uint64_t kMaxMemoryBytes = 3ULL << 30;
inline constexpr unsigned kMaxVcpus = 64;

enum class MachineState { Created, Running, Paused, Stopped, Crashed };

// When a caller stops waiting for the vCPUs (steady clock).
using Deadline = std::chrono::steady_clock::time_point;
constexpr Deadline kNoDeadline = Deadline::max();

// What a call that needs the vCPUs came to: done; refused (the state
// forbids it, or nvmm did); invalid (values the host cannot run, see
// state_rules.h); or given up at its deadline because a vCPU did not answer
// by then.  All but Done change nothing.
enum class Outcome { Done, Refused, Invalid, Late };
const char* to_string(MachineState state);

struct MachineStatus {
    MachineState state = MachineState::Created;
    uint32_t exit_status = 0;  // Stopped: the guest's power-off status
    std::string reason;        // Stopped/Crashed: why
    bool guest_reset = false;  // Stopped: the guest asked for a reset
};

// Exits by reason, summed over the vCPUs.
struct ExitCounters {
    uint64_t io = 0, mmio = 0, halted = 0, interrupts = 0, stopped = 0, other = 0;
};

// The format `spec` boots with: its own, or the one its image's bytes name;
// nullopt, with `error` set, for bytes no loader takes.
std::optional<ImageFormat> resolve_format(const MachineSpec& spec, std::string* error);

class Machine {
public:
    // Builds the machine and loads its image; nothing runs yet.  Returns
    // nullptr and a message for a spec or image that cannot work.
    static std::unique_ptr<Machine> create(const MachineSpec& spec, DeviceLayer& layer,
                                           std::string* error);
    // Builds a machine from the snapshot in `dir` (docs/snapshot.md)
    // instead of an image: its RAM maps the snapshot's memory copy-on-write,
    // so the snapshot must not change while the machine lives.  The spec's
    // memory and vCPUs must be the snapshot's; its image is not used.  The
    // machine is Created: start() runs the guest from where it was.
    // Returns nullptr, a message and why for a snapshot it cannot take.
    static std::unique_ptr<Machine> restore(const MachineSpec& spec, const std::string& dir, DeviceLayer& layer,
                                            std::string* error, SnapshotDefect* defect = nullptr);
    static std::unique_ptr<Machine> restore(const MachineSpec& spec, const SnapshotFiles& files,
                                            DeviceLayer& layer, std::string* error,
                                            SnapshotDefect* defect = nullptr);
    ~Machine();
    Machine(const Machine&) = delete;
    Machine& operator=(const Machine&) = delete;

    const MachineSpec& spec() const { return spec_; }
    // How the image was loaded: spec().format, or what Auto found.
    ImageFormat image_format() const { return format_; }
    MachineStatus status() const;
    // Called with every new status, on whichever thread changed it.
    void on_status(std::function<void(const MachineStatus&)> observer);

    // What a snapshot holds a machine of: its shape, and how its image was
    // loaded.  None, or why not and a message.
    struct SnapshotShape {
        uint64_t memory_bytes = 0;
        unsigned vcpus = 0;
        ImageFormat format = ImageFormat::Auto;
    };
    static SnapshotDefect snapshot_shape(const SnapshotFiles& files, SnapshotShape* shape, std::string* error);

    // Each returns false, changing nothing, when the state forbids it.
    // `paused`: the vCPUs park before their first instruction, and the
    // machine is Paused once they have.
    bool start(bool paused = false);
    bool resume();
    // Returns once every vCPU is parked at an instruction boundary; Late if
    // one was not by `deadline` (the machine then runs on).
    Outcome pause(Deadline deadline = kNoDeadline);
    // Ends the machine (forced power off); returns once its threads are gone.
    void stop(const std::string& reason = "stopped by request");

    // Once the machine has ended (stopped or crashed): its devices give
    // their host resources back (disk files, taps, which one holder at a
    // time may have), so that a machine built again from the same spec can
    // take them.  Its console and status stay.  False, changing nothing,
    // while it has not ended.
    bool release_devices();

    // Writes the paused machine's memory and its vCPUs' and devices' state
    // into `dir` (created if missing; a snapshot there is replaced).
    // Refused unless paused, for machines with virtio devices, and if the
    // files cannot be written; Late if a vCPU did not answer by `deadline`.
    Outcome snapshot(const std::string& dir, std::string* error, Deadline deadline = kNoDeadline);

    // Returns a machine restored from a snapshot to that snapshot, in
    // place: the pages written since (by the guest or the host) are dropped
    // for the snapshot's, found in the host's page tables, and the vCPUs and
    // devices are reloaded.  A running machine runs on from the snapshot, a
    // paused one stays paused there.  Refused if the machine was not
    // restored from a snapshot or has ended; Late, nothing changed, if a
    // vCPU did not park by `deadline`.  `pages`: how many were restored.
    Outcome reset(std::string* error, Deadline deadline = kNoDeadline, uint64_t* pages = nullptr);

    // Waits until the machine has stopped or crashed.
    bool wait(std::chrono::milliseconds timeout);

    // The vCPU's state classes `flags` (NVMM_X64_STATE_*), read or written
    // on the vCPU's own thread.  Refused if the vCPU does not exist, the
    // machine is not running or paused, or nvmm refused; Invalid if the
    // state written, with the classes not written, is one KVM would not run;
    // Late if the vCPU did not take the request by `deadline` (it never
    // will).  `error` says which, naming the field for Invalid.
    Outcome get_state(unsigned vcpu, uint64_t flags, nvmm_x64_state* out, std::string* error,
                      Deadline deadline = kNoDeadline);
    Outcome set_state(unsigned vcpu, uint64_t flags, const nvmm_x64_state& in, std::string* error,
                      Deadline deadline = kNoDeadline);

    dev::ConsoleRing& console() { return console_; }
    // Host -> guest UART input; returns how many bytes the UART took.
    size_t console_input(std::span<const uint8_t> bytes);
    // Asks the guest to shut down: Ctrl-Alt-Del on its keyboard.  False if
    // it has no keyboard listening (not built, or the guest disabled it).
    bool request_shutdown();

    ExitCounters exit_counters() const;
    // CPU time the vCPU threads have used, summed (0 before start).
    std::chrono::nanoseconds vcpu_time() const;
    std::chrono::nanoseconds uptime() const;
    uint8_t* ram() { return ram_; }
    uint64_t ram_size() const { return spec_.memory_bytes; }

private:
    friend class VcpuRunner;

    Machine(const MachineSpec& spec, DeviceLayer& layer);
    static bool valid_shape(const MachineSpec& spec, std::string* error);
    // Guest RAM is anonymous, or `memory` mapped copy-on-write.
    bool build(std::string* error, int memory = -1);
    Outcome save_vcpus(SnapshotSections& out, std::string* error, Deadline deadline);
    bool restore_vcpus(const SnapshotSections& in, std::string* error);
    bool reload_vcpus(std::string* error, Deadline deadline);
    // On the strand; `in` must live until the future is ready.
    std::future<bool> restore_devices(const SnapshotSections& in, std::shared_ptr<std::string> error);
    bool drop_pages(const std::vector<PageRun>& runs, std::string* error);
    // Parks every vCPU; false, all let go again, if one did not by `deadline`.
    bool park_all(Deadline deadline);
    void unpark_all();
    bool load(std::string* error);
    int host_cpu_for(unsigned vcpu) const;

    bool interrupt_pending() const { return intr_.load(std::memory_order_acquire); }
    // Called by vCPU threads and device callbacks alike.
    void finish(MachineState state, uint32_t exit_status, std::string reason,
                bool guest_reset = false);

    void schedule_drain();
    void drain();
    // Applies `change` to the status under its lock (false: no change) and
    // tells the observer, outside the lock.
    bool update_status(const std::function<bool(MachineStatus&)>& change);
    // Moves from `from` to `to`; false if the machine is not in `from`.
    bool transition(MachineState from, MachineState to);
    Outcome run_on_vcpu(unsigned vcpu, std::function<bool(std::string*)> fn, std::string* error,
                        Deadline deadline);

    MachineSpec spec_;
    ImageFormat format_ = ImageFormat::Auto;
    DeviceLayer& layer_;
    Strand strand_;
    HostClock clock_;
    dev::ConsoleRing console_;

    nvmm_machine mach_{};
    bool have_mach_ = false;
    uint8_t* ram_ = nullptr;
    std::unique_ptr<PcDevices> devices_;
    std::unique_ptr<VirtioDevices> virtio_;  // after devices_: it drives their PIC
    std::vector<std::unique_ptr<VcpuRunner>> vcpus_;
    // The snapshot a restored machine came from, for reset(), and the file
    // its RAM maps.
    std::optional<SnapshotSections> origin_;
    std::shared_ptr<const base::UniqueFd> memory_file_;

    std::atomic<bool> intr_{false};
    std::atomic<bool> drain_scheduled_{false};

    mutable std::mutex status_mutex_;
    std::condition_variable status_cv_;
    MachineStatus status_;
    std::function<void(const MachineStatus&)> observer_;
    std::chrono::steady_clock::time_point started_{};
    std::chrono::steady_clock::time_point ended_{};
    std::mutex control_mutex_;  // serializes start/pause/resume/stop
};

}  // namespace vmruntime::runtime
