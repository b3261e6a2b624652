// SPDX-License-Identifier: BSD-2-Clause
#include "server/registry.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/file.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include <boost/asio/post.hpp>

#include <cerrno>
#include <climits>
#include <cstring>
#include <future>
#include <iterator>
#include <set>

#include "server/client_file.h"
#include "server/status.h"
#include "server/taps.h"
#include "server/vsock_socket.h"
#include "vmruntime/base/log.h"
#include "vmruntime/runtime/virtio_devices.h"

namespace vmruntime::server {
namespace {

constexpr uint64_t kDefaultMemoryMib = 16;
constexpr size_t kMaxNameLength = 64;
constexpr const char* kNotBuiltReason = "not started since the daemon started";

bool valid_name(const std::string& name)
{
    if (name.empty() || name.size() > kMaxNameLength || name[0] == '.') {
        return false;
    }
    for (char c : name) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '.' || c == '-';
        if (!ok) {
            return false;
        }
    }
    return true;
}

runtime::ImageFormat to_format(v1::LoaderKind kind)
{
    switch (kind) {
    case v1::LOADER_KIND_ELF64: return runtime::ImageFormat::Elf64;
    case v1::LOADER_KIND_FLAT_REAL: return runtime::ImageFormat::FlatReal;
    case v1::LOADER_KIND_FLAT_PROTECTED: return runtime::ImageFormat::FlatProtected;
    case v1::LOADER_KIND_FLAT_LONG: return runtime::ImageFormat::FlatLong;
    case v1::LOADER_KIND_BZIMAGE: return runtime::ImageFormat::Bzimage;
    case v1::LOADER_KIND_PVH: return runtime::ImageFormat::Pvh;
    default: return runtime::ImageFormat::Auto;
    }
}

v1::LoaderKind loader_kind(runtime::ImageFormat format)
{
    switch (format) {
    case runtime::ImageFormat::Auto: break;
    case runtime::ImageFormat::Elf64: return v1::LOADER_KIND_ELF64;
    case runtime::ImageFormat::Bzimage: return v1::LOADER_KIND_BZIMAGE;
    case runtime::ImageFormat::Pvh: return v1::LOADER_KIND_PVH;
    case runtime::ImageFormat::FlatReal: return v1::LOADER_KIND_FLAT_REAL;
    case runtime::ImageFormat::FlatProtected: return v1::LOADER_KIND_FLAT_PROTECTED;
    case runtime::ImageFormat::FlatLong: return v1::LOADER_KIND_FLAT_LONG;
    }
    return v1::LOADER_KIND_UNSPECIFIED;
}

bool restarts(const v1::MachineSpec& spec)
{
    return spec.on_reboot() == v1::ON_REBOOT_RESTART;
}

uint64_t memory_bytes(const v1::MachineSpec& spec)
{
    return (spec.memory_mib() ? spec.memory_mib() : kDefaultMemoryMib) << 20;
}

absl::StatusOr<std::vector<uint8_t>> read_image(const v1::MachineSpec& spec, const FileRights& rights)
{
    if (spec.image_case() == v1::MachineSpec::kImageBytes) {
        return std::vector<uint8_t>(spec.image_bytes().begin(), spec.image_bytes().end());
    }
    return read_client_file(spec.image_path(), memory_bytes(spec), "image", rights);
}

absl::StatusOr<std::vector<uint8_t>> read_initrd(const v1::MachineSpec& spec, const FileRights& rights)
{
    switch (spec.initrd_case()) {
    case v1::MachineSpec::kInitrdBytes:
        return std::vector<uint8_t>(spec.initrd_bytes().begin(), spec.initrd_bytes().end());
    case v1::MachineSpec::kInitrdPath:
        return read_client_file(spec.initrd_path(), memory_bytes(spec), "initrd", rights);
    case v1::MachineSpec::INITRD_NOT_SET:
        break;
    }
    return std::vector<uint8_t>();
}

// The size of a file the spec names, or of the bytes it carries.
uint64_t stored_size(bool bytes, const std::string& data, const std::string& path)
{
    if (bytes) {
        return data.size();
    }
    if (path.empty()) {
        return 0;
    }
    std::error_code ec;
    auto size = std::filesystem::file_size(path, ec);
    return ec ? 0 : size;
}


// A machine boots an image or goes on from a snapshot, which holds what
// the image, the initrd and the devices made of it.
absl::Status check_source(const v1::MachineSpec& spec)
{
    if (spec.snapshot().empty()) {
        return spec.image_case() == v1::MachineSpec::IMAGE_NOT_SET
                   ? bad_request("the spec has no image: give image_path or image_bytes")
                   : absl::OkStatus();
    }
    if (spec.image_case() != v1::MachineSpec::IMAGE_NOT_SET ||
        spec.initrd_case() != v1::MachineSpec::INITRD_NOT_SET || spec.disks_size() > 0 || spec.nets_size() > 0 ||
        spec.has_vsock()) {
        return bad_request("a machine restored from a snapshot has no image, initrd, disks, network cards or vsock "
                           "of its own");
    }
    return require_absolute("snapshot", spec.snapshot());
}

// "0-3,6", as taskset and /proc print CPU sets.
std::string cpu_list(const std::bitset<CPU_SETSIZE>& cpus)
{
    std::string list;
    for (size_t cpu = 0; cpu < cpus.size(); cpu++) {
        if (!cpus.test(cpu)) {
            continue;
        }
        size_t last = cpu;
        while (last + 1 < cpus.size() && cpus.test(last + 1)) {
            last++;
        }
        list += (list.empty() ? "" : ",") + std::to_string(cpu) + (last > cpu ? "-" + std::to_string(last) : "");
        cpu = last;
    }
    return list.empty() ? "none" : list;
}

v1::WatchEvent make_event(const std::string& name, const runtime::MachineStatus& status)
{
    v1::WatchEvent event;
    event.set_name(name);
    event.set_state(to_proto(status.state));
    event.set_exit_status(status.exit_status);
    event.set_reason(status.reason);
    return event;
}

}  // namespace

absl::Status require_absolute(const std::string& what, const std::string& path)
{
    if (path.empty() || path.front() != '/') {
        return bad_request(what + " path '" + path + "' is relative: the daemon needs an absolute path");
    }
    return absl::OkStatus();
}

v1::MachineState to_proto(runtime::MachineState state)
{
    switch (state) {
    case runtime::MachineState::Created: return v1::MACHINE_STATE_CREATED;
    case runtime::MachineState::Running: return v1::MACHINE_STATE_RUNNING;
    case runtime::MachineState::Paused: return v1::MACHINE_STATE_PAUSED;
    case runtime::MachineState::Stopped: return v1::MACHINE_STATE_STOPPED;
    case runtime::MachineState::Crashed: return v1::MACHINE_STATE_CRASHED;
    }
    return v1::MACHINE_STATE_UNSPECIFIED;
}

Registry::Registry(runtime::DeviceLayer& layer, std::filesystem::path state_dir, Limits limits,
                   std::vector<std::string> image_dirs)
    : layer_(layer), dir_(std::move(state_dir)), store_(dir_ / "machines"), snapshots_(dir_ / "snapshots.json"),
      snapshot_memory_(dir_),
      limits_(limits),
      image_dirs_(std::move(image_dirs))
{
}

Registry::~Registry()
{
    closing_.store(true);
    restarts_.join();
    stop_all("the daemon is shutting down");
    if (lock_fd_ != -1) {
        ::close(lock_fd_);
    }
}

// Two daemons on one directory would overwrite each other's specs.
absl::Status Registry::lock_state_dir()
{
    const std::string path = (dir_ / "lock").string();
    lock_fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (lock_fd_ == -1) {
        return host_failure(errno_text("open " + path));
    }
    if (::flock(lock_fd_, LOCK_EX | LOCK_NB) == -1) {
        if (errno == EWOULDBLOCK) {
            return absl::FailedPreconditionError("another vmruntimed uses the state directory " +
                                                 dir_.string() + " (it holds " + path + ")");
        }
        return host_failure(errno_text("flock " + path));
    }
    return absl::OkStatus();
}

absl::Status Registry::load()
{
    std::error_code ec;
    std::filesystem::create_directories(dir_, ec);
    if (ec) {
        return host_failure("cannot create " + dir_.string() + ": " + ec.message());
    }
    if (auto locked = lock_state_dir(); !locked.ok()) {
        return locked;
    }
    std::vector<v1::MachineSpec> specs;
    if (auto loaded = store_.load(&specs); !loaded.ok()) {
        return loaded;
    }
    snapshots_.load();
    std::set<std::string> names;
    for (const auto& spec : specs) {
        names.insert(spec.name());
    }
    console_logs_.keep_only(names);
    std::lock_guard lock(mutex_);
    for (auto& spec : specs) {
        auto entry = std::make_shared<Entry>();
        entry->spec = std::move(spec);
        entry->building = false;
        entries_[entry->spec.name()] = entry;
    }
    base::log_info("registry", "loaded ", entries_.size(), " machine(s) from ", dir_.string());
    return absl::OkStatus();
}

std::bitset<CPU_SETSIZE> usable_host_cpus()
{
    cpu_set_t set;
    CPU_ZERO(&set);
    std::bitset<CPU_SETSIZE> cpus;
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        for (size_t cpu = 0; cpu < cpus.size(); cpu++) {
            cpus[cpu] = CPU_ISSET(cpu, &set);
        }
    }
    return cpus;
}

uint64_t host_memory_mib()
{
    struct sysinfo info {};
    if (sysinfo(&info) != 0) {
        return UINT64_MAX;
    }
    return (uint64_t{info.totalram} + info.totalswap) * info.mem_unit >> 20;
}

absl::Status check_spec(const v1::MachineSpec& spec, const Limits& limits)
{
    if (!valid_name(spec.name())) {
        return bad_request("bad machine name " + quote_name(spec.name()) +
                           ": use 1 to 64 of A-Z a-z 0-9 _ . - and do not start with '.'");
    }
    if (spec.memory_mib() > limits.max_memory_mib) {
        return over_limit("machine '" + spec.name() + "' asks for " + std::to_string(spec.memory_mib()) +
                          " MiB; this daemon allows at most " + std::to_string(limits.max_memory_mib) +
                          " MiB per machine");
    }
    if (spec.vcpus() > limits.max_vcpus) {
        return over_limit("machine '" + spec.name() + "' asks for " + std::to_string(spec.vcpus()) +
                          " vCPUs; this daemon allows at most " + std::to_string(limits.max_vcpus));
    }
    if (!v1::LoaderKind_IsValid(spec.loader())) {
        return bad_request("unknown loader kind " + std::to_string(spec.loader()));
    }
    if (auto source = check_source(spec); !source.ok()) {
        return source;
    }
    std::vector<const std::string*> paths = {&spec.image_path(), &spec.initrd_path(), &spec.vsock().socket(),
                                             &spec.snapshot()};
    for (const v1::Disk& disk : spec.disks()) {
        paths.push_back(&disk.path());
    }
    for (const std::string* path : paths) {
        if (path->size() >= PATH_MAX) {
            return bad_request("a path of " + std::to_string(path->size()) + " bytes is longer than PATH_MAX (" +
                               std::to_string(PATH_MAX) + ")");
        }
    }
    const size_t devices = static_cast<size_t>(spec.disks_size()) + static_cast<size_t>(spec.nets_size()) +
                           (spec.has_vsock() ? 1 : 0);
    if (devices > runtime::VirtioDevices::kMaxDevices) {
        return bad_request("machine '" + spec.name() + "' has " + std::to_string(devices) +
                           " virtio devices (disks, network cards, vsock); at most " +
                           std::to_string(runtime::VirtioDevices::kMaxDevices) + " fit");
    }
    if (spec.has_vsock()) {
        if (spec.vsock().cid() < 3) {
            return bad_request("vsock context ID " + std::to_string(spec.vsock().cid()) +
                               " is reserved: a guest's is 3 or more");
        }
        if (auto absolute = require_absolute("vsock socket", spec.vsock().socket()); !absolute.ok()) {
            return absolute;
        }
    }
    for (const v1::Net& net : spec.nets()) {
        std::array<uint8_t, 6> mac;
        if (!net.mac().empty() && (!parse_mac(net.mac(), &mac) || (mac[0] & 1))) {
            return bad_request("MAC address '" + net.mac() + "' is not a unicast address like 02:00:00:00:00:01");
        }
    }
    for (const v1::Disk& disk : spec.disks()) {
        if (auto absolute = require_absolute("disk", disk.path()); !absolute.ok()) {
            return absolute;
        }
    }
    if (spec.image_case() == v1::MachineSpec::kImagePath) {
        if (auto absolute = require_absolute("image", spec.image_path()); !absolute.ok()) {
            return absolute;
        }
    }
    if (spec.initrd_case() == v1::MachineSpec::kInitrdPath) {
        if (auto absolute = require_absolute("initrd", spec.initrd_path()); !absolute.ok()) {
            return absolute;
        }
    }
    if (!v1::OnReboot_IsValid(spec.on_reboot())) {
        return bad_request("unknown on_reboot policy " + std::to_string(spec.on_reboot()));
    }
    for (int cpu : spec.cpus()) {
        if (cpu < 0 || cpu >= CPU_SETSIZE || !limits.cpus.test(static_cast<size_t>(cpu))) {
            return bad_request("host CPU " + std::to_string(cpu) + " is not one this daemon may use (CPUs " +
                               cpu_list(limits.cpus) + ")");
        }
    }
    return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<runtime::Machine>> Registry::build(const v1::MachineSpec& spec)
{
    if (!spec.snapshot().empty()) {
        auto machine = restore_snapshot(spec);
        if (machine.ok()) {
            watch(spec.name(), restarts(spec), *machine);
        }
        return machine;
    }
    auto prepared = prepare(spec);
    if (!prepared.ok()) {
        return prepared.status();
    }
    return make(*prepared, restarts(spec));
}

// Builds the machine of a new spec and stores the spec (its loader
// resolved), the store's fsyncs overlapping the build: Create waits for
// the slower of the two, not for both.  On failure neither is left.
absl::StatusOr<std::shared_ptr<runtime::Machine>> Registry::build_and_store(v1::MachineSpec& spec)
{
    if (!spec.snapshot().empty()) {
        auto machine = build(spec);
        if (!machine.ok()) {
            return machine;
        }
        spec.set_loader(loader_kind((*machine)->image_format()));
        if (auto stored = store_.save(spec); !stored.ok()) {
            console_logs_.remove(spec.name());
            return stored;
        }
        return machine;
    }
    auto prepared = prepare(spec);
    if (!prepared.ok()) {
        return prepared.status();
    }
    spec.set_loader(loader_kind(prepared->format));
    const bool restart = restarts(spec);
    std::packaged_task<absl::Status()> save([this, &spec] { return store_.save(spec); });
    std::future<absl::Status> saved = save.get_future();
    boost::asio::post(store_writer_, [&save] { save(); });
    // Until the save has run, `spec` is the writer's.
    absl::StatusOr<std::shared_ptr<runtime::Machine>> machine;
    try {
        machine = make(*prepared, restart);
    } catch (...) {
        saved.wait();
        throw;
    }
    absl::Status stored = saved.get();
    if (!stored.ok() && machine.ok()) {
        console_logs_.remove(prepared->name);
        return stored;
    }
    if (stored.ok() && !machine.ok()) {
        store_.remove(prepared->name);
    }
    return machine;
}

// Publishes the machine's status, restarts it after a guest reset if
// `restart`, and logs its console.
void Registry::watch(const std::string& name, bool restart, const std::shared_ptr<runtime::Machine>& machine)
{
    machine->on_status([this, name, restart](const runtime::MachineStatus& s) {
        publish(make_event(name, s));
        if (restart && s.guest_reset) {
            boost::asio::post(restarts_, [this, name] { restart_after_reset(name); });
        }
    });
    console_logs_.attach(name, machine);
}

absl::StatusOr<std::shared_ptr<runtime::Machine>> Registry::make(const runtime::MachineSpec& prepared, bool restart)
{
    std::string error;
    std::shared_ptr<runtime::Machine> machine = runtime::Machine::create(prepared, layer_, &error);
    if (!machine) {
        return bad_request("machine '" + prepared.name + "': " + error);
    }
    watch(prepared.name, restart, machine);
    return machine;
}

// What the runtime builds for `spec`: its files opened with its owner's
// rights, its image's format resolved.
absl::StatusOr<runtime::MachineSpec> Registry::prepare(const v1::MachineSpec& spec)
{
    const FileRights rights = rights_of(spec.owner());
    auto image = read_image(spec, rights);
    if (!image.ok()) {
        return image.status();
    }
    auto initrd = read_initrd(spec, rights);
    if (!initrd.ok()) {
        return initrd.status();
    }
    runtime::MachineSpec rs;
    for (const v1::Disk& disk : spec.disks()) {
        auto file = open_client_disk(disk.path(), disk.read_only(), rights);
        if (!file.ok()) {
            return file.status();
        }
        rs.disks.push_back({std::make_shared<const base::UniqueFd>(std::move(*file)), disk.read_only(), {}});
    }
    for (const v1::Net& net : spec.nets()) {
        auto tap = open_client_tap(net.tap(), rights);
        if (!tap.ok()) {
            return tap.status();
        }
        runtime::NetSpec card{std::make_shared<const base::UniqueFd>(std::move(*tap)), {}};
        if (!net.mac().empty()) {
            parse_mac(net.mac(), &card.mac);  // checked by check_spec
        }
        rs.nets.push_back(std::move(card));
    }
    if (spec.has_vsock()) {
        auto vsock = open_client_vsock(spec.vsock().cid(), spec.vsock().socket(), rights);
        if (!vsock.ok()) {
            return vsock.status();
        }
        rs.vsock = std::move(*vsock);
    }
    rs.name = spec.name();
    rs.memory_bytes = memory_bytes(spec);
    rs.vcpus = spec.vcpus() ? spec.vcpus() : 1;
    rs.image = std::move(*image);
    rs.initrd = std::move(*initrd);
    rs.format = to_format(spec.loader());
    if (spec.has_load_address()) {
        rs.load_address = spec.load_address();
    }
    rs.cmdline = spec.cmdline();
    rs.cpus.assign(spec.cpus().begin(), spec.cpus().end());
    std::string error;
    auto format = runtime::resolve_format(rs, &error);
    if (!format) {
        return bad_request("machine '" + spec.name() + "': " + error);
    }
    rs.format = *format;
    return rs;
}

FileRights Registry::rights_of(const v1::Owner& owner) const
{
    switch (owner.kind_case()) {
    case v1::Owner::kLocal: return FileRights::user(owner.local().uid(), owner.local().gid());
    case v1::Owner::kRemote: return FileRights::beneath(image_dirs_);
    case v1::Owner::KIND_NOT_SET: break;
    }
    return FileRights::daemon();
}

absl::StatusOr<v1::MachineInfo> Registry::create(v1::MachineSpec spec, const v1::Owner& owner, bool start)
{
    if (auto ok = check_spec(spec, limits_); !ok.ok()) {
        return ok;
    }
    *spec.mutable_owner() = owner;
    // Store what the machine really gets, not the zero defaults.
    spec.set_memory_mib(spec.memory_mib() ? spec.memory_mib() : kDefaultMemoryMib);
    spec.set_vcpus(spec.vcpus() ? spec.vcpus() : 1);
    auto entry = std::make_shared<Entry>();
    entry->spec = spec;
    {
        std::lock_guard lock(mutex_);
        if (entries_.contains(spec.name())) {
            return name_taken(spec.name());
        }
        if (auto room = check_budget(spec.name(), spec.memory_mib()); !room.ok()) {
            return room;
        }
        entries_.emplace(spec.name(), entry);
    }
    auto machine = build_and_store(spec);
    // Held until the reply: no other call acts on the machine before it.
    std::unique_lock control(entry->control);
    {
        std::lock_guard lock(mutex_);
        if (!machine.ok()) {
            entries_.erase(spec.name());
            return machine.status();
        }
        entry->spec.set_loader(spec.loader());
        entry->machine = *machine;
        entry->building = false;
    }
    publish(make_event(spec.name(), (*machine)->status()));
    if (start && !(*machine)->start()) {
        return wrong_state(spec.name(), runtime::to_string((*machine)->status().state), "start");
    }
    return info(spec, *machine);
}

absl::StatusOr<uint64_t> Registry::upload_limit(const v1::MachineSpec& spec) const
{
    if (spec.image_case() != v1::MachineSpec::IMAGE_NOT_SET ||
        spec.initrd_case() != v1::MachineSpec::INITRD_NOT_SET) {
        return bad_request("the spec of an upload names no image or initrd: their bytes follow it");
    }
    v1::MachineSpec with_image = spec;
    with_image.set_image_bytes("");
    if (auto ok = check_spec(with_image, limits_); !ok.ok()) {
        return ok;
    }
    {
        std::lock_guard lock(mutex_);
        if (auto room = check_budget(spec.name(), memory_bytes(spec) >> 20); !room.ok()) {
            return room;
        }
    }
    return memory_bytes(spec);
}

absl::Status Registry::check_budget(const std::string& name, uint64_t memory_mib) const
{
    if (entries_.size() >= limits_.max_machines) {
        return over_limit("this daemon holds " + std::to_string(entries_.size()) + " machines, its limit " +
                          "(--max-machines): delete one before creating " + quote_name(name));
    }
    uint64_t used = 0;
    for (const auto& [_, entry] : entries_) {
        used += entry->spec.memory_mib();
    }
    if (memory_mib > limits_.max_total_memory_mib || used > limits_.max_total_memory_mib - memory_mib) {
        return over_limit("machine " + quote_name(name) + " asks for " + std::to_string(memory_mib) +
                          " MiB, but the daemon's machines have " + std::to_string(used) + " of the " +
                          std::to_string(limits_.max_total_memory_mib) +
                          " MiB it may give them (--max-memory)");
    }
    return absl::OkStatus();
}

std::shared_ptr<Registry::Entry> Registry::find(const std::string& name) const
{
    std::lock_guard lock(mutex_);
    auto it = entries_.find(name);
    if (it == entries_.end() || it->second->building) {
        return nullptr;
    }
    return it->second;
}

// Holding an entry's control lock while it is still registered keeps it
// registered: remove() needs that lock too.
absl::StatusOr<Registry::LockedEntry> Registry::lock_entry(const std::string& name)
{
    LockedEntry locked{find(name), {}};
    if (!locked.entry) {
        return unknown_machine(name);
    }
    locked.control = std::unique_lock(locked.entry->control);
    if (find(name) != locked.entry) {
        return unknown_machine(name);
    }
    return locked;
}

std::shared_ptr<runtime::Machine> Registry::current(const Entry& entry) const
{
    std::lock_guard lock(mutex_);
    return entry.machine;
}

absl::StatusOr<v1::MachineInfo> Registry::start(const std::string& name, bool paused)
{
    auto locked = lock_entry(name);
    if (!locked.ok()) {
        return locked.status();
    }
    Entry& entry = *locked->entry;
    std::shared_ptr<runtime::Machine> machine = current(entry);
    auto state = machine ? machine->status().state : runtime::MachineState::Stopped;
    if (state == runtime::MachineState::Running || state == runtime::MachineState::Paused) {
        return wrong_state(name, runtime::to_string(state), "start");
    }
    entry.stopping = false;
    if (state != runtime::MachineState::Created) {
        if (machine) {
            machine->release_devices();  // the taps it held are the new machine's
        }
        auto fresh = build(entry.spec);
        if (!fresh.ok()) {
            return fresh.status();
        }
        if (machine) {
            machine->on_status(nullptr);
        }
        machine = *fresh;
        std::lock_guard lock(mutex_);
        entry.machine = machine;
    }
    if (!machine->start(paused)) {
        return wrong_state(name, runtime::to_string(machine->status().state), "start");
    }
    return info(entry.spec, machine);
}

// Runs on restarts_, never on the thread that saw the reset (a vCPU's or
// the device strand's, which re-creating the machine would join).  Only a
// machine still ended by that reset is started: a Start or a Delete since
// then wins.
void Registry::restart_after_reset(const std::string& name)
{
    if (closing_.load()) {
        return;
    }
    auto entry = find(name);
    auto machine = entry ? current(*entry) : nullptr;
    if (!machine || !machine->status().guest_reset || entry->stopping) {
        return;
    }
    auto started = start(name);
    if (started.ok()) {
        base::log_info("registry", "restarted machine ", name, " after a guest reset");
    } else {
        base::log_warn("registry", "cannot restart machine ", name, " after a guest reset: ",
                       started.status().message());
    }
}

absl::StatusOr<v1::MachineInfo> Registry::pause(const std::string& name, runtime::Deadline deadline)
{
    return control(name, "pause", [deadline](runtime::Machine& m) { return m.pause(deadline); });
}

absl::StatusOr<v1::MachineInfo> Registry::resume(const std::string& name)
{
    return control(name, "resume", [](runtime::Machine& m) {
        return m.resume() ? runtime::Outcome::Done : runtime::Outcome::Refused;
    });
}

absl::StatusOr<v1::MachineInfo> Registry::control(const std::string& name, const std::string& verb,
                                                  const std::function<runtime::Outcome(runtime::Machine&)>& op)
{
    auto locked = lock_entry(name);
    if (!locked.ok()) {
        return locked.status();
    }
    Entry& entry = *locked->entry;
    std::shared_ptr<runtime::Machine> machine = current(entry);
    if (!machine) {
        return wrong_state(name, "stopped", verb);
    }
    switch (op(*machine)) {
    case runtime::Outcome::Done:
        break;
    case runtime::Outcome::Refused:
    case runtime::Outcome::Invalid:
        return wrong_state(name, runtime::to_string(machine->status().state), verb);
    case runtime::Outcome::Late:
        return too_late("cannot " + verb + " machine " + quote_name(name) +
                        ": its vCPUs did not answer in time; nothing changed");
    }
    return info(entry.spec, machine);
}

absl::StatusOr<bool> Registry::request_shutdown(const std::string& name)
{
    auto entry = find(name);
    auto machine = entry ? current(*entry) : nullptr;
    if (!machine) {
        return unknown_machine(name);
    }
    entry->stopping = true;
    return machine->request_shutdown();
}

void Registry::autostart()
{
    std::vector<std::string> names;
    {
        std::lock_guard lock(mutex_);
        for (const auto& [name, entry] : entries_) {
            if (entry->spec.autostart()) {
                names.push_back(name);
            }
        }
    }
    for (auto& name : names) {
        boost::asio::post(restarts_, [this, name] {
            if (closing_.load()) {
                return;
            }
            auto started = start(name);
            if (!started.ok()) {
                base::log_warn("registry", "cannot autostart machine ", name, ": ", started.status().message());
            }
        });
    }
}

absl::Status Registry::remove(const std::string& name, bool force)
{
    auto locked = lock_entry(name);
    if (!locked.ok()) {
        return locked.status();
    }
    if (auto machine = current(*locked->entry)) {
        const auto state = machine->status().state;
        if (!force && (state == runtime::MachineState::Running || state == runtime::MachineState::Paused)) {
            return wrong_state(name, std::string(runtime::to_string(state)) + " (stop it first, or force the delete)",
                               "delete");
        }
        machine->stop("deleted");
        machine->on_status(nullptr);
        machine->release_devices();  // now, not when the last console stream lets go of it
    }
    console_logs_.remove(name);
    store_.remove(name);
    {
        std::lock_guard lock(mutex_);
        entries_.erase(name);
    }
    v1::WatchEvent event;
    event.set_name(name);
    event.set_deleted(true);
    publish(event);
    return absl::OkStatus();
}

absl::StatusOr<v1::MachineInfo> Registry::get(const std::string& name) const
{
    auto entry = find(name);
    if (!entry) {
        return unknown_machine(name);
    }
    return info(entry->spec, current(*entry));
}

std::vector<v1::MachineInfo> Registry::list() const
{
    std::vector<std::shared_ptr<Entry>> entries;
    {
        std::lock_guard lock(mutex_);
        for (const auto& [name, entry] : entries_) {
            if (!entry->building) {
                entries.push_back(entry);
            }
        }
    }
    std::vector<v1::MachineInfo> out;
    for (const auto& entry : entries) {
        out.push_back(info(entry->spec, current(*entry)));
    }
    return out;
}

absl::StatusOr<std::shared_ptr<runtime::Machine>> Registry::machine(const std::string& name,
                                                                    const std::string& verb) const
{
    auto entry = find(name);
    if (!entry) {
        return unknown_machine(name);
    }
    auto machine = current(*entry);
    if (!machine) {
        return wrong_state(name, std::string(kNotBuiltReason) + " (start it first)", verb);
    }
    return machine;
}

v1::MachineInfo Registry::info(const v1::MachineSpec& spec,
                               const std::shared_ptr<runtime::Machine>& machine) const
{
    v1::MachineInfo info;
    *info.mutable_spec() = spec;
    info.set_image_size(stored_size(spec.image_case() == v1::MachineSpec::kImageBytes,
                                    spec.image_bytes(), spec.image_path()));
    info.set_initrd_size(stored_size(spec.initrd_case() == v1::MachineSpec::kInitrdBytes,
                                     spec.initrd_bytes(), spec.initrd_path()));
    info.mutable_spec()->clear_image_bytes();
    info.mutable_spec()->clear_initrd_bytes();
    if (!machine) {
        info.set_state(v1::MACHINE_STATE_STOPPED);
        info.set_reason(kNotBuiltReason);
        return info;
    }
    auto status = machine->status();
    info.set_state(to_proto(status.state));
    info.set_exit_status(status.exit_status);
    info.set_reason(status.reason);
    info.set_uptime_ns(static_cast<uint64_t>(machine->uptime().count()));
    return info;
}

int Registry::subscribe(Observer observer)
{
    std::lock_guard lock(observers_mutex_);
    observers_[next_observer_] = std::move(observer);
    return next_observer_++;
}

void Registry::unsubscribe(int id)
{
    std::lock_guard lock(observers_mutex_);
    observers_.erase(id);
}

// Called outside the lock: an observer may end its stream, and that may
// unsubscribe on this very thread.  Observers must cope with late calls.
void Registry::publish(const v1::WatchEvent& event)
{
    std::vector<Observer> observers;
    {
        std::lock_guard lock(observers_mutex_);
        for (const auto& [id, observer] : observers_) {
            observers.push_back(observer);
        }
    }
    for (const auto& observer : observers) {
        observer(event);
    }
}

void Registry::stop_all(const std::string& reason)
{
    std::vector<std::shared_ptr<runtime::Machine>> machines;
    {
        std::lock_guard lock(mutex_);
        for (const auto& [name, entry] : entries_) {
            if (entry->machine) {
                machines.push_back(entry->machine);
            }
        }
    }
    for (const auto& machine : machines) {
        auto state = machine->status().state;
        if (state != runtime::MachineState::Stopped && state != runtime::MachineState::Crashed) {
            machine->stop(reason);
        }
    }
}

}  // namespace vmruntime::server
