// SPDX-License-Identifier: BSD-2-Clause
//
// Snapshots of a machine (docs/snapshot.md): a directory holding `memory`,
// the guest's RAM byte for byte, and `state`, the machine's shape, each
// vCPU's whole NVMM state and each device's state as sections of a
// checksummed file.  A paused machine has no I/O half done (an exit is
// answered before the next run), so those are all there is.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/post.hpp>

#include <cerrno>
#include <cstring>
#include <future>

#include "vmruntime/base/errno_text.h"
#include "vmruntime/base/unique_fd.h"
#include "vmruntime/runtime/machine.h"
#include "vmruntime/runtime/pc_devices.h"
#include "vmruntime/runtime/state_rules.h"
#include "vmruntime/runtime/vcpu_runner.h"
#include "vmruntime/runtime/virtio_devices.h"

namespace vmruntime::runtime {
namespace {

using base::errno_text;

constexpr const char* kStateFile = "state";
constexpr const char* kMemoryFile = "memory";
constexpr size_t kMemoryChunk = 64 << 10;

std::string vcpu_section(unsigned id)
{
    return "vcpu" + std::to_string(id);
}

bool has_virtio(const MachineSpec& spec)
{
    return !spec.disks.empty() || !spec.nets.empty() || spec.vsock;
}

bool all_zero(const uint8_t* p, size_t n)
{
    return p[0] == 0 && std::memcmp(p, p + 1, n - 1) == 0;
}

bool write_all(int fd, const uint8_t* p, size_t n, off_t at)
{
    while (n > 0) {
        ssize_t done = pwrite(fd, p, n, at);
        if (done < 0 && errno == EINTR) {
            continue;
        }
        if (done <= 0) {
            return false;
        }
        p += done;
        n -= static_cast<size_t>(done);
        at += done;
    }
    return true;
}

// `name` is replaced whole or not at all: written beside it, then renamed.
// A machine restored from the old file keeps mapping the old one.
template <class Fill>
bool write_replacing(int dir, const char* name, Fill fill, std::string* error)
{
    const std::string temp = std::string(name) + ".new";
    base::UniqueFd fd(openat(dir, temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (!fd || !fill(fd.get()) || renameat(dir, temp.c_str(), dir, name) == -1) {
        *error = errno_text(std::string("snapshot: writing ") + name, errno);
        unlinkat(dir, temp.c_str(), 0);
        return false;
    }
    return true;
}

// Zero chunks are left as holes: the file costs the disk what the guest used.
bool write_memory(int dir, const uint8_t* ram, uint64_t size, std::string* error)
{
    return write_replacing(dir, kMemoryFile, [&](int fd) {
        if (ftruncate(fd, static_cast<off_t>(size)) == -1) {
            return false;
        }
        for (uint64_t at = 0; at < size; at += kMemoryChunk) {
            const size_t n = std::min<uint64_t>(kMemoryChunk, size - at);
            if (!all_zero(ram + at, n) && !write_all(fd, ram + at, n, static_cast<off_t>(at))) {
                return false;
            }
        }
        return true;
    }, error);
}

std::vector<uint8_t> machine_section(const MachineSpec& spec, ImageFormat format)
{
    dev::StateWriter out;
    out.put(spec.memory_bytes);
    out.put(spec.vcpus);
    out.put(format);
    return out.bytes();
}

// Reads all of the state file, which must be a regular file within bounds.
bool read_state_file(int fd, std::vector<uint8_t>* bytes, std::string* error)
{
    struct stat st {};
    if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
        static_cast<uint64_t>(st.st_size) > kMaxSnapshotStateBytes) {
        *error = "snapshot: state is not a snapshot's state file";
        return false;
    }
    bytes->resize(static_cast<size_t>(st.st_size));
    size_t got = 0;
    while (got < bytes->size()) {
        ssize_t n = pread(fd, bytes->data() + got, bytes->size() - got, static_cast<off_t>(got));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            *error = errno_text("snapshot: reading state", n == 0 ? EIO : errno);
            return false;
        }
        got += static_cast<size_t>(n);
    }
    return true;
}

// vCPU `id`'s state and HLT from a snapshot, checked as set_state checks.
bool read_vcpu(const SnapshotSections& in, unsigned id, nvmm_x64_state* state, bool* halted, std::string* error)
{
    const std::vector<uint8_t>* bytes = in.find(vcpu_section(id));
    dev::StateReader r(bytes ? std::span<const uint8_t>(*bytes) : std::span<const uint8_t>());
    nvmm_x64_state read{};
    r.get_bytes({reinterpret_cast<uint8_t*>(&read), sizeof read});
    *halted = r.get<bool>();
    if (!r.done() || read.intr.evt_pending) {
        *error = "snapshot: the state of vcpu " + std::to_string(id) + " is missing or invalid";
        return false;
    }
    if (auto why = unrunnable(read)) {
        *error = "snapshot: vcpu " + std::to_string(id) + ": " + *why;
        return false;
    }
    *state = read;
    return true;
}

}  // namespace

Outcome Machine::snapshot(const std::string& dir, std::string* error, Deadline deadline)
{
    std::lock_guard control(control_mutex_);
    if (MachineState state = status().state; state != MachineState::Paused) {
        *error = std::string("the machine is ") + to_string(state) + ": only a paused machine can be saved";
        return Outcome::Refused;
    }
    if (has_virtio(spec_)) {
        *error = "snapshots of machines with virtio devices are not supported yet";
        return Outcome::Refused;
    }
    SnapshotSections sections;
    sections.add("machine", machine_section(spec_, format_));
    if (Outcome saved = save_vcpus(sections, error, deadline); saved != Outcome::Done) {
        return saved;
    }
    std::promise<void> saved;
    boost::asio::post(strand_, [&] {
        drain();  // writes the vCPUs posted before they parked
        devices_->save(sections);
        saved.set_value();
    });
    saved.get_future().wait();
    if (mkdir(dir.c_str(), 0700) == -1 && errno != EEXIST) {
        *error = errno_text("snapshot: " + dir, errno);
        return Outcome::Refused;
    }
    base::UniqueFd dirfd(open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    const std::vector<uint8_t> state = sections.encode();
    if (!dirfd) {
        *error = errno_text("snapshot: " + dir, errno);
        return Outcome::Refused;
    }
    // The state last: it names a complete memory file.
    const bool written = write_memory(dirfd.get(), ram_, spec_.memory_bytes, error) &&
                         write_replacing(dirfd.get(), kStateFile, [&](int fd) {
                             return write_all(fd, state.data(), state.size(), 0);
                         }, error);
    return written ? Outcome::Done : Outcome::Refused;
}

Outcome Machine::save_vcpus(SnapshotSections& out, std::string* error, Deadline deadline)
{
    for (unsigned i = 0; i < vcpus_.size(); i++) {
        VcpuRunner* runner = vcpus_[i].get();
        dev::StateWriter w;
        Outcome outcome = runner->run_request([&](nvmm_machine* mach, nvmm_vcpu* vcpu, std::string* err) {
            if (nvmm_vcpu_getstate(mach, vcpu, NVMM_X64_STATE_ALL) == -1) {
                *err = errno_text("nvmm_vcpu_getstate", errno);
                return false;
            }
            if (vcpu->state->intr.evt_pending) {  // a pause parks without one
                *err = "vcpu " + std::to_string(i) + " holds an undelivered event";
                return false;
            }
            w.put_bytes({reinterpret_cast<const uint8_t*>(vcpu->state), sizeof(nvmm_x64_state)});
            w.put(runner->halted());
            return true;
        }, error, deadline);
        if (outcome != Outcome::Done) {
            return outcome;
        }
        out.add(vcpu_section(i), w.bytes());
    }
    return Outcome::Done;
}

SnapshotDefect SnapshotFiles::open(const std::string& dir, SnapshotFiles* files, std::string* error)
{
    base::UniqueFd dirfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dirfd) {
        *error = errno_text("snapshot " + dir, errno);
        return SnapshotDefect::Missing;
    }
    for (auto [name, fd] : {std::pair{kStateFile, &files->state}, {kMemoryFile, &files->memory}}) {
        fd->reset(openat(dirfd.get(), name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
        if (!*fd) {
            *error = errno_text("snapshot " + dir + ": " + name, errno);
            return SnapshotDefect::Missing;
        }
    }
    return SnapshotDefect::None;
}

SnapshotDefect Machine::read_state(const SnapshotFiles& files, SnapshotSections* sections, SnapshotShape* shape,
                                   std::string* error)
{
    std::vector<uint8_t> state;
    if (!read_state_file(files.state.get(), &state, error)) {
        return SnapshotDefect::Corrupt;
    }
    if (SnapshotDefect d = sections->decode(state, error); d != SnapshotDefect::None) {
        return d;
    }
    const std::vector<uint8_t>* bytes = sections->find("machine");
    dev::StateReader in(bytes ? std::span<const uint8_t>(*bytes) : std::span<const uint8_t>());
    shape->memory_bytes = in.get<uint64_t>();
    shape->vcpus = in.get<unsigned>();
    shape->format = in.get<ImageFormat>();
    if (!in.done() || shape->format > ImageFormat::FlatLong) {
        *error = "snapshot state is corrupt (no machine section)";
        return SnapshotDefect::Corrupt;
    }
    return SnapshotDefect::None;
}

SnapshotDefect Machine::snapshot_shape(const SnapshotFiles& files, SnapshotShape* shape, std::string* error)
{
    SnapshotSections sections;
    return read_state(files, &sections, shape, error);
}

std::unique_ptr<Machine> Machine::restore(const MachineSpec& spec, const std::string& dir, DeviceLayer& layer,
                                          std::string* error, SnapshotDefect* defect)
{
    SnapshotFiles files;
    if (SnapshotDefect opened = SnapshotFiles::open(dir, &files, error); opened != SnapshotDefect::None) {
        if (defect) {
            *defect = opened;
        }
        return nullptr;
    }
    return restore(spec, files, layer, error, defect);
}

std::unique_ptr<Machine> Machine::restore(const MachineSpec& spec, const SnapshotFiles& files, DeviceLayer& layer,
                                          std::string* error, SnapshotDefect* defect)
{
    SnapshotDefect unused;
    defect = defect ? defect : &unused;
    auto refuse = [&](SnapshotDefect why) {
        *defect = why;
        return nullptr;
    };
    *defect = SnapshotDefect::None;
    if (!valid_shape(spec, error)) {
        return refuse(SnapshotDefect::Mismatch);
    }
    if (has_virtio(spec)) {
        *error = "restoring machines with virtio devices is not supported yet";
        return nullptr;
    }
    SnapshotSections sections;
    SnapshotShape shape;
    if (SnapshotDefect read = read_state(files, &sections, &shape, error); read != SnapshotDefect::None) {
        return refuse(read);
    }
    if (shape.memory_bytes != spec.memory_bytes || shape.vcpus != spec.vcpus) {
        *error = "the snapshot is of a machine with " + std::to_string(shape.memory_bytes >> 10) + " KiB and " +
                 std::to_string(shape.vcpus) + " vCPUs, not " + std::to_string(spec.memory_bytes >> 10) +
                 " KiB and " + std::to_string(spec.vcpus);
        return refuse(SnapshotDefect::Mismatch);
    }
    struct stat st {};
    if (fstat(files.memory.get(), &st) == -1 || !S_ISREG(st.st_mode) ||
        static_cast<uint64_t>(st.st_size) != spec.memory_bytes) {
        *error = "snapshot: the memory file is not the snapshot's size";
        return refuse(SnapshotDefect::Corrupt);
    }
    std::unique_ptr<Machine> m(new Machine(spec, layer));
    if (!m->build(error, files.memory.get())) {
        return nullptr;
    }
    m->format_ = shape.format;
    if (!m->restore_vcpus(sections, error) || !m->restore_devices(sections, error).get()) {
        return refuse(SnapshotDefect::Corrupt);
    }
    m->origin_ = std::move(sections);
    return m;
}

// Before any vCPU thread runs: the vCPUs are this thread's.
bool Machine::restore_vcpus(const SnapshotSections& in, std::string* error)
{
    for (unsigned i = 0; i < vcpus_.size(); i++) {
        nvmm_vcpu* vcpu = vcpus_[i]->vcpu();
        bool halted = false;
        if (!read_vcpu(in, i, vcpu->state, &halted, error)) {
            return false;
        }
        if (nvmm_vcpu_setstate(&mach_, vcpu, NVMM_X64_STATE_ALL) == -1) {
            *error = errno_text("snapshot: vcpu " + std::to_string(i), errno);
            return false;
        }
        vcpus_[i]->set_halted(halted);
    }
    return true;
}

// On each parked vCPU's thread.  What the vCPU's last exit said of the
// guest (interrupts on, a shadow) is forgotten: the run loop then asks for
// an interrupt window instead of trusting it.
bool Machine::reload_vcpus(std::string* error, Deadline deadline)
{
    for (unsigned i = 0; i < vcpus_.size(); i++) {
        VcpuRunner* runner = vcpus_[i].get();
        Outcome outcome = runner->run_request([&](nvmm_machine* mach, nvmm_vcpu* vcpu, std::string* err) {
            bool halted = false;
            if (!read_vcpu(*origin_, i, vcpu->state, &halted, err)) {
                return false;
            }
            if (nvmm_vcpu_setstate(mach, vcpu, NVMM_X64_STATE_ALL) == -1) {
                *err = errno_text("vcpu " + std::to_string(i), errno);
                return false;
            }
            std::memset(&vcpu->exit->exitstate, 0, sizeof vcpu->exit->exitstate);
            runner->set_halted(halted);
            return true;
        }, error, deadline);
        if (outcome != Outcome::Done) {
            return false;
        }
    }
    return true;
}

std::future<bool> Machine::restore_devices(const SnapshotSections& in, std::string* error)
{
    auto restored = std::make_shared<std::promise<bool>>();
    std::future<bool> done = restored->get_future();
    boost::asio::post(strand_, [this, &in, error, restored] {
        drain();  // a reset's devices take the writes posted before the vCPUs parked, then lose them
        restored->set_value(devices_->restore(in, error));
    });
    return done;
}

}  // namespace vmruntime::runtime
