// SPDX-License-Identifier: BSD-2-Clause
//
// Snapshots of a machine (docs/snapshot.md): a directory holding the
// guest's RAM byte for byte, and `state`, the machine's shape, each vCPU's
// whole NVMM state and each device's state as sections of a checksummed
// file (snapshot_dir.h writes and reads them).  A paused machine has no I/O
// half done (an exit is answered before the next run), so those are all
// there is.
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

std::string vcpu_section(unsigned id)
{
    return "vcpu" + std::to_string(id);
}

bool is_vcpu_section(const std::string& name, unsigned vcpus)
{
    for (unsigned id = 0; id < vcpus; id++) {
        if (name == vcpu_section(id)) {
            return true;
        }
    }
    return false;
}

bool has_virtio(const MachineSpec& spec)
{
    return !spec.disks.empty() || !spec.nets.empty() || spec.vsock;
}

std::vector<uint8_t> machine_section(const MachineSpec& spec, ImageFormat format)
{
    dev::StateWriter out;
    out.put(spec.memory_bytes);
    out.put(spec.vcpus);
    out.put(format);
    return out.bytes();
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
    return write_snapshot(dir, sections, {ram_, spec_.memory_bytes}, error) ? Outcome::Done : Outcome::Refused;
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

SnapshotDefect Machine::snapshot_shape(const SnapshotFiles& files, SnapshotShape* shape, std::string* error)
{
    const std::vector<uint8_t>* bytes = files.sections.find("machine");
    dev::StateReader in(bytes ? std::span<const uint8_t>(*bytes) : std::span<const uint8_t>());
    shape->memory_bytes = in.get<uint64_t>();
    shape->vcpus = in.get<unsigned>();
    shape->format = in.get<ImageFormat>();
    if (!in.done() || shape->format > ImageFormat::FlatLong || shape->vcpus == 0 || shape->vcpus > kMaxVcpus) {
        *error = "snapshot state is corrupt (no machine section)";
        return SnapshotDefect::Corrupt;
    }
    // What a restored machine keeps for its resets is what it reads.
    for (const auto& section : files.sections.all()) {
        const std::string& name = section.first;
        if (name != "machine" && name != "memory" && !PcDevices::saves(name) && !is_vcpu_section(name, shape->vcpus)) {
            *error = "snapshot state is corrupt (unknown section '" + name + "')";
            return SnapshotDefect::Corrupt;
        }
    }
    return SnapshotDefect::None;
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
    SnapshotShape shape;
    if (SnapshotDefect read = snapshot_shape(files, &shape, error); read != SnapshotDefect::None) {
        return refuse(read);
    }
    if (shape.memory_bytes != spec.memory_bytes || shape.vcpus != spec.vcpus) {
        *error = "the snapshot is of a machine with " + std::to_string(shape.memory_bytes >> 10) + " KiB and " +
                 std::to_string(shape.vcpus) + " vCPUs, not " + std::to_string(spec.memory_bytes >> 10) +
                 " KiB and " + std::to_string(spec.vcpus);
        return refuse(SnapshotDefect::Mismatch);
    }
    struct stat st {};
    if (!files.memory || fstat(files.memory->get(), &st) == -1 || !S_ISREG(st.st_mode) ||
        static_cast<uint64_t>(st.st_size) != spec.memory_bytes) {
        *error = "snapshot: the memory file is not the snapshot's size";
        return refuse(SnapshotDefect::Corrupt);
    }
    std::unique_ptr<Machine> m(new Machine(spec, layer));
    if (!m->build(error, files.memory->get())) {
        return nullptr;
    }
    m->memory_file_ = files.memory;
    m->format_ = shape.format;
    auto device_error = std::make_shared<std::string>();
    if (!m->restore_vcpus(files.sections, error)) {
        return refuse(SnapshotDefect::Corrupt);
    }
    if (!m->restore_devices(files.sections, device_error).get()) {
        *error = *device_error;
        return refuse(SnapshotDefect::Corrupt);
    }
    m->origin_ = files.sections;
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

std::future<bool> Machine::restore_devices(const SnapshotSections& in, std::shared_ptr<std::string> error)
{
    auto restored = std::make_shared<std::promise<bool>>();
    std::future<bool> done = restored->get_future();
    boost::asio::post(strand_, [this, &in, error, restored] {
        drain();  // a reset's devices take the writes posted before the vCPUs parked, then lose them
        restored->set_value(devices_->restore(in, error.get()));
    });
    return done;
}

}  // namespace vmruntime::runtime
