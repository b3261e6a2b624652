// SPDX-License-Identifier: BSD-2-Clause
#include "vmruntime/runtime/machine.h"

#include <sched.h>
#include <sys/mman.h>

#include <boost/asio/post.hpp>

#include <cerrno>
#include <cstring>
#include <future>

#include "vmruntime/base/errno_text.h"
#include "vmruntime/base/log.h"
#include "vmruntime/runtime/pc_devices.h"
#include "vmruntime/runtime/state_rules.h"
#include "vmruntime/runtime/vcpu_runner.h"
#include "vmruntime/runtime/virtio_devices.h"

namespace vmruntime::runtime {
namespace {

using base::errno_text;

constexpr uint64_t kPageSize = 4096;

std::atomic<unsigned> g_machine_seq{0};

}  // namespace

const char* to_string(MachineState state)
{
    switch (state) {
    case MachineState::Created: return "created";
    case MachineState::Running: return "running";
    case MachineState::Paused: return "paused";
    case MachineState::Stopped: return "stopped";
    case MachineState::Crashed: return "crashed";
    }
    return "unknown";
}

Machine::Machine(const MachineSpec& spec, DeviceLayer& layer)
    : spec_(spec), layer_(layer), strand_(layer.make_strand())
{
}

bool Machine::valid_shape(const MachineSpec& spec, std::string* error)
{
    if (spec.memory_bytes < kMinMemoryBytes || spec.memory_bytes > kMaxMemoryBytes ||
        spec.memory_bytes % kPageSize != 0) {
        *error = "memory must be a multiple of 4 KiB between 2 MiB and 3 GiB";
        return false;
    }
    if (spec.vcpus == 0 || spec.vcpus > kMaxVcpus) {
        *error = "a machine has 1 to 64 vCPUs";
        return false;
    }
    return true;
}

std::unique_ptr<Machine> Machine::create(const MachineSpec& spec, DeviceLayer& layer,
                                         std::string* error)
{
    if (!valid_shape(spec, error)) {
        return nullptr;
    }
    std::unique_ptr<Machine> m(new Machine(spec, layer));
    if (!m->build(error) || !m->load(error)) {
        return nullptr;
    }
    return m;
}

bool Machine::build(std::string* error, int memory)
{
    if (nvmm_machine_create(&mach_) == -1) {
        *error = errno_text("nvmm_machine_create", errno);
        return false;
    }
    have_mach_ = true;
    void* ram = mmap(nullptr, spec_.memory_bytes, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_NORESERVE | (memory == -1 ? MAP_ANONYMOUS : 0), memory, 0);
    if (ram == MAP_FAILED) {
        *error = errno_text("guest RAM", errno);
        return false;
    }
    ram_ = static_cast<uint8_t*>(ram);
    auto hva = reinterpret_cast<uintptr_t>(ram_);
    if (nvmm_hva_map(&mach_, hva, spec_.memory_bytes) == -1 ||
        nvmm_gpa_map(&mach_, hva, 0, spec_.memory_bytes, PROT_READ | PROT_WRITE | PROT_EXEC) == -1) {
        *error = errno_text("mapping guest RAM", errno);
        return false;
    }
    PlatformEvents events{
        [this](uint32_t status) {
            finish(MachineState::Stopped, status, "guest powered off with status " + std::to_string(status));
        },
        [this] { finish(MachineState::Stopped, 0, "guest reset (keyboard controller)", true); },
        [this](bool level) {
            intr_.store(level, std::memory_order_release);
            if (level && !vcpus_.empty()) {
                vcpus_[0]->kick();
            }
        },
    };
    devices_ = std::make_unique<PcDevices>(spec_.name, strand_, clock_, console_, std::move(events));
    virtio_ = VirtioDevices::create(spec_, ram_, spec_.memory_bytes,
                                    [this](unsigned irq) -> dev::IrqLine& { return devices_->irq_line(irq); },
                                    strand_, error);
    if (!virtio_) {
        return false;
    }
    unsigned seq = g_machine_seq.fetch_add(1);
    for (unsigned i = 0; i < spec_.vcpus; i++) {
        auto runner = std::make_unique<VcpuRunner>(*this, i, host_cpu_for(i + seq));
        if (int err = runner->create(&mach_)) {
            *error = errno_text("nvmm_vcpu_create", err);
            return false;
        }
        vcpus_.push_back(std::move(runner));
    }
    return true;
}

// Spread: the machine sequence number staggers machines over the CPUs too.
int Machine::host_cpu_for(unsigned index) const
{
    if (!spec_.cpus.empty()) {
        return spec_.cpus[index % spec_.cpus.size()];
    }
    cpu_set_t allowed;
    if (sched_getaffinity(0, sizeof(allowed), &allowed) == -1 || CPU_COUNT(&allowed) == 0) {
        return -1;
    }
    unsigned want = index % static_cast<unsigned>(CPU_COUNT(&allowed));
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
        if (CPU_ISSET(cpu, &allowed) && want-- == 0) {
            return cpu;
        }
    }
    return -1;
}

Machine::~Machine()
{
    for (auto& v : vcpus_) {
        v->finish();
    }
    for (auto& v : vcpus_) {
        v->join();
    }
    // Devices belong to the strand: destroy them there, after every drain
    // the vCPUs posted, so that no queued handler outlives them.
    if (devices_) {
        std::promise<void> gone;
        boost::asio::post(strand_, [&] {
            virtio_.reset();
            devices_.reset();
            gone.set_value();
        });
        gone.get_future().wait();
    }
    console_.close();
    vcpus_.clear();
    if (have_mach_) {
        nvmm_machine_destroy(&mach_);
    }
    if (ram_) {
        munmap(ram_, spec_.memory_bytes);
    }
}

MachineStatus Machine::status() const
{
    std::lock_guard lock(status_mutex_);
    return status_;
}

void Machine::on_status(std::function<void(const MachineStatus&)> observer)
{
    std::lock_guard lock(status_mutex_);
    observer_ = std::move(observer);
}

bool Machine::update_status(const std::function<bool(MachineStatus&)>& change)
{
    MachineStatus now;
    std::function<void(const MachineStatus&)> observer;
    {
        std::lock_guard lock(status_mutex_);
        if (!change(status_)) {
            return false;
        }
        now = status_;
        observer = observer_;
        status_cv_.notify_all();
    }
    if (observer) {
        observer(now);
    }
    return true;
}

bool Machine::transition(MachineState from, MachineState to)
{
    return update_status([&](MachineStatus& s) {
        if (s.state != from) {
            return false;
        }
        s = {to, 0, ""};
        return true;
    });
}

bool Machine::start(bool paused)
{
    std::lock_guard control(control_mutex_);
    if (status().state != MachineState::Created) {
        return false;
    }
    {
        std::lock_guard lock(status_mutex_);
        started_ = std::chrono::steady_clock::now();
    }
    if (!paused) {
        transition(MachineState::Created, MachineState::Running);
    }
    for (auto& v : vcpus_) {
        if (paused) {
            v->set_paused(true);
        }
        v->start();
    }
    if (paused) {
        for (auto& v : vcpus_) {
            v->wait_parked(kNoDeadline);  // a new thread parks first thing
        }
        transition(MachineState::Created, MachineState::Paused);
    }
    return true;
}

Outcome Machine::pause(Deadline deadline)
{
    std::lock_guard control(control_mutex_);
    if (status().state != MachineState::Running) {
        return Outcome::Refused;
    }
    if (!park_all(deadline)) {
        return Outcome::Late;
    }
    // The guest may have powered off meanwhile: that state wins.
    return transition(MachineState::Running, MachineState::Paused) ? Outcome::Done : Outcome::Refused;
}

bool Machine::park_all(Deadline deadline)
{
    for (auto& v : vcpus_) {
        v->set_paused(true);
    }
    bool parked = true;
    for (auto& v : vcpus_) {
        parked = v->wait_parked(deadline) && parked;
    }
    if (!parked) {
        unpark_all();
    }
    return parked;
}

void Machine::unpark_all()
{
    for (auto& v : vcpus_) {
        v->set_paused(false);
    }
}

bool Machine::resume()
{
    std::lock_guard control(control_mutex_);
    if (!transition(MachineState::Paused, MachineState::Running)) {
        return false;
    }
    unpark_all();
    return true;
}

void Machine::stop(const std::string& reason)
{
    std::lock_guard control(control_mutex_);
    finish(MachineState::Stopped, 0, reason);
    for (auto& v : vcpus_) {
        v->join();
    }
}

bool Machine::release_devices()
{
    std::lock_guard control(control_mutex_);
    const MachineState state = status().state;
    if (state != MachineState::Stopped && state != MachineState::Crashed) {
        return false;
    }
    // No vCPU reaches the devices any more; a drain still queued on the
    // strand runs before the swap and finds an empty bus after it.
    for (auto& v : vcpus_) {
        v->join();
    }
    std::promise<void> done;
    boost::asio::post(strand_, [&] {
        std::string unused;
        virtio_ = VirtioDevices::create({}, ram_, 0, {}, strand_, &unused);
        spec_.disks.clear();
        spec_.nets.clear();
        spec_.vsock.reset();
        done.set_value();
    });
    done.get_future().wait();
    return true;
}

void Machine::finish(MachineState state, uint32_t exit_status, std::string reason,
                     bool guest_reset)
{
    bool first = update_status([&](MachineStatus& s) {
        if (s.state == MachineState::Stopped || s.state == MachineState::Crashed) {
            return false;  // the first end wins
        }
        s = {state, exit_status, reason, guest_reset};
        ended_ = std::chrono::steady_clock::now();
        return true;
    });
    if (!first) {
        return;
    }
    if (state == MachineState::Crashed) {
        base::log_warn("machine", spec_.name, ": crashed: ", reason);
    }
    for (auto& v : vcpus_) {
        v->finish();
    }
}

bool Machine::wait(std::chrono::milliseconds timeout)
{
    std::unique_lock lock(status_mutex_);
    return status_cv_.wait_for(lock, timeout, [&] {
        return status_.state == MachineState::Stopped || status_.state == MachineState::Crashed;
    });
}

Outcome Machine::run_on_vcpu(unsigned vcpu, std::function<bool(std::string*)> fn, std::string* error,
                             Deadline deadline)
{
    if (vcpu >= vcpus_.size()) {
        *error = "no vcpu " + std::to_string(vcpu);
        return Outcome::Refused;
    }
    MachineState state = status().state;
    if (state != MachineState::Running && state != MachineState::Paused) {
        *error = std::string("the machine is ") + to_string(state);
        return Outcome::Refused;
    }
    return vcpus_[vcpu]->run_request(
        [&](nvmm_machine*, nvmm_vcpu*, std::string* err) { return fn(err); }, error, deadline);
}

Outcome Machine::get_state(unsigned vcpu, uint64_t flags, nvmm_x64_state* out, std::string* error,
                           Deadline deadline)
{
    return run_on_vcpu(vcpu, [&](std::string* err) {
        nvmm_vcpu* v = vcpus_[vcpu]->vcpu();
        if (nvmm_vcpu_getstate(&mach_, v, flags) == -1) {
            *err = errno_text("nvmm_vcpu_getstate", errno);
            return false;
        }
        *out = *v->state;
        return true;
    }, error, deadline);
}

Outcome Machine::set_state(unsigned vcpu, uint64_t flags, const nvmm_x64_state& in, std::string* error,
                           Deadline deadline)
{
    bool invalid = false;
    const Outcome outcome = run_on_vcpu(vcpu, [&](std::string* err) {
        nvmm_vcpu* v = vcpus_[vcpu]->vcpu();
        // Classes not being set keep their values: fetch them all first.
        if (nvmm_vcpu_getstate(&mach_, v, NVMM_X64_STATE_ALL) == -1) {
            *err = errno_text("nvmm_vcpu_getstate", errno);
            return false;
        }
        nvmm_x64_state next = *v->state;
        auto copy = [&](uint64_t flag, auto member) {
            if (flags & flag) {
                std::memcpy(&(next.*member), &(in.*member), sizeof(next.*member));
            }
        };
        copy(NVMM_X64_STATE_SEGS, &nvmm_x64_state::segs);
        copy(NVMM_X64_STATE_GPRS, &nvmm_x64_state::gprs);
        copy(NVMM_X64_STATE_CRS, &nvmm_x64_state::crs);
        copy(NVMM_X64_STATE_DRS, &nvmm_x64_state::drs);
        copy(NVMM_X64_STATE_MSRS, &nvmm_x64_state::msrs);
        copy(NVMM_X64_STATE_INTR, &nvmm_x64_state::intr);
        copy(NVMM_X64_STATE_FPU, &nvmm_x64_state::fpu);
        if (auto why = unrunnable(next)) {
            *err = *why;
            invalid = true;
            return false;
        }
        *v->state = next;
        if (nvmm_vcpu_setstate(&mach_, v, flags) == -1) {
            *err = errno_text("nvmm_vcpu_setstate", errno);
            return false;
        }
        return true;
    }, error, deadline);
    return invalid ? Outcome::Invalid : outcome;
}

size_t Machine::console_input(std::span<const uint8_t> bytes)
{
    std::promise<size_t> taken;
    boost::asio::post(strand_, [&] { taken.set_value(devices_ ? devices_->push_input(bytes) : 0); });
    return taken.get_future().get();
}

bool Machine::request_shutdown()
{
    std::promise<bool> pressed;
    boost::asio::post(strand_, [&] { pressed.set_value(devices_ && devices_->press_ctrl_alt_del()); });
    return pressed.get_future().get();
}

ExitCounters Machine::exit_counters() const
{
    ExitCounters total;
    for (const auto& v : vcpus_) {
        v->add_counters(total);
    }
    return total;
}

std::chrono::nanoseconds Machine::vcpu_time() const
{
    std::chrono::nanoseconds total{0};
    for (const auto& v : vcpus_) {
        total += v->cpu_time();
    }
    return total;
}

std::chrono::nanoseconds Machine::uptime() const
{
    std::lock_guard lock(status_mutex_);
    if (status_.state == MachineState::Created) {
        return std::chrono::nanoseconds(0);
    }
    bool ended = status_.state == MachineState::Stopped || status_.state == MachineState::Crashed;
    return (ended ? ended_ : std::chrono::steady_clock::now()) - started_;
}

// ---------------------------------------------------------------------------
// The device strand.

void Machine::schedule_drain()
{
    if (!drain_scheduled_.exchange(true, std::memory_order_seq_cst)) {
        boost::asio::post(strand_, [this] { drain(); });
    }
}

void Machine::drain()
{
    drain_scheduled_.store(false, std::memory_order_seq_cst);
    for (auto& v : vcpus_) {
        v->serve_channel(*devices_, *virtio_);
    }
    // A request pushed while the flag was still set found no drain to
    // schedule: catch it here.
    for (auto& v : vcpus_) {
        if (v->channel_busy()) {
            schedule_drain();
            return;
        }
    }
}

}  // namespace vmruntime::runtime
