// SPDX-License-Identifier: BSD-2-Clause
#include "vmruntime/runtime/vcpu_runner.h"

#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <optional>
#include <string>

#include "vmruntime/base/log.h"
#include "vmruntime/runtime/host_time.h"
#include "vmruntime/runtime/machine.h"
#include "vmruntime/runtime/pc_devices.h"
#include "vmruntime/runtime/virtio_devices.h"

namespace vmruntime::runtime {
namespace {

constexpr uint64_t kRflagsIf = 1ULL << 9;
// CPUID leaf 1 features of a local APIC, which this platform does not have:
// the APIC itself (EDX 9), x2APIC (ECX 21) and its TSC-deadline timer (ECX 24).
constexpr uint32_t kCpuid1EdxApic = 1U << 9;
constexpr uint32_t kCpuid1EcxApicFeatures = 1U << 21 | 1U << 24;
constexpr size_t kMaxCodeBytes = 15;  // the longest x86 instruction

// The PIT's expiries, sent to vCPU 0's thread.  A real-time signal of the
// runtime's own: a POSIX timer allocates its signal when it is created, so
// once it exists no expiry is refused for the pending-signal quota.
const int kTimerSignal = SIGRTMAX - 2;

thread_local VcpuRunner* t_runner = nullptr;

void on_timer_signal(int)
{
    if (VcpuRunner* runner = t_runner) {
        runner->timer_signalled();
    }
}

// SA_RESTART: the signal may come during any system call of the vCPU
// thread; KVM_RUN still returns (EINTR is never restarted), others resume.
void install_timer_handler()
{
    static std::once_flag once;
    std::call_once(once, [] {
        struct sigaction sa = {};
        sa.sa_handler = on_timer_signal;
        sa.sa_flags = SA_RESTART;
        sigemptyset(&sa.sa_mask);
        sigaction(kTimerSignal, &sa, nullptr);
    });
}

void on_io(struct nvmm_io* io)
{
    if (PcDevices::is_vcpu_port(io->port)) {
        t_runner->direct_io(io);
        return;
    }
    const auto size = static_cast<uint8_t>(io->size);
    if (io->in) {
        uint64_t value = t_runner->call({IoRequest::Kind::Read, IoRequest::Space::Port, size, io->port, 0});
        std::memcpy(io->data, &value, io->size);
        return;
    }
    uint64_t value = 0;
    std::memcpy(&value, io->data, io->size);
    t_runner->write({IoRequest::Kind::PostedWrite, IoRequest::Space::Port, size, io->port, value});
}

void on_mem(struct nvmm_mem* mem)
{
    t_runner->mmio(mem);
}

void cpu_relax()
{
    __builtin_ia32_pause();
}

// The vCPU's sleeps are futex waits on its wake word, until an absolute
// CLOCK_MONOTONIC `deadline` if there is one (std::atomic::wait has no
// timeout).  A timed wait returns EINTR on a signal, even under SA_RESTART.
void sleep_on(std::atomic<uint32_t>& word, uint32_t seen, std::optional<std::chrono::nanoseconds> deadline)
{
    static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t));
    timespec until = deadline ? to_timespec(*deadline) : timespec{};
    syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word), FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG, seen,
            deadline ? &until : nullptr, nullptr, FUTEX_BITSET_MATCH_ANY);
}

void wake_all(std::atomic<uint32_t>& word)
{
    syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word), FUTEX_WAKE_PRIVATE, INT_MAX, nullptr, nullptr, 0);
}

// The PIT's signal ends the HLT sleep (EINTR), and the sleeper then sees the
// deadline passed.  The sleep's own timeout, this much later, only matters
// when the signal's handler is deferred (ThreadSanitizer does that) past the
// last check before the futex wait.
constexpr auto kTimerSlack = std::chrono::milliseconds(1);

// A CPU-time clock's reading; 0 if the host cannot read it.
std::chrono::nanoseconds cpu_clock_time(clockid_t clock)
{
    timespec t{};
    if (clock_gettime(clock, &t) == -1) {
        return std::chrono::nanoseconds(0);
    }
    return std::chrono::seconds(t.tv_sec) + std::chrono::nanoseconds(t.tv_nsec);
}

}  // namespace

VcpuRunner::VcpuRunner(Machine& machine, unsigned id, int host_cpu)
    : machine_(machine), id_(id), host_cpu_(host_cpu)
{
}

VcpuRunner::~VcpuRunner()
{
    finish();
    join();
    if (have_vcpu_) {
        nvmm_vcpu_destroy(mach_, &vcpu_);
    }
}

int VcpuRunner::create(nvmm_machine* mach)
{
    mach_ = mach;
    if (nvmm_vcpu_create(mach, id_, &vcpu_) == -1) {
        return errno;
    }
    have_vcpu_ = true;
    struct nvmm_assist_callbacks cbs = {on_io, on_mem};
    if (nvmm_vcpu_configure(mach, &vcpu_, NVMM_VCPU_CONF_CALLBACKS, &cbs) == -1) {
        return errno;
    }
    nvmm_vcpu_conf_cpuid no_apic{};
    no_apic.mask = 1;
    no_apic.leaf = 1;
    no_apic.u.mask.del.edx = kCpuid1EdxApic;
    no_apic.u.mask.del.ecx = kCpuid1EcxApicFeatures;
    return nvmm_vcpu_configure(mach, &vcpu_, NVMM_VCPU_CONF_CPUID, &no_apic) == -1 ? errno : 0;
}

// Under the mutex: wait_parked looks at thread_ from other threads.
void VcpuRunner::start()
{
    std::lock_guard lock(mutex_);
    thread_ = std::thread([this] { thread_main(); });
}

void VcpuRunner::thread_main()
{
    std::string name = "vcpu" + std::to_string(id_);
    pthread_setname_np(pthread_self(), name.c_str());
    if (host_cpu_ >= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(host_cpu_, &set);
        pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
    }
    t_runner = this;
    open_cpu_clock();
    if (id_ == 0) {
        install_timer_handler();
        machine_.devices_->attach_timer(kTimerSignal, [this] { timer_expired_on_strand(); });
        serves_timer_ = true;
    }
    loop();
    if (serves_timer_) {
        machine_.devices_->detach_timer();
    }
    close_cpu_clock();
    exit_thread();
}

void VcpuRunner::open_cpu_clock()
{
    clockid_t clock;
    if (pthread_getcpuclockid(pthread_self(), &clock) == 0) {
        std::lock_guard lock(clock_mutex_);
        cpu_clock_ = clock;
    }
}

void VcpuRunner::close_cpu_clock()
{
    std::lock_guard lock(clock_mutex_);
    cpu_used_ = cpu_clock_time(CLOCK_THREAD_CPUTIME_ID);
    cpu_clock_.reset();
}

void VcpuRunner::exit_thread()
{
    std::lock_guard lock(mutex_);
    exited_ = true;
    for (PendingRequest* r : requests_) {
        r->done = true;
        r->error = "the vCPU has stopped";
    }
    requests_.clear();
    cv_.notify_all();
}

void VcpuRunner::loop()
{
    if (id_ != 0) {
        wait_for_startup();
        return;
    }
    while (!finishing_.load(std::memory_order_acquire)) {
        if (attention_.load(std::memory_order_acquire) && !attend()) {
            return;
        }
        serve_timer();
        // HLT ends with an interrupt, not with a pause or a restore.
        if (halted_) {
            if (!machine_.interrupt_pending()) {
                wait_for_interrupt();
                continue;
            }
            halted_ = false;
        }
        pre_run();
        if (nvmm_vcpu_run(mach_, &vcpu_) == -1) {
            machine_.finish(MachineState::Crashed, 0,
                            "vcpu " + std::to_string(id_) + ": nvmm_vcpu_run: " + std::strerror(errno));
            return;
        }
        if (!handle_exit()) {
            return;
        }
    }
}

// An application processor waits for INIT and SIPI from a local APIC, as on
// real hardware; without one it never runs guest code (and never runs from
// its reset vector), but it answers control requests and pauses.
void VcpuRunner::wait_for_startup()
{
    for (;;) {
        uint32_t seen = wake_.load(std::memory_order_acquire);
        if (attention_.load(std::memory_order_acquire) && !attend()) {
            return;
        }
        if (finishing_.load(std::memory_order_acquire)) {
            return;
        }
        if (!attention_.load(std::memory_order_acquire)) {
            sleep_on(wake_, seen, std::nullopt);
        }
    }
}

// Serves what other threads asked of this vCPU.  False: leave the loop.
bool VcpuRunner::attend()
{
    std::unique_lock lock(mutex_);
    attention_.store(false, std::memory_order_relaxed);
    serve_requests(lock);
    if (pause_ && vcpu_.exit->exitstate.evt_pending) {
        // KVM holds an event it has not delivered, which no snapshot could
        // see: park after the guest has taken it, at its next exit.
        attention_.store(true, std::memory_order_relaxed);
    } else if (pause_) {
        park(lock);
    }
    return !finishing_.load(std::memory_order_acquire);
}

void VcpuRunner::serve_requests(std::unique_lock<std::mutex>& lock)
{
    while (!requests_.empty()) {
        PendingRequest* r = requests_.front();
        requests_.pop_front();
        lock.unlock();
        bool ok = r->fn(mach_, &vcpu_, &r->error);
        lock.lock();
        r->ok = ok;
        r->done = true;
        cv_.notify_all();
    }
}

// Paused: the last run ended at an instruction boundary with no I/O half
// done (an IO exit is always answered before the next run).
void VcpuRunner::park(std::unique_lock<std::mutex>& lock)
{
    parked_ = true;
    cv_.notify_all();
    while (pause_ && !finishing_.load(std::memory_order_acquire)) {
        cv_.wait(lock, [&] { return !pause_ || !requests_.empty() || finishing_.load(); });
        serve_requests(lock);
    }
    parked_ = false;
}

// NVMM's interrupt window protocol: inject the PIC's vector only when the
// guest can take it, else ask for an exit when it can.  The PIC's INT line
// goes to vCPU 0, as ExtINT does on a PC without an APIC.
void VcpuRunner::pre_run()
{
    if (id_ != 0 || !machine_.interrupt_pending()) {
        return;
    }
    const auto& es = vcpu_.exit->exitstate;
    if ((es.rflags & kRflagsIf) && !es.int_shadow && !es.evt_pending) {
        settle_posted();
        std::optional<uint8_t> vector = machine_.devices_->acknowledge();
        if (vector) {
            vcpu_.event->type = NVMM_VCPU_EVENT_INTR;
            vcpu_.event->vector = *vector;
            nvmm_vcpu_inject(mach_, &vcpu_);
            n_interrupts_.fetch_add(1, std::memory_order_relaxed);
        }
    } else if (!es.int_window_exiting) {
        nvmm_vcpu_getstate(mach_, &vcpu_, NVMM_X64_STATE_INTR);
        vcpu_.state->intr.int_window_exiting = 1;
        nvmm_vcpu_setstate(mach_, &vcpu_, NVMM_X64_STATE_INTR);
    }
}

// False: the machine is over for this vCPU.
bool VcpuRunner::handle_exit()
{
    const nvmm_vcpu_exit& exit = *vcpu_.exit;
    switch (exit.reason) {
    case NVMM_VCPU_EXIT_NONE:
    case NVMM_VCPU_EXIT_INT_READY:
    case NVMM_VCPU_EXIT_NMI_READY:
    case NVMM_VCPU_EXIT_TPR_CHANGED:
        n_other_.fetch_add(1, std::memory_order_relaxed);
        return true;
    case NVMM_VCPU_EXIT_STOPPED:
        n_stopped_.fetch_add(1, std::memory_order_relaxed);
        return true;
    case NVMM_VCPU_EXIT_IO:
        n_io_.fetch_add(1, std::memory_order_relaxed);
        return nvmm_assist_io(mach_, &vcpu_) == 0 ||
               (machine_.finish(MachineState::Crashed, 0, "nvmm_assist_io failed"), false);
    case NVMM_VCPU_EXIT_MEMORY:
        n_mmio_.fetch_add(1, std::memory_order_relaxed);
        return nvmm_assist_mem(mach_, &vcpu_) == 0 ||
               (machine_.finish(MachineState::Crashed, 0, "nvmm_assist_mem failed"), false);
    case NVMM_VCPU_EXIT_RDMSR:
        refuse_msr(false, exit.u.rdmsr.msr, 0);
        return true;
    case NVMM_VCPU_EXIT_WRMSR:
        refuse_msr(true, exit.u.wrmsr.msr, exit.u.wrmsr.val);
        return true;
    case NVMM_VCPU_EXIT_HALTED:
        n_halted_.fetch_add(1, std::memory_order_relaxed);
        // Nothing here raises an NMI or an INIT, and the only vCPU that
        // runs is this one: halted with interrupts off, it is off for good
        // (Linux's poweroff without ACPI ends so).
        // A write posted just before (a power-off or reset request) is the
        // real end: let the devices act on it first.
        if (!(exit.exitstate.rflags & kRflagsIf)) {
            call({IoRequest::Kind::Settle, IoRequest::Space::Port, 0, 0, 0});
            machine_.finish(MachineState::Stopped, 0,
                            "guest powered off (halted with interrupts disabled)");
            return false;
        }
        halted_ = true;
        return true;
    case NVMM_VCPU_EXIT_SHUTDOWN:
        // A PC resets on a triple fault (Linux's reboot=t uses it).
        machine_.finish(MachineState::Stopped, 0, "guest reset (triple fault)", true);
        return false;
    default:
        machine_.finish(MachineState::Crashed, 0, describe_failure());
        return false;
    }
}

// No MSR beyond NVMM's in-kernel set exists on this platform (no APIC,
// MTRRs or machine checks, and the CPUID says so): unanswered, the access
// raises #GP in the guest, as an MSR the CPU lacks does.  Logged once per
// MSR: Linux polls some (TSC_ADJUST) every second on hosts whose CPUID
// leaks through.
void VcpuRunner::refuse_msr(bool write, uint32_t msr, uint64_t value)
{
    constexpr size_t kMaxLogged = 64;
    n_other_.fetch_add(1, std::memory_order_relaxed);
    if (msrs_logged_.size() >= kMaxLogged || !msrs_logged_.insert({write, msr}).second) {
        return;
    }
    dev::GuestLog& log = machine_.devices_->guest_log();
    if (write) {
        log.warn("msr", "vcpu ", id_, ": wrmsr ", base::hex(msr), " = ", base::hex(value),
                 ": no such MSR, #GP (further writes to it are not logged)");
    } else {
        log.warn("msr", "vcpu ", id_, ": rdmsr ", base::hex(msr), ": no such MSR, #GP (further reads of it are not logged)");
    }
}

// What the vCPU was doing when the host gave up on it: the exit, RIP and
// the code bytes there (an instruction KVM cannot emulate shows here).
std::string VcpuRunner::describe_failure()
{
    const nvmm_vcpu_exit& exit = *vcpu_.exit;
    std::string what = "vcpu " + std::to_string(id_) + ": the host cannot run the guest (exit " +
                       base::hex(exit.reason) + ", hwcode " + base::hex(exit.u.inv.hwcode) + ")";
    if (nvmm_vcpu_getstate(mach_, &vcpu_, NVMM_X64_STATE_GPRS | NVMM_X64_STATE_SEGS |
                                              NVMM_X64_STATE_CRS) == -1) {
        return what;
    }
    const uint64_t rip = vcpu_.state->gprs[NVMM_X64_GPR_RIP];
    const nvmm_x64_state_seg& cs = vcpu_.state->segs[NVMM_X64_SEG_CS];
    what += " at rip " + base::hex(rip) + " (cs " + base::hex(cs.selector) + ")";
    uint8_t code[kMaxCodeBytes];
    size_t n = read_code(cs.base + rip, code);
    if (n == 0) {
        return what + ", code not readable";
    }
    what += ", code";
    for (size_t i = 0; i < n; i++) {
        char byte[4];
        std::snprintf(byte, sizeof byte, " %02x", code[i]);
        what += byte;
    }
    return what;
}

// Guest bytes at linear address `gva`, as many as fit `code` and are mapped
// and backed by RAM.
size_t VcpuRunner::read_code(uint64_t gva, std::span<uint8_t> code)
{
    size_t n = 0;
    while (n < code.size()) {
        gpaddr_t gpa;
        nvmm_prot_t prot;
        uintptr_t hva;
        if (nvmm_gva_to_gpa(mach_, &vcpu_, gva + n, &gpa, &prot) == -1 ||
            nvmm_gpa_to_hva(mach_, gpa, &hva, &prot) == -1) {
            break;
        }
        const size_t in_page = 0x1000 - (gpa & 0xFFF);
        const size_t take = std::min(code.size() - n, in_page);
        std::memcpy(code.data() + n, reinterpret_cast<const void*>(hva), take);
        n += take;
    }
    return n;
}

// A halted vCPU (interrupts on: halted with them off, it is off) costs no
// host CPU: it sleeps until an interrupt, the PIT's deadline (vCPU 0) or a
// control request.
void VcpuRunner::wait_for_interrupt()
{
    for (;;) {
        uint32_t seen = wake_.load(std::memory_order_acquire);
        if (finishing_.load(std::memory_order_acquire) || attention_.load(std::memory_order_acquire) ||
            timer_due_.load(std::memory_order_acquire) || (id_ == 0 && machine_.interrupt_pending())) {
            return;
        }
        auto deadline = serves_timer_ ? machine_.devices_->timer_deadline() : std::nullopt;
        if (deadline && *deadline <= machine_.clock_.monotonic()) {
            timer_due_.store(true, std::memory_order_release);
            return;
        }
        sleep_on(wake_, seen, deadline ? std::optional(*deadline + kTimerSlack) : std::nullopt);
    }
}

// Async-signal-safe: atomics and nvmm_vcpu_stop.  The stop covers a signal
// that lands just before KVM_RUN (it then returns at once); the bump of
// wake_ one that lands just before the HLT sleep (it then does not sleep).
void VcpuRunner::timer_signalled()
{
    timer_due_.store(true, std::memory_order_release);
    wake_.fetch_add(1, std::memory_order_acq_rel);
    nvmm_vcpu_stop(&vcpu_);
}

void VcpuRunner::timer_expired_on_strand()
{
    timer_due_.store(true, std::memory_order_release);
    kick();
}

// The flag first: an expiry signalled while the PIT runs is seen next time.
void VcpuRunner::serve_timer()
{
    if (timer_due_.load(std::memory_order_acquire)) {
        timer_due_.store(false, std::memory_order_release);
        machine_.devices_->expire_timer();
    }
}

void VcpuRunner::kick()
{
    if (t_runner == this) {
        return;  // the vCPU itself (a PIC access): it looks before it runs again
    }
    wake_.fetch_add(1, std::memory_order_acq_rel);
    wake_all(wake_);
    if (have_vcpu_) {
        nvmm_vcpu_stop(&vcpu_);
    }
}

void VcpuRunner::set_paused(bool paused)
{
    {
        std::lock_guard lock(mutex_);
        pause_ = paused;
        attention_.store(true, std::memory_order_release);
        cv_.notify_all();
    }
    kick();
}

bool VcpuRunner::wait_parked(Deadline deadline)
{
    std::unique_lock lock(mutex_);
    return cv_.wait_until(lock, deadline, [&] { return parked_ || exited_ || !thread_.joinable(); });
}

void VcpuRunner::finish()
{
    {
        std::lock_guard lock(mutex_);
        finishing_.store(true, std::memory_order_release);
        attention_.store(true, std::memory_order_release);
        cv_.notify_all();
    }
    kick();
}

void VcpuRunner::join()
{
    if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) {
        thread_.join();
    }
}

// A request the thread has not taken by the deadline is withdrawn; one it
// has taken runs to its end (on the vCPU thread, it does not wait).
Outcome VcpuRunner::run_request(Request fn, std::string* error, Deadline deadline)
{
    PendingRequest request;
    request.fn = std::move(fn);
    {
        // Not thread_: the machine says it runs just before it starts
        // its vCPU threads, and the new thread serves the request first.
        std::unique_lock lock(mutex_);
        if (exited_) {
            *error = "vcpu " + std::to_string(id_) + " is not running";
            return Outcome::Refused;
        }
        requests_.push_back(&request);
        attention_.store(true, std::memory_order_release);
        cv_.notify_all();
    }
    kick();
    std::unique_lock lock(mutex_);
    if (!cv_.wait_until(lock, deadline, [&] { return request.done; })) {
        auto queued = std::find(requests_.begin(), requests_.end(), &request);
        if (queued != requests_.end()) {
            requests_.erase(queued);
            *error = "vcpu " + std::to_string(id_) + " did not answer in time";
            return Outcome::Late;
        }
        cv_.wait(lock, [&] { return request.done; });
    }
    if (!request.ok) {
        *error = request.error;
    }
    return request.ok ? Outcome::Done : Outcome::Refused;
}

// ---------------------------------------------------------------------------
// The port channel.

void VcpuRunner::push(const IoRequest& request)
{
    while (!channel_.ring.push(request)) {
        machine_.schedule_drain();  // full of posted writes: let the strand catch up
        std::this_thread::yield();
    }
    machine_.schedule_drain();
}

void VcpuRunner::post(IoRequest request)
{
    ++posted_;
    push(request);
}

// The strand applies posted writes in order; what the vCPU reaches itself
// must see their effects, as the guest's next instruction would.
void VcpuRunner::settle_posted()
{
    if (channel_.posted_done.load(std::memory_order_acquire) != posted_) {
        call({IoRequest::Kind::Settle, IoRequest::Space::Port, 0, 0, 0});
    }
}

void VcpuRunner::direct_io(nvmm_io* io)
{
    PcDevices& devices = *machine_.devices_;
    if (io->in) {
        settle_posted();
        uint32_t value = devices.vcpu_read(io->port, io->size);
        std::memcpy(io->data, &value, io->size);
        return;
    }
    uint32_t value = 0;
    std::memcpy(&value, io->data, io->size);
    devices.vcpu_write(io->port, io->size, value);
}

void VcpuRunner::write(IoRequest request)
{
    if (machine_.spec().posted_writes) {
        request.kind = IoRequest::Kind::PostedWrite;
        post(request);
    } else {
        request.kind = IoRequest::Kind::Write;
        call(request);
    }
}

// Nothing but the virtio windows is behind guest-physical addresses that
// are not RAM: elsewhere reads float and writes vanish, as on an empty bus.
void VcpuRunner::mmio(nvmm_mem* mem)
{
    const auto size = static_cast<uint8_t>(mem->size);
    if (!machine_.virtio_->claims(mem->gpa)) {
        if (!mem->write) {
            std::memset(mem->data, 0xFF, mem->size);
        }
        return;
    }
    if (mem->write) {
        uint64_t value = 0;
        std::memcpy(&value, mem->data, mem->size);
        write({IoRequest::Kind::PostedWrite, IoRequest::Space::Memory, size, mem->gpa, value});
        return;
    }
    uint64_t value = call({IoRequest::Kind::Read, IoRequest::Space::Memory, size, mem->gpa, 0});
    std::memcpy(mem->data, &value, mem->size);
}

uint64_t VcpuRunner::call(IoRequest request)
{
    uint32_t ticket = ++calls_;
    push(request);
    auto deadline = std::chrono::steady_clock::now() + machine_.spec().answer_spin;
    while (channel_.done.load(std::memory_order_acquire) != ticket) {
        if (std::chrono::steady_clock::now() > deadline) {
            channel_.done.wait(ticket - 1, std::memory_order_acquire);
        } else {
            cpu_relax();
        }
    }
    return channel_.answer;
}

void VcpuRunner::serve_channel(PcDevices& ports, VirtioDevices& memory)
{
    IoRequest r;
    while (channel_.ring.pop(r)) {
        const bool port = r.space == IoRequest::Space::Port;
        switch (r.kind) {
        case IoRequest::Kind::Read:
            channel_.answer = port ? ports.read(static_cast<uint16_t>(r.address), r.size)
                                   : memory.read(r.address, r.size);
            break;
        case IoRequest::Kind::Write:
        case IoRequest::Kind::PostedWrite:
            if (port) {
                ports.write(static_cast<uint16_t>(r.address), r.size, static_cast<uint32_t>(r.value));
            } else {
                memory.write(r.address, r.size, r.value);
            }
            break;
        case IoRequest::Kind::Settle:
            break;
        }
        if (r.kind == IoRequest::Kind::PostedWrite) {
            channel_.posted_done.fetch_add(1, std::memory_order_release);
        } else {
            channel_.done.fetch_add(1, std::memory_order_release);
            channel_.done.notify_one();
        }
    }
}

std::chrono::nanoseconds VcpuRunner::cpu_time() const
{
    std::lock_guard lock(clock_mutex_);
    return cpu_clock_ ? cpu_clock_time(*cpu_clock_) : cpu_used_;
}

void VcpuRunner::add_counters(ExitCounters& total) const
{
    total.io += n_io_.load(std::memory_order_relaxed);
    total.mmio += n_mmio_.load(std::memory_order_relaxed);
    total.halted += n_halted_.load(std::memory_order_relaxed);
    total.interrupts += n_interrupts_.load(std::memory_order_relaxed);
    total.stopped += n_stopped_.load(std::memory_order_relaxed);
    total.other += n_other_.load(std::memory_order_relaxed);
}

}  // namespace vmruntime::runtime
