// SPDX-License-Identifier: BSD-2-Clause
//
// The daemon's named machines.  Each entry keeps the spec it was created
// with (persisted in <state-dir>/machines, see SpecStore) and, once built,
// the runtime machine.  Machines found on disk at start are listed as
// stopped and built again by the next start.
//
// Threads: any.  Calls that wait for the runtime (create, start, pause,
// resume, remove) may block for a while, so the service runs them on its
// worker pool, never on a gRPC thread.  Observers are called on whichever
// thread changed a state, with no registry lock held.
#pragma once

#include <absl/status/status.h>
#include <absl/status/statusor.h>
#include <boost/asio/thread_pool.hpp>

#include <sched.h>

#include <atomic>
#include <bitset>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "server/client_file.h"
#include "server/console_log.h"
#include "server/snapshot_index.h"
#include "server/snapshot_memory.h"
#include "server/spec_store.h"
#include "vmruntime/runtime/device_layer.h"
#include "vmruntime/runtime/machine.h"
#include "vmruntime/v1/vmruntime.pb.h"

namespace vmruntime::server {

// The host CPUs this process may run on (its affinity mask).
std::bitset<CPU_SETSIZE> usable_host_cpus();
// The host's RAM and swap, in MiB.
uint64_t host_memory_mib();

// What one machine may ask for, and what all of them may have together.
struct Limits {
    uint64_t max_memory_mib = runtime::kMaxMemoryBytes >> 20;
    uint32_t max_vcpus = runtime::kMaxVcpus;
    // Where its vCPUs may be pinned.
    std::bitset<CPU_SETSIZE> cpus = usable_host_cpus();
    // The daemon's budgets: machines it holds (stored ones included), and
    // the guest memory they may commit between them.
    uint64_t max_machines = 10000;
    uint64_t max_total_memory_mib = host_memory_mib();
};

// INVALID_ARGUMENT unless `path` is absolute: the daemon's working
// directory means nothing to its clients.  `what` names the path.
absl::Status require_absolute(const std::string& what, const std::string& path);

// Whether Create may go on with `spec` under `limits` (its name, sizes,
// loader, paths, reboot policy and CPUs), before any file is opened:
// INVALID_ARGUMENT or RESOURCE_EXHAUSTED, with the field at fault named.
absl::Status check_spec(const v1::MachineSpec& spec, const Limits& limits);

class Registry {
public:
    using Observer = std::function<void(const v1::WatchEvent&)>;

    // Remote owners may name files only beneath `image_dirs` (absolute,
    // canonical paths).
    Registry(runtime::DeviceLayer& layer, std::filesystem::path state_dir, Limits limits,
             std::vector<std::string> image_dirs = {});
    // Powers off every machine still running.
    ~Registry();
    Registry(const Registry&) = delete;
    Registry& operator=(const Registry&) = delete;

    // Creates the state directory if needed, takes its lock (one daemon per
    // directory: FAILED_PRECONDITION if another holds it), removes the
    // temporary files an interrupted write left and lists the machines
    // stored there as stopped.  Unreadable files are logged and skipped.
    absl::Status load();

    // `owner` replaces whatever owner the spec carries: the files it names
    // are opened with the owner's rights, now and at every later Start.
    // `start`: runs it too, before any other call can act on it.
    absl::StatusOr<v1::MachineInfo> create(v1::MachineSpec spec, const v1::Owner& owner, bool start = false);
    // For an Upload of `spec`, which names no image or initrd: whether
    // Create may go on, and the most bytes the two may have together.
    absl::StatusOr<uint64_t> upload_limit(const v1::MachineSpec& spec) const;
    // `paused`: the vCPUs park before their first instruction.
    absl::StatusOr<v1::MachineInfo> start(const std::string& name, bool paused = false);
    // DEADLINE_EXCEEDED, the machine running on, if its vCPUs did not all
    // park by `deadline`.
    absl::StatusOr<v1::MachineInfo> pause(const std::string& name, runtime::Deadline deadline = runtime::kNoDeadline);
    absl::StatusOr<v1::MachineInfo> resume(const std::string& name);
    // Asks a running guest to shut down (Machine::request_shutdown), and
    // keeps the reset that follows from restarting it, whatever its
    // on_reboot, until its next start.  False if the guest has no keyboard
    // listening.
    absl::StatusOr<bool> request_shutdown(const std::string& name);
    // Forgets the machine and its file; FAILED_PRECONDITION for a running
    // or paused one unless `force`, which powers it off first.
    absl::Status remove(const std::string& name, bool force);
    // Starts, one after another on a thread of the registry's, the stored
    // machines whose spec says autostart; failures are logged.
    void autostart();

    // Snapshots (docs/snapshot.md), their files written and read with
    // `caller`'s rights; a remote caller may name no host path.
    // Snapshot: FAILED_PRECONDITION unless paused.
    absl::StatusOr<v1::SnapshotResponse> snapshot(const std::string& name, const std::string& dir,
                                                  const v1::Owner& caller, runtime::Deadline deadline);
    // Creates machine `name` from the snapshot in `dir`, owned by `caller`,
    // and starts it (paused there if `paused`).
    absl::StatusOr<v1::MachineInfo> restore(const std::string& name, const std::string& dir, bool paused,
                                            const std::vector<int>& cpus, const v1::Owner& caller);
    // Returns a restored machine to its snapshot in place; FAILED_PRECONDITION
    // for a machine not restored from one, or not running or paused.
    absl::StatusOr<v1::ResetResponse> reset(const std::string& name, runtime::Deadline deadline);
    // The snapshots this daemon wrote, with their size now and the machines
    // made from them.
    v1::ListSnapshotsResponse list_snapshots() const;

    absl::StatusOr<v1::MachineInfo> get(const std::string& name) const;
    std::vector<v1::MachineInfo> list() const;

    // The runtime machine behind `name`; FAILED_PRECONDITION (`verb` says
    // for what) if it was not built since the daemon started.
    absl::StatusOr<std::shared_ptr<runtime::Machine>> machine(const std::string& name,
                                                              const std::string& verb) const;

    // Every state change, creation and deletion from now on.
    int subscribe(Observer observer);
    void unsubscribe(int id);

    // Powers off every machine, with `reason`.
    void stop_all(const std::string& reason);

    // The machines' console history, in <state-dir>/logs.
    ConsoleLogs& console_logs() { return console_logs_; }

private:
    struct Entry {
        v1::MachineSpec spec;  // as persisted: image_bytes included
        std::shared_ptr<runtime::Machine> machine;
        bool building = true;  // create has not finished: invisible
        // A Stop asked the guest to shut down: its reset ends it.
        std::atomic<bool> stopping{false};
        std::mutex control;    // serializes start/pause/resume/remove
        // machine is written under both control and the registry mutex.
    };

    // An entry with its control lock held.  The lock comes after the
    // pointer, so it is released first: the entry's mutex is still there
    // to unlock even when remove() has dropped the registry's reference.
    struct LockedEntry {
        std::shared_ptr<Entry> entry;
        std::unique_lock<std::mutex> control;
    };

    std::shared_ptr<Entry> find(const std::string& name) const;
    // Under mutex_: whether the budgets have room for one more machine with
    // `memory_mib` of RAM.
    absl::Status check_budget(const std::string& name, uint64_t memory_mib) const;
    absl::StatusOr<LockedEntry> lock_entry(const std::string& name);
    std::shared_ptr<runtime::Machine> current(const Entry& entry) const;
    absl::StatusOr<v1::MachineInfo> control(const std::string& name, const std::string& verb,
                                            const std::function<runtime::Outcome(runtime::Machine&)>& op);
    absl::StatusOr<std::shared_ptr<runtime::Machine>> build(const v1::MachineSpec& spec);
    absl::StatusOr<std::shared_ptr<runtime::Machine>> build_and_store(v1::MachineSpec& spec);
    absl::StatusOr<runtime::MachineSpec> prepare(const v1::MachineSpec& spec);
    absl::StatusOr<std::shared_ptr<runtime::Machine>> make(const runtime::MachineSpec& prepared, bool restart);
    void watch(const std::string& name, bool restart, const std::shared_ptr<runtime::Machine>& machine);
    absl::StatusOr<std::shared_ptr<runtime::Machine>> restore_snapshot(const v1::MachineSpec& spec);
    FileRights rights_of(const v1::Owner& owner) const;
    absl::Status lock_state_dir();
    v1::MachineInfo info(const v1::MachineSpec& spec,
                         const std::shared_ptr<runtime::Machine>& machine) const;
    void publish(const v1::WatchEvent& event);
    void restart_after_reset(const std::string& name);

    runtime::DeviceLayer& layer_;
    std::filesystem::path dir_;
    SpecStore store_;
    SnapshotIndex snapshots_;
    SnapshotMemory snapshot_memory_;
    Limits limits_;
    std::vector<std::string> image_dirs_;
    int lock_fd_ = -1;  // flock()ed while the daemon lives

    mutable std::mutex mutex_;
    std::map<std::string, std::shared_ptr<Entry>> entries_;

    std::mutex observers_mutex_;
    std::map<int, Observer> observers_;
    int next_observer_ = 0;

    // Machines whose guest reset and whose spec says restart, and those
    // the daemon starts when it starts.
    boost::asio::thread_pool restarts_{1};
    // Writes the specs of new machines while Create builds them.
    boost::asio::thread_pool store_writer_{2};
    std::atomic<bool> closing_{false};
    // Last, so destroyed first, while the machines live: it writes out
    // what their console rings still hold.
    ConsoleLogs console_logs_{dir_ / "logs"};
};

// Maps the runtime's state to the API's.
v1::MachineState to_proto(runtime::MachineState state);

}  // namespace vmruntime::server
