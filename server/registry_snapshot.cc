// SPDX-License-Identifier: BSD-2-Clause
//
// The registry's snapshots: a paused machine written to a directory, a
// machine made from one, and such a machine reset to it in place.  The
// snapshot's files are the caller's: written and opened with its rights, as
// the files a spec names are (client_file.h), and a remote caller may name
// no host path.
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <chrono>
#include <map>
#include <optional>

#include "server/fs_identity.h"
#include "server/registry.h"
#include "server/status.h"
#include "vmruntime/base/log.h"

namespace vmruntime::server {
namespace {

// Runs `fn` with the filesystem rights of `rights`.
template <class Fn>
absl::Status as_caller(const FileRights& rights, const std::string& dir, Fn fn)
{
    if (rights.kind == FileRights::Kind::kBeneath) {
        return file_denied("snapshot " + dir + ": a remote client may not name paths on the daemon's host");
    }
    std::optional<ThreadFsIdentity> identity;
    if (rights.kind == FileRights::Kind::kUser) {
        identity.emplace(rights.uid, rights.gid);
        if (!identity->ok()) {
            return file_denied("snapshot " + dir + ": the daemon may not take the rights of uid " +
                               std::to_string(rights.uid) + " (it needs CAP_SETUID and CAP_SETGID)");
        }
    }
    return fn();
}

absl::Status check_dir(const std::string& dir)
{
    if (dir.size() >= PATH_MAX) {
        return bad_request("a snapshot path of " + std::to_string(dir.size()) + " bytes is longer than PATH_MAX");
    }
    return require_absolute("snapshot", dir);
}

absl::Status dir_failure(const std::string& dir, int err)
{
    const std::string why = "snapshot directory " + dir + ": " + std::strerror(err);
    if (err == ENOENT || err == ENOTDIR) {
        return no_such_file(why);
    }
    if (err == EACCES || err == EPERM || err == EROFS) {
        return file_denied(why);
    }
    return bad_request(why);
}

// Made as the caller, so that its rights decide, before any state is
// gathered.
absl::Status make_dir(const std::string& dir)
{
    if (mkdir(dir.c_str(), 0700) == -1 && errno != EEXIST) {
        return dir_failure(dir, errno);
    }
    if (faccessat(AT_FDCWD, dir.c_str(), W_OK | X_OK, AT_EACCESS) == -1) {  // as the caller's fsuid, not the real uid
        return dir_failure(dir, errno);
    }
    return absl::OkStatus();
}

// The state and the memory files beside it.
uint64_t disk_bytes(const std::string& dir)
{
    uint64_t total = 0;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
        const std::string name = entry.path().filename().string();
        struct stat st {};
        if ((name == "state" || name.rfind("memory-", 0) == 0) && lstat(entry.path().c_str(), &st) == 0 &&
            S_ISREG(st.st_mode)) {
            total += static_cast<uint64_t>(st.st_blocks) * 512;
        }
    }
    return total;
}

absl::Status refused(runtime::SnapshotDefect defect, const std::string& error)
{
    switch (defect) {
    case runtime::SnapshotDefect::Missing: return no_such_file(error);
    case runtime::SnapshotDefect::Denied: return file_denied(error);
    case runtime::SnapshotDefect::Corrupt: return corrupt_snapshot(error);
    case runtime::SnapshotDefect::Foreign: return unsupported(error);
    case runtime::SnapshotDefect::Mismatch: return bad_request(error);
    case runtime::SnapshotDefect::None: break;
    }
    return host_failure(error);
}

absl::Status open_files(const std::string& dir, const FileRights& rights, runtime::SnapshotFiles* files)
{
    std::string error;
    runtime::SnapshotDefect defect = runtime::SnapshotDefect::None;
    auto opened = as_caller(rights, dir, [&] {
        defect = runtime::SnapshotFiles::open(dir, files, &error);
        return absl::OkStatus();
    });
    if (!opened.ok() || defect == runtime::SnapshotDefect::None) {
        return opened;
    }
    return refused(defect, error);
}

bool has_virtio(const v1::MachineSpec& spec)
{
    return spec.disks_size() > 0 || spec.nets_size() > 0 || spec.has_vsock();
}

}  // namespace

absl::StatusOr<v1::SnapshotResponse> Registry::snapshot(const std::string& name, const std::string& dir,
                                                        const v1::Owner& caller, runtime::Deadline deadline)
{
    if (auto ok = check_dir(dir); !ok.ok()) {
        return ok;
    }
    auto locked = lock_entry(name);
    if (!locked.ok()) {
        return locked.status();
    }
    Entry& entry = *locked->entry;
    std::shared_ptr<runtime::Machine> machine = current(entry);
    const auto state = machine ? machine->status().state : runtime::MachineState::Stopped;
    if (state != runtime::MachineState::Paused) {
        return wrong_state(name, std::string(runtime::to_string(state)) + " (pause it first)", "snapshot");
    }
    if (has_virtio(entry.spec)) {
        return unsupported("machine " + quote_name(name) +
                           " has virtio devices: snapshots of such machines are not supported yet");
    }
    std::string error;
    runtime::Outcome outcome = runtime::Outcome::Refused;
    auto written = as_caller(rights_of(caller), dir, [&]() -> absl::Status {
        if (auto made = make_dir(dir); !made.ok()) {
            return made;
        }
        outcome = machine->snapshot(dir, &error, deadline);
        return absl::OkStatus();
    });
    if (!written.ok()) {
        return written;
    }
    if (outcome == runtime::Outcome::Late) {
        return too_late("snapshot of machine " + quote_name(name) + ": " + error + "; nothing was written");
    }
    if (outcome != runtime::Outcome::Done) {
        return host_failure("snapshot of machine " + quote_name(name) + ": " + error);
    }
    base::log_info("registry", "saved machine ", name, " in ", dir);
    v1::SnapshotInfo record;
    record.set_dir(dir);
    record.set_machine(name);
    record.set_taken_at(std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch()).count());
    record.set_memory_mib(entry.spec.memory_mib());
    record.set_vcpus(entry.spec.vcpus());
    *record.mutable_owner() = caller;
    if (auto recorded = snapshots_.record(record); !recorded.ok()) {
        base::log_warn("registry", "the snapshot in ", dir, " will not be listed: ", recorded.message());
    }
    v1::SnapshotResponse response;
    *response.mutable_machine() = info(entry.spec, machine);
    response.set_disk_bytes(disk_bytes(dir));
    return response;
}

absl::StatusOr<v1::MachineInfo> Registry::restore(const std::string& name, const std::string& dir, bool paused,
                                                  const std::vector<int>& cpus, const v1::Owner& caller)
{
    if (auto ok = check_dir(dir); !ok.ok()) {
        return ok;
    }
    runtime::SnapshotFiles files;
    if (auto opened = open_files(dir, rights_of(caller), &files); !opened.ok()) {
        return opened;
    }
    runtime::Machine::SnapshotShape shape;
    std::string error;
    if (auto defect = runtime::Machine::snapshot_shape(files, &shape, &error);
        defect != runtime::SnapshotDefect::None) {
        return refused(defect, error);
    }
    if (shape.memory_bytes % (1 << 20) != 0) {
        return bad_request("snapshot " + dir + " has " + std::to_string(shape.memory_bytes >> 10) +
                           " KiB of memory: the daemon's machines have whole MiB");
    }
    v1::MachineSpec spec;
    spec.set_name(name);
    spec.set_snapshot(dir);
    spec.set_memory_mib(shape.memory_bytes >> 20);
    spec.set_vcpus(shape.vcpus);
    spec.mutable_cpus()->Add(cpus.begin(), cpus.end());
    if (auto created = create(spec, caller); !created.ok()) {
        return created;
    }
    auto started = start(name, paused);
    if (!started.ok()) {
        // A machine Restore could not run is no machine the caller asked for.
        if (auto removed = remove(name, true); !removed.ok()) {
            base::log_warn("registry", "cannot forget machine ", name, ": ", removed.message());
        }
    }
    return started;
}

absl::StatusOr<std::shared_ptr<runtime::Machine>> Registry::restore_snapshot(const v1::MachineSpec& spec)
{
    runtime::SnapshotFiles files;
    if (auto opened = open_files(spec.snapshot(), rights_of(spec.owner()), &files); !opened.ok()) {
        return opened;
    }
    auto copy = snapshot_memory_.copy_of(files.memory->get());
    if (!copy.ok()) {
        return copy.status();
    }
    files.memory = *std::move(copy);
    runtime::MachineSpec rs;
    rs.name = spec.name();
    rs.memory_bytes = spec.memory_mib() << 20;
    rs.vcpus = spec.vcpus();
    rs.cpus.assign(spec.cpus().begin(), spec.cpus().end());
    std::string error;
    runtime::SnapshotDefect defect = runtime::SnapshotDefect::None;
    std::shared_ptr<runtime::Machine> machine = runtime::Machine::restore(rs, files, layer_, &error, &defect);
    if (!machine) {
        return refused(defect, "machine " + quote_name(spec.name()) + ": " + error);
    }
    return machine;
}

absl::StatusOr<v1::ResetResponse> Registry::reset(const std::string& name, runtime::Deadline deadline)
{
    auto locked = lock_entry(name);
    if (!locked.ok()) {
        return locked.status();
    }
    Entry& entry = *locked->entry;
    if (entry.spec.snapshot().empty()) {
        return unsupported("machine " + quote_name(name) +
                           " was not restored from a snapshot: there is none to reset it to");
    }
    std::shared_ptr<runtime::Machine> machine = current(entry);
    if (!machine) {
        return wrong_state(name, "stopped", "reset");
    }
    std::string error;
    uint64_t pages = 0;
    switch (machine->reset(&error, deadline, &pages)) {
    case runtime::Outcome::Done:
        break;
    case runtime::Outcome::Late:
        return too_late("cannot reset machine " + quote_name(name) + ": " + error + "; nothing changed");
    case runtime::Outcome::Refused:
    case runtime::Outcome::Invalid:
        const auto state = machine->status().state;
        return state == runtime::MachineState::Crashed ? host_failure(error)
                                                       : wrong_state(name, runtime::to_string(state), "reset");
    }
    v1::ResetResponse response;
    *response.mutable_machine() = info(entry.spec, machine);
    response.set_pages(pages);
    return response;
}

v1::ListSnapshotsResponse Registry::list_snapshots() const
{
    std::multimap<std::string, std::string> made_from;
    for (const v1::MachineInfo& machine : list()) {
        if (!machine.spec().snapshot().empty()) {
            made_from.emplace(machine.spec().snapshot(), machine.spec().name());
        }
    }
    v1::ListSnapshotsResponse response;
    for (v1::SnapshotInfo& info : snapshots_.list()) {
        // As its owner: the listing tells nobody of files the owner cannot see.
        (void)as_caller(rights_of(info.owner()), info.dir(), [&] {
            struct stat st {};
            info.set_present(lstat((info.dir() + "/state").c_str(), &st) == 0 && S_ISREG(st.st_mode));
            info.set_disk_bytes(info.present() ? disk_bytes(info.dir()) : 0);
            return absl::OkStatus();
        });
        auto [first, last] = made_from.equal_range(info.dir());
        for (auto it = first; it != last; ++it) {
            info.add_machines(it->second);
        }
        *response.add_snapshots() = std::move(info);
    }
    return response;
}

}  // namespace vmruntime::server
