// SPDX-License-Identifier: BSD-2-Clause
//
// The comm-page protocol on kvm_run.  The rules that keep it at one ioctl
// (KVM_RUN) per exit:
//  - setstate and inject only mark the comm page; run() copies the marked
//    classes into kvm_run's sync-regs area and sets kvm_dirty_regs, and
//    KVM applies them on entry (sync_regs() runs before anything else in
//    KVM_RUN);
//  - kvm_valid_regs makes KVM store GPRs and events into kvm_run on every
//    return, and the sregs while they are in use (need_sregs()), so
//    getstate of GPRS/SEGS/CRS/INTR is a copy;
//  - an IO or MMIO instruction that KVM finishes on the next entry stays
//    there until somebody looks at the state (then KVM_RUN with
//    immediate_exit finishes it without entering the guest).
#include "vcpu.h"

#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <algorithm>
#include <cstring>
#include <mutex>

#include "kvm.h"
#include "machine.h"
#include "msr_policy.h"
#include "vcpu_state.h"
#include "x86_decode.h"

namespace vmruntime::nvmm {
namespace {

constexpr uint64_t kSyncRegs = KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS | KVM_SYNC_X86_EVENTS;
// How many exits the sregs stay mirrored after the last one that used them.
constexpr unsigned kSregsLinger = 64;
constexpr uint64_t kCr0Pe = 1ULL << 0;
constexpr uint64_t kCr4Osxsave = 1ULL << 18;
constexpr uint64_t kEferLma = 1ULL << 10;
// INVALID's hwcode when KVM_RUN, or an ioctl needed to report the exit,
// failed: bit 63 set, then the errno.
constexpr uint64_t kRunErrnoCode = 1ULL << 63;

// Delivered to a vCPU thread to make KVM_RUN return.  A standard signal,
// not a real-time one: the kernel refuses to queue a real-time signal once
// the user's pending-signal quota (RLIMIT_SIGPENDING) is used up, but always
// marks a standard one pending, so a kick cannot be lost.  SIGURG because
// nothing sends it unasked (only a socket put in F_SETOWN mode), and
// ignoring it is its default, so a stray one is harmless.
constexpr int kKickSignal = SIGURG;

void on_kick(int) {}

// SIG_IGN counts as unhandled: an ignored signal is discarded when sent and
// would not interrupt KVM_RUN.  SA_RESTART: the vCPU thread's other system
// calls resume; KVM_RUN returns EINTR regardless.
void install_kick_handler()
{
    static std::once_flag once;
    std::call_once(once, [] {
        struct sigaction old = {};
        sigaction(kKickSignal, nullptr, &old);
        const bool handled = (old.sa_flags & SA_SIGINFO) ||
                             (old.sa_handler != SIG_DFL && old.sa_handler != SIG_IGN);
        if (handled) {
            return;  // the application handles it; any handler interrupts KVM_RUN
        }
        struct sigaction sa = {};
        sa.sa_handler = on_kick;
        sa.sa_flags = SA_RESTART;
        sigemptyset(&sa.sa_mask);
        sigaction(kKickSignal, &sa, nullptr);
    });
}

pid_t current_tid()
{
    static thread_local pid_t tid = static_cast<pid_t>(syscall(SYS_gettid));
    return tid;
}

bool has_error_code(uint8_t vector)
{
    switch (vector) {
    case 8: case 10: case 11: case 12: case 13: case 14: case 17: case 30:
        return true;
    default:
        return false;
    }
}

}  // namespace

void request_stop(volatile int* stop)
{
    auto* area = reinterpret_cast<CommArea*>(reinterpret_cast<char*>(const_cast<int*>(stop)) -
                                             offsetof(CommArea, comm) -
                                             offsetof(nvmm_comm_page, stop));
    // stop before immediate_exit before in_run: the vCPU clears
    // immediate_exit before it reads stop, and publishes in_run before it
    // enters, so either it sees stop, or KVM sees immediate_exit, or we see
    // in_run and the signal takes it out of the guest.
    __atomic_store_n(stop, 1, __ATOMIC_SEQ_CST);
    __atomic_store_n(&area->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
    if (area->in_run.load(std::memory_order_seq_cst)) {
        pid_t tid = area->tid.load(std::memory_order_relaxed);
        if (tid > 0) {
            syscall(SYS_tgkill, getpid(), tid, kKickSignal);
        }
    }
}

Vcpu::Vcpu(Machine& mach, unsigned cpuid, int fd, kvm_run* run)
    : mach_(mach), cpuid_(cpuid), fd_(fd), run_(run), area_(std::make_unique<CommArea>()), page_cache_(mach)
{
    std::memset(&area_->comm, 0, sizeof(area_->comm));
    area_->run = run;
}

Vcpu::~Vcpu()
{
    munmap(run_, kvm::system().run_size);
    close(fd_);
}

int Vcpu::create(Machine& mach, unsigned cpuid, std::unique_ptr<Vcpu>* out)
{
    install_kick_handler();
    int fd = kvm::create_vcpu(mach.vm_fd(), cpuid);
    if (fd < 0) {
        return errno;
    }
    void* run = mmap(nullptr, kvm::system().run_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (run == MAP_FAILED) {
        int err = errno;
        close(fd);
        return err;
    }
    std::unique_ptr<Vcpu> vcpu(new Vcpu(mach, cpuid, fd, static_cast<kvm_run*>(run)));
    if (int err = vcpu->install_reset_state()) {
        return err;
    }
    *out = std::move(vcpu);
    return 0;
}

int Vcpu::install_reset_state()
{
    // Start the mirror from KVM's own values, so that partial commits later
    // only change what the VMM changed.
    kvm_sync_regs& m = mirror();
    if (ioctl(fd_, KVM_GET_REGS, &m.regs) == -1 || ioctl(fd_, KVM_GET_SREGS, &m.sregs) == -1 ||
        ioctl(fd_, KVM_GET_VCPU_EVENTS, &m.events) == -1) {
        return errno;
    }
    if (int err = apply_cpuid()) {
        return err;
    }
    run_->kvm_valid_regs = kSyncRegs;
    xcr0_known_ = false;
    nvmm_comm_page& c = comm();
    state::reset_state(c.state);
    if (int err = commit_state(NVMM_X64_STATE_ALL)) {
        return err;
    }
    if (ioctl(fd_, KVM_SET_REGS, &m.regs) == -1 || ioctl(fd_, KVM_SET_SREGS, &m.sregs) == -1 ||
        ioctl(fd_, KVM_SET_VCPU_EVENTS, &m.events) == -1) {
        return errno;
    }
    run_->kvm_dirty_regs = 0;
    c.state_cached = NVMM_X64_STATE_ALL;
    return 0;
}

void Vcpu::bind(struct nvmm_vcpu* user)
{
    nvmm_comm_page& c = comm();
    user->cpuid = cpuid_;
    std::memset(&user->cbs, 0, sizeof(user->cbs));
    user->state = &c.state;
    user->event = &c.event;
    user->exit = &exit_;
    user->stop = &c.stop;
}

// ---------------------------------------------------------------------------
// State.

int Vcpu::get_xcr0(uint64_t* value)
{
    if (!xcr0_known_) {
        kvm_xcrs xcrs = {};
        if (ioctl(fd_, KVM_GET_XCRS, &xcrs) == -1) {
            return errno;
        }
        xcr0_ = 1;
        for (uint32_t i = 0; i < xcrs.nr_xcrs && i < KVM_MAX_XCRS; i++) {
            if (xcrs.xcrs[i].xcr == 0) {
                xcr0_ = xcrs.xcrs[i].value;
            }
        }
        xcr0_known_ = true;
    }
    *value = xcr0_;
    return 0;
}

int Vcpu::set_xcr0(uint64_t value)
{
    if (xcr0_known_ && value == xcr0_) {
        return 0;
    }
    kvm_xcrs xcrs = {};
    xcrs.nr_xcrs = 1;
    xcrs.xcrs[0].xcr = 0;
    xcrs.xcrs[0].value = value;
    if (ioctl(fd_, KVM_SET_XCRS, &xcrs) == -1) {
        return errno;
    }
    xcr0_ = value;
    xcr0_known_ = true;
    return 0;
}

// KVM's store of the sregs into kvm_run costs about 4 % of an exit on the
// development hosts (nvmm-bench prints it as the floor), and MMIO, HLT and
// window exits never look at them.  So they are mirrored only while
// something keeps needing them: IO and MSR exits (their instruction is
// decoded at RIP) and the VMM's SEGS/CRS/EFER accesses.  A need after a
// quiet stretch costs one KVM_GET_SREGS and turns the mirror back on.
int Vcpu::need_sregs()
{
    sregs_idle_ = 0;
    if (sregs_fresh_) {
        return 0;
    }
    if (ioctl(fd_, KVM_GET_SREGS, &mirror().sregs) == -1) {
        return errno;
    }
    sregs_fresh_ = true;
    return 0;
}

// KVM_RUN.  KVM stores the mirrored classes on every return once it has
// the vCPU loaded, which is past any failure other than EINTR's.
inline int Vcpu::run_ioctl()
{
    const bool mirror_sregs = sregs_idle_ < kSregsLinger;
    run_->kvm_valid_regs = mirror_sregs ? kSyncRegs : kSyncRegs & ~static_cast<uint64_t>(KVM_SYNC_X86_SREGS);
    int ret = ioctl(fd_, KVM_RUN, 0);
    // errno lives in TLS behind a call: read it only on failure.
    sregs_fresh_ = mirror_sregs && (ret == 0 || errno == EINTR);
    return ret;
}

int Vcpu::commit_state(uint64_t flags)
{
    nvmm_x64_state& s = comm().state;
    state::fix_up(s, flags);
    kvm_sync_regs& m = mirror();
    uint64_t dirty = 0;
    if (flags & NVMM_X64_STATE_GPRS) {
        state::gprs_to_kvm(s.gprs, m.regs);
        dirty |= KVM_SYNC_X86_REGS;
    }
    if (flags & (NVMM_X64_STATE_SEGS | NVMM_X64_STATE_CRS | NVMM_X64_STATE_MSRS)) {
        if (int err = need_sregs()) {
            return err;
        }
        kvm_sregs sregs = m.sregs;
        if (flags & NVMM_X64_STATE_SEGS) {
            state::segs_to_kvm(s.segs, sregs);
            gdt_attrib_ = s.segs[NVMM_X64_SEG_GDT].attrib;
            idt_attrib_ = s.segs[NVMM_X64_SEG_IDT].attrib;
        }
        if (flags & NVMM_X64_STATE_CRS) {
            state::crs_to_kvm(s.crs, sregs);
            // Without an in-kernel LAPIC, KVM reloads CR8 from kvm_run->cr8
            // on every entry, after sync_regs.
            run_->cr8 = s.crs[NVMM_X64_CR_CR8];
        }
        if (flags & NVMM_X64_STATE_MSRS) {
            sregs.efer = s.msrs[NVMM_X64_MSR_EFER];
        }
        // Setting sregs resets KVM's MMU context: skip it when nothing moved.
        if (std::memcmp(&sregs, &m.sregs, sizeof(sregs)) != 0) {
            m.sregs = sregs;
            dirty |= KVM_SYNC_X86_SREGS;
        }
    }
    if (flags & NVMM_X64_STATE_INTR) {
        bool shadow = m.events.interrupt.shadow != 0;
        if (shadow != static_cast<bool>(s.intr.int_shadow)) {
            m.events.interrupt.shadow = s.intr.int_shadow ? KVM_X86_SHADOW_INT_STI : 0;
            m.events.flags |= KVM_VCPUEVENT_VALID_SHADOW;
            dirty |= KVM_SYNC_X86_EVENTS;
        }
        run_->request_interrupt_window = s.intr.int_window_exiting;
        nmi_window_ = s.intr.nmi_window_exiting;
    }
    run_->kvm_dirty_regs |= dirty;

    if ((flags & NVMM_X64_STATE_CRS) && kvm::system().xcr0_mask != 0) {
        if (int err = set_xcr0(s.crs[NVMM_X64_CR_XCR0])) {
            return err;
        }
    }
    if ((flags & NVMM_X64_STATE_DRS) && state::set_drs(fd_, s.drs) == -1) {
        return errno;
    }
    if ((flags & NVMM_X64_STATE_MSRS) && state::set_msrs(fd_, s.msrs) == -1) {
        return errno;
    }
    if ((flags & NVMM_X64_STATE_FPU) && state::set_fpu(fd_, s.fpu) == -1) {
        return errno;
    }
    return 0;
}

int Vcpu::fetch_state(uint64_t flags)
{
    nvmm_x64_state& s = comm().state;
    const kvm_sync_regs& m = mirror();
    if (flags & (NVMM_X64_STATE_SEGS | NVMM_X64_STATE_CRS | NVMM_X64_STATE_MSRS)) {
        if (int err = need_sregs()) {
            return err;
        }
    }
    if (flags & NVMM_X64_STATE_GPRS) {
        state::gprs_from_kvm(m.regs, s.gprs);
        if (completion_ == Completion::Open && pending_.reason == NVMM_VCPU_EXIT_IO && io_rip_rewound_) {
            s.gprs[NVMM_X64_GPR_RIP] = io_rip_;
        }
    }
    if (flags & NVMM_X64_STATE_SEGS) {
        state::segs_from_kvm(m.sregs, s.segs);
        s.segs[NVMM_X64_SEG_GDT].attrib = gdt_attrib_;
        s.segs[NVMM_X64_SEG_IDT].attrib = idt_attrib_;
    }
    if (flags & NVMM_X64_STATE_CRS) {
        state::crs_from_kvm(m.sregs, run_->cr8, s.crs);
        s.crs[NVMM_X64_CR_XCR0] = 1;
        if (kvm::system().xcr0_mask != 0) {
            if (int err = get_xcr0(&s.crs[NVMM_X64_CR_XCR0])) {
                return err;
            }
        }
    }
    if (flags & NVMM_X64_STATE_INTR) {
        std::memset(&s.intr, 0, sizeof(s.intr));
        s.intr.int_shadow = m.events.interrupt.shadow != 0;
        s.intr.int_window_exiting = run_->request_interrupt_window != 0;
        s.intr.nmi_window_exiting = nmi_window_;
        s.intr.evt_pending = state::event_pending(m.events);
    }
    if ((flags & NVMM_X64_STATE_DRS) && state::get_drs(fd_, s.drs) == -1) {
        return errno;
    }
    if (flags & NVMM_X64_STATE_MSRS) {
        if (state::get_msrs(fd_, s.msrs) == -1) {
            return errno;
        }
        s.msrs[NVMM_X64_MSR_EFER] = m.sregs.efer;
    }
    if ((flags & NVMM_X64_STATE_FPU) &&
        state::get_fpu(fd_, s.fpu) == -1) {
        return errno;
    }
    return 0;
}

int Vcpu::getstate(uint64_t flags)
{
    if (flags & ~static_cast<uint64_t>(NVMM_X64_STATE_ALL)) {
        return EINVAL;
    }
    nvmm_comm_page& c = comm();
    uint64_t missing = flags & ~c.state_cached;
    if (missing == 0) {
        return 0;
    }
    if (completion_ == Completion::InKernel) {
        if (int err = finish_in_kernel()) {
            return err;
        }
    }
    if (rep_may_be_done_ && (missing & NVMM_X64_STATE_GPRS)) {
        rep_may_be_done_ = false;
        step_over_finished_rep();
    }
    if (int err = fetch_state(missing)) {
        return err;
    }
    c.state_cached |= missing;
    return 0;
}

int Vcpu::commit_event()
{
    const nvmm_vcpu_event& ev = comm().event;
    kvm_vcpu_events& e = mirror().events;
    switch (ev.type) {
    case NVMM_VCPU_EVENT_EXCP:
        if (int err = need_sregs()) {
            return err;
        }
        // As NVMM: NMI is not an exception, #DE and #BP are not injectable,
        // and vectors 32+ are interrupts.
        if (ev.vector == 2 || ev.vector >= 32 || ev.vector == 0 || ev.vector == 3) {
            return EINVAL;
        }
        e.exception.injected = 1;
        e.exception.pending = 0;
        e.exception.nr = ev.vector;
        // Real mode pushes no error code.
        e.exception.has_error_code = has_error_code(ev.vector) && (mirror().sregs.cr0 & kCr0Pe);
        e.exception.error_code = static_cast<uint32_t>(ev.u.excp.error);
        break;
    case NVMM_VCPU_EVENT_INTR:
        if (ev.vector == 2) {
            e.nmi.pending = 1;
            e.flags |= KVM_VCPUEVENT_VALID_NMI_PENDING;
        } else {
            e.interrupt.injected = 1;
            e.interrupt.nr = ev.vector;
            e.interrupt.soft = 0;
        }
        break;
    default:
        return EINVAL;
    }
    run_->kvm_dirty_regs |= KVM_SYNC_X86_EVENTS;
    return 0;
}

// ---------------------------------------------------------------------------
// Running.

bool Vcpu::consume_stop()
{
    __atomic_store_n(&run_->immediate_exit, 0, __ATOMIC_SEQ_CST);
    return __atomic_exchange_n(&comm().stop, 0, __ATOMIC_SEQ_CST) != 0;
}

// The common case before an entry: nobody asked for a stop, nothing to
// clear.  A late immediate_exit left by a consumed stop only costs one NONE
// exit: KVM returns EINTR and the EINTR path clears it.
inline bool Vcpu::stop_requested()
{
    return __atomic_load_n(&comm().stop, __ATOMIC_SEQ_CST) != 0 && consume_stop();
}

// The exit loop of a VMM mostly comes back with nothing committed and
// nothing held back: one test sends it straight into the guest.
int Vcpu::run()
{
    nvmm_comm_page& c = comm();
    const bool msr_open = completion_ == Completion::Open &&
                          (pending_.reason == NVMM_VCPU_EXIT_RDMSR || pending_.reason == NVMM_VCPU_EXIT_WRMSR);
    if (c.state_commit != 0 || c.event_commit || stashed_ || nmi_window_ || !entered_ || msr_open) {
        return run_with_work();
    }
    if (stop_requested()) {
        return report_stop();
    }
    c.state_cached = 0;
    rep_may_be_done_ = false;
    return enter();
}

int Vcpu::report_stop()
{
    std::memset(&exit_, 0, sizeof(exit_));
    exit_.reason = NVMM_VCPU_EXIT_STOPPED;
    fill_exitstate(&exit_);
    exit_.exitstate.evt_pending |= comm().event_commit;  // kept for the next run
    return 0;
}

int Vcpu::run_with_work()
{
    nvmm_comm_page& c = comm();
    if (completion_ == Completion::InKernel && (c.state_commit & NVMM_X64_STATE_GPRS)) {
        if (int err = finish_in_kernel()) {
            return err;
        }
    }
    if ((completion_ == Completion::Open || completion_ == Completion::Answered) &&
        (c.state_commit & NVMM_X64_STATE_GPRS) && !answers_exit()) {
        if (int err = drop_completion()) {
            return err;
        }
    }
    if (!stashed_ && stop_requested()) {
        return report_stop();
    }
    if (stashed_) {
        stashed_ = false;
        exit_ = stashed_exit_;
        exit_.exitstate.evt_pending |= c.event_commit;  // kept for the next run
        pending_ = exit_;
        completion_ = stashed_completion_;
        c.state_cached = c.state_commit;  // only what the VMM set is newer than KVM's
        return 0;
    }
    if (completion_ == Completion::Open) {
        if (pending_.reason == NVMM_VCPU_EXIT_RDMSR || pending_.reason == NVMM_VCPU_EXIT_WRMSR) {
            answer_msr();
        } else if (pending_.reason == NVMM_VCPU_EXIT_IO && (c.state_commit & NVMM_X64_STATE_GPRS)) {
            answer_in_from_rax();
        }
    }
    if (c.state_commit) {
        uint64_t flags = c.state_commit;
        c.state_commit = 0;
        if (int err = commit_state(flags)) {
            return err;
        }
    }
    if (c.event_commit) {
        c.event_commit = false;
        if (int err = commit_event()) {
            return err;
        }
    }
    c.state_cached = 0;
    rep_may_be_done_ = false;
    if (nmi_window_) {
        // KVM holds an injected NMI until the guest can take it, so the NMI
        // window is always open from the VMM's side.
        nmi_window_ = false;
        std::memset(&exit_, 0, sizeof(exit_));
        exit_.reason = NVMM_VCPU_EXIT_NMI_READY;
        fill_exitstate(&exit_);
        return 0;
    }
    if (!entered_) {
        // NetBSD counts the machine's vCPUs when the guest asks (leaf 0xB),
        // KVM takes a CPUID only before the first entry: count them now.
        entered_ = true;
        if (mach_.vcpu_count() != cpuid_vcpus_) {
            if (int err = apply_cpuid()) {
                return err;
            }
        }
    }
    return enter();
}

int Vcpu::enter()
{
    area_->tid.store(current_tid(), std::memory_order_relaxed);
    area_->in_run.store(true, std::memory_order_seq_cst);
    int ret, err;
    do {
        ret = run_ioctl();
        err = ret == -1 ? errno : 0;
        // KVM exits whenever the guest lowers CR8 (no in-kernel LAPIC);
        // that is news only to a VMM that asked for TPR exits.
    } while (ret == 0 && ((run_->exit_reason == KVM_EXIT_SET_TPR && !tpr_exit_) ||
                          ((run_->exit_reason == KVM_EXIT_X86_RDMSR || run_->exit_reason == KVM_EXIT_X86_WRMSR) &&
                           answer_msr_in_library())));
    // Release is enough: a stopper that sees false still left
    // immediate_exit set, which the next entry obeys.
    area_->in_run.store(false, std::memory_order_release);
    completion_ = Completion::None;
    if (sregs_idle_ < kSregsLinger) {
        sregs_idle_++;
    }
    if (!sregs_fresh_ || (mirror().sregs.cr4 & kCr4Osxsave)) {
        xcr0_known_ = false;  // the guest may have run XSETBV
    }
    if (ret == -1 && err != EINTR) {
        // KVM could not run this guest (no memory behind the reset vector,
        // a state the hardware refuses...): NVMM reports that as INVALID.
        run_->kvm_dirty_regs = 0;
        invalid_exit(&exit_, err);
        fill_exitstate(&exit_);
        return 0;
    }
    if (ret == -1) {
        std::memset(&exit_, 0, sizeof(exit_));
        exit_.reason = consume_stop() ? NVMM_VCPU_EXIT_STOPPED : NVMM_VCPU_EXIT_NONE;
        fill_exitstate(&exit_);
        return 0;
    }
    completion_ = translate_exit(&exit_);
    pending_ = exit_;
    return 0;
}

// KVM_RUN with immediate_exit: KVM finishes what it holds of the last
// exit's instruction and returns without entering the guest, -1 with EINTR,
// or 0 with a new exit when finishing needed userspace again.  A stop
// request arriving meanwhile keeps comm.stop set; run() checks it again
// before it enters the guest.
int Vcpu::finish_without_entry()
{
    __atomic_store_n(&run_->immediate_exit, 1, __ATOMIC_SEQ_CST);
    int ret = run_ioctl();
    __atomic_store_n(&run_->immediate_exit, 0, __ATOMIC_SEQ_CST);
    return ret;
}

// NetBSD's rule: the state the VMM commits is the state the vCPU runs
// from.  Committed GPRs answer the exit when RIP is the exit's npc (the
// library then hands KVM the answer); any other RIP replaces the state.
bool Vcpu::answers_exit() const
{
    const uint64_t rip = area_->comm.state.gprs[NVMM_X64_GPR_RIP];
    switch (pending_.reason) {
    // An OUT KVM's emulator retired before the exit holds nothing back:
    // any RIP goes in as it is.
    case NVMM_VCPU_EXIT_IO: return rip == pending_.u.io.npc || (io_rip_rewound_ && !pending_.u.io.in);
    case NVMM_VCPU_EXIT_RDMSR: return rip == pending_.u.rdmsr.npc;
    case NVMM_VCPU_EXIT_WRMSR: return rip == pending_.u.wrmsr.npc;
    default: return false;  // an MMIO read's answer is the assist's
    }
}

// KVM finishes an exit's instruction on the next KVM_RUN whatever the
// registers say (an IN into RAX, an MMIO read into its register, an MSR
// access skipped or faulted), and nothing cancels that.  So let it finish
// now, without entering the guest and without a fault, before the committed
// state goes in on top: nothing of the instruction survives in the
// registers the VMM set.  A memory or vector-register destination (INS,
// MOVS from MMIO, an SSE load) still receives the data KVM holds.
int Vcpu::drop_completion()
{
    // Each round finishes one fragment of a string instruction.
    constexpr int kMaxRounds = 4096;
    completion_ = Completion::None;
    io_rip_rewound_ = false;
    rep_may_be_done_ = false;
    nvmm_comm_page& c = comm();
    // What the VMM committed goes in after, over what KVM leaves.
    uint64_t committed = c.state_commit;
    c.state_commit = 0;
    int err = 0;
    for (int round = 0; round < kMaxRounds; round++) {
        if (run_->exit_reason == KVM_EXIT_X86_RDMSR || run_->exit_reason == KVM_EXIT_X86_WRMSR) {
            run_->msr.error = 0;
        }
        int ret = finish_without_entry();
        err = ret == -1 ? errno : 0;
        if (ret == -1) {
            break;
        }
    }
    c.state_commit = committed;
    c.state_cached = committed;
    return err == EINTR ? 0 : err;
}

int Vcpu::finish_in_kernel()
{
    nvmm_comm_page& c = comm();
    // A VMM that moved RIP without having looked at the finished
    // instruction replaces the state instead of editing it.
    if ((c.state_commit & NVMM_X64_STATE_GPRS) &&
        c.state.gprs[NVMM_X64_GPR_RIP] != assist_gprs_[NVMM_X64_GPR_RIP]) {
        return drop_completion();
    }
    completion_ = Completion::None;
    // GPRs the VMM committed since the assist hold its edits on top of the
    // state before the instruction: keep them out of KVM's way, and lay the
    // edited ones over the registers the instruction leaves.
    bool vmm_gprs = c.state_commit & NVMM_X64_STATE_GPRS;
    uint64_t edits[NVMM_X64_NGPR];
    std::memcpy(edits, c.state.gprs, sizeof(edits));
    c.state_commit &= ~static_cast<uint64_t>(NVMM_X64_STATE_GPRS);
    if (c.state_commit) {
        uint64_t flags = c.state_commit;
        c.state_commit = 0;
        if (int err = commit_state(flags)) {
            return err;
        }
    }
    c.state_cached = 0;
    int ret = finish_without_entry();
    int err = errno;
    if (ret == 0) {
        // Finishing the instruction needed the VMM again (the write half of
        // a read-modify-write, the next fragment): keep that exit for the
        // next run().
        stashed_completion_ = translate_exit(&stashed_exit_);
        stashed_ = true;
    } else if (err != EINTR) {
        return err;
    } else {
        step_over_finished_rep();
    }
    if (vmm_gprs) {
        state::gprs_from_kvm(mirror().regs, c.state.gprs);
        for (unsigned i = 0; i < NVMM_X64_NGPR; i++) {
            if (edits[i] != assist_gprs_[i]) {
                c.state.gprs[i] = edits[i];
            }
        }
        c.state_commit |= NVMM_X64_STATE_GPRS;
        c.state_cached |= NVMM_X64_STATE_GPRS;
    }
    return 0;
}

// KVM leaves RIP on a REP string instruction whose count just reached 0 and
// lets the guest run it once more as a no-op; NVMM's assists leave RIP past
// it.  Do that step here, where the VMM can see it.
void Vcpu::step_over_finished_rep()
{
    if (need_sregs() != 0) {
        return;  // the guest then takes the no-op step itself, as under KVM
    }
    kvm_regs& regs = mirror().regs;
    update_code_window(regs.rip, code_size());
    RepString rep;
    if (!decode_rep_string(code_.bytes() + kMaxInsn, code_.readable_from_rip(), code_size(), &rep)) {
        return;
    }
    uint64_t mask = rep.address_size == 8 ? ~0ULL : (1ULL << (8 * rep.address_size)) - 1;
    if ((regs.rcx & mask) == 0) {
        regs.rip += rep.length;
        run_->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
    }
}

// IO and MMIO exits, a VMM's bread and butter, are tested before the
// switch: its jump table is an indirect branch, and the guest's run between
// two exits leaves the predictors cold (these hosts even flush them at
// every exit).
Vcpu::Completion Vcpu::translate_exit(nvmm_vcpu_exit* x)
{
    std::memset(x, 0, sizeof(*x));
    Completion completion = Completion::None;
    if (run_->exit_reason == KVM_EXIT_IO) {
        completion = translate_io(x);
    } else if (run_->exit_reason == KVM_EXIT_MMIO) {
        completion = translate_mmio(x);
    } else {
        completion = translate_other(x);
    }
    fill_exitstate(x);
    return completion;
}

Vcpu::Completion Vcpu::translate_mmio(nvmm_vcpu_exit* x)
{
    x->reason = NVMM_VCPU_EXIT_MEMORY;
    x->u.mem.prot = run_->mmio.is_write ? PROT_WRITE : PROT_READ;
    x->u.mem.gpa = run_->mmio.phys_addr;
    if (!run_->mmio.is_write) {
        std::memset(run_->mmio.data, 0xFF, sizeof(run_->mmio.data));  // unanswered reads: all ones
    }
    return Completion::Open;
}

Vcpu::Completion Vcpu::translate_other(nvmm_vcpu_exit* x)
{
    switch (run_->exit_reason) {
    case KVM_EXIT_X86_RDMSR:
    case KVM_EXIT_X86_WRMSR:
        return translate_msr(x);
    case KVM_EXIT_SET_TPR:
        x->reason = NVMM_VCPU_EXIT_TPR_CHANGED;
        break;
    case KVM_EXIT_HLT:
        x->reason = NVMM_VCPU_EXIT_HALTED;
        break;
    case KVM_EXIT_SHUTDOWN:
    case KVM_EXIT_SYSTEM_EVENT:
        x->reason = NVMM_VCPU_EXIT_SHUTDOWN;
        break;
    case KVM_EXIT_IRQ_WINDOW_OPEN:
        x->reason = NVMM_VCPU_EXIT_INT_READY;
        run_->request_interrupt_window = 0;  // NVMM disarms the window exit
        break;
    case KVM_EXIT_INTR:
        x->reason = NVMM_VCPU_EXIT_NONE;
        break;
    case KVM_EXIT_INTERNAL_ERROR:
        x->reason = NVMM_VCPU_EXIT_INVALID;
        x->u.inv.hwcode = run_->internal.suberror;
        break;
    case KVM_EXIT_FAIL_ENTRY:
        x->reason = NVMM_VCPU_EXIT_INVALID;
        x->u.inv.hwcode = run_->fail_entry.hardware_entry_failure_reason;
        break;
    default:
        x->reason = NVMM_VCPU_EXIT_INVALID;
        x->u.inv.hwcode = run_->exit_reason;
        break;
    }
    return Completion::None;
}

void Vcpu::invalid_exit(nvmm_vcpu_exit* x, int err)
{
    std::memset(x, 0, sizeof(*x));
    x->reason = NVMM_VCPU_EXIT_INVALID;
    x->u.inv.hwcode = kRunErrnoCode | static_cast<uint64_t>(err);
}

void Vcpu::fill_exitstate(nvmm_vcpu_exit* x)
{
    const kvm_sync_regs& m = mirror();
    x->exitstate = {m.regs.rflags,
                    run_->cr8,
                    m.events.interrupt.shadow != 0,
                    run_->request_interrupt_window != 0,
                    nmi_window_,
                    state::event_pending(m.events),
                    0};
}

// ---------------------------------------------------------------------------
// IO exits.  KVM leaves RIP on an IN; on an OUT, RIP is on the instruction
// when KVM took its fast path and past it when KVM's emulator ran the
// instruction (string I/O, real-mode emulation, PVM).  The guest's code
// tells which: a matching OUT at RIP, or one ending at RIP.

unsigned Vcpu::code_size() const
{
    const kvm_sregs& s = run_->s.regs.sregs;
    if ((s.efer & kEferLma) && s.cs.l) {
        return 8;
    }
    return ((s.cr0 & kCr0Pe) && s.cs.db) ? 4 : 2;
}

uint64_t Vcpu::code_linear(uint64_t rip, unsigned size) const
{
    if (size == 8) {
        return rip;
    }
    uint64_t mask = size == 4 ? 0xFFFFFFFFULL : 0xFFFFULL;
    return (run_->s.regs.sregs.cs.base + (rip & mask)) & 0xFFFFFFFFULL;
}

PagingRegs Vcpu::mirror_paging() const
{
    const kvm_sregs& s = run_->s.regs.sregs;
    return PagingRegs{s.cr0, s.cr3, s.cr4, s.efer, static_cast<unsigned>(s.ss.dpl)};
}

// The code window around `rip`, under the mirrored registers; `size` is
// code_size().  Returns its version.
inline uint64_t Vcpu::update_code_window(uint64_t rip, unsigned size)
{
    return code_.update(mirror_paging(), code_linear(rip, size));
}

bool Vcpu::io_matches(const IoInsn& insn) const
{
    const auto& io = run_->io;
    uint16_t port = insn.dx_port ? static_cast<uint16_t>(run_->s.regs.regs.rdx) : insn.imm_port;
    return insn.in == (io.direction == KVM_EXIT_IO_IN) && insn.operand_size == io.size &&
           port == io.port && (insn.str || io.count == 1);
}

// The matching I/O instruction starting at RIP, if any.
bool Vcpu::decode_at(IoInsn* insn) const
{
    return decode_io(code_.bytes() + kMaxInsn, code_.readable_from_rip(), code_size(), insn) && io_matches(*insn);
}

// The matching OUT/OUTS ending exactly at RIP, if any.  Its opcode is the
// last byte (EE, EF, 6E, 6F) or the one before (E6, E7 and imm8); only
// prefix bytes may precede it, so few starts need decoding.
bool Vcpu::decode_before(IoInsn* insn) const
{
    const uint8_t* window = code_.bytes();
    const bool* valid = code_.valid();
    for (size_t tail : {size_t{1}, size_t{2}}) {
        size_t op = kMaxInsn - tail;
        if (!valid[op] || !is_out_opcode(window[op], tail)) {
            continue;
        }
        // The shortest decoding that matches, except that a string OUT
        // takes every legacy prefix before it: they choose its segment and
        // address size.  (A REX byte can only sit right before the opcode.)
        bool found = false;
        for (size_t start = op + 1; start-- > 0;) {
            if (!valid[start]) {
                break;
            }
            size_t len = kMaxInsn - start;
            IoInsn candidate;
            if (decode_io(window + start, len, code_size(), &candidate) && candidate.length == len &&
                io_matches(candidate) && (!found || candidate.str)) {
                *insn = candidate;
                found = true;
            }
            bool more = start > 0 && is_prefix(window[start - 1], code_size()) &&
                        (!found || (insn->str && is_legacy_prefix(window[start - 1])));
            if (!more) {
                break;
            }
        }
        if (found) {
            return true;
        }
    }
    return false;
}

// Everything of an IO exit that follows from the instruction, kept for
// as long as the same instruction exits the same way.
void Vcpu::decode_io_exit(const IoMemo::Key& key)
{
    IoInsn insn, before;
    bool here = decode_at(&insn);
    bool after = key.direction == KVM_EXIT_IO_OUT && decode_before(&before);
    // KVM's emulator retires a string OUT before the exit unless a REP
    // count is left: then RIP stays on it.
    if (after && here && insn.str && !insn.rep) {
        here = false;
    }
    if (after && !here) {
        insn = before;
    }
    IoMemo& m = io_memo_;
    m.key = key;
    m.valid = true;
    nvmm_x86_exit_io& io = m.io;
    io.in = key.direction == KVM_EXIT_IO_IN;
    io.port = key.port;
    io.seg = -1;
    io.address_size = static_cast<uint8_t>(key.code_size);
    io.operand_size = key.size;
    io.rep = io.str = !key.single;
    if (here || after) {
        io.str = insn.str;
        io.rep = insn.rep;
        io.seg = insn.seg;
        io.address_size = insn.address_size;
    }
    io.npc = key.rip;
    m.io_rip = key.rip;
    m.rip_known = (here || after) && !insn.str;
    m.rewound = false;
    m.ambiguous = false;
    if (!m.rip_known) {
        if (here) {
            io.npc = key.rip + insn.length;
        }
    } else if (here && after) {
        m.ambiguous = true;
        m.before_length = before.length;
    } else if (here) {
        io.npc = key.rip + insn.length;
    } else {
        m.io_rip = key.rip - before.length;
        m.rewound = true;
    }
}

Vcpu::Completion Vcpu::translate_io(nvmm_vcpu_exit* x)
{
    if (int err = need_sregs()) {
        invalid_exit(x, err);
        return Completion::None;
    }
    const auto& io = run_->io;
    const kvm_regs& regs = mirror().regs;
    const unsigned size = code_size();
    const IoMemo::Key key{update_code_window(regs.rip, size),
                          regs.rip,
                          io.port,
                          static_cast<uint16_t>(regs.rdx),
                          io.direction,
                          io.size,
                          static_cast<uint8_t>(size),
                          io.count == 1};
    if (!io_memo_.valid || !(io_memo_.key == key)) {
        decode_io_exit(key);
    }
    const IoMemo& m = io_memo_;
    x->reason = NVMM_VCPU_EXIT_IO;
    x->u.io = m.io;
    io_rip_known_ = m.rip_known;
    io_rip_rewound_ = m.rewound;
    io_rip_ = m.io_rip;
    if (m.ambiguous) {
        resolve_ambiguous_out(x, regs.rip, m.before_length);
    }
    if (m.io.in) {
        // Unanswered reads see a floating bus.
        std::memset(reinterpret_cast<uint8_t*>(run_) + io.data_offset, 0xFF,
                    static_cast<size_t>(io.size) * io.count);
    }
    return Completion::Open;
}

// An OUT both at and right before RIP: let KVM finish the instruction now,
// and RIP then is the next instruction whichever path KVM took.  The data
// stays in kvm_run for the assist.
void Vcpu::resolve_ambiguous_out(nvmm_vcpu_exit* x, uint64_t rip, uint8_t before_length)
{
    finish_without_entry();
    uint64_t next = mirror().regs.rip;
    x->u.io.npc = next;
    io_rip_ = next != rip ? rip : rip - before_length;
    io_rip_rewound_ = true;
}

// ---------------------------------------------------------------------------
// MSR exits.  KVM leaves RIP on the RDMSR/WRMSR and finishes it on the next
// entry from kvm_run->msr (data, or error -> #GP), skipping the instruction
// itself.  NVMM's VMM instead sets RAX/RDX and RIP = npc, or injects #GP.

Vcpu::Completion Vcpu::translate_msr(nvmm_vcpu_exit* x)
{
    if (int err = need_sregs()) {
        invalid_exit(x, err);
        return Completion::None;
    }
    bool write = run_->exit_reason == KVM_EXIT_X86_WRMSR;
    msr_rip_ = mirror().regs.rip;
    update_code_window(msr_rip_, code_size());
    uint8_t len = msr_insn_length(code_.bytes() + kMaxInsn, code_.readable_from_rip(), code_size(), write);
    uint64_t npc = msr_rip_ + (len ? len : 2);
    if (write) {
        x->reason = NVMM_VCPU_EXIT_WRMSR;
        x->u.wrmsr.msr = run_->msr.index;
        x->u.wrmsr.val = run_->msr.data;
        x->u.wrmsr.npc = npc;
    } else {
        x->reason = NVMM_VCPU_EXIT_RDMSR;
        x->u.rdmsr.msr = run_->msr.index;
        x->u.rdmsr.npc = npc;
    }
    run_->msr.error = 1;  // unanswered: #GP, as for an MSR nobody implements
    return Completion::Open;
}

// The MSR exits NetBSD's kernel would not have: its ignore list, answered
// here (KVM finishes the access on the next entry as if the VMM had), and
// an access KVM refused to an MSR of the in-kernel set, which is the #GP
// NetBSD's kernel raises.  KVM sends those refusals out only so that the
// x2APIC MSRs, which no filter covers, reach the VMM as NetBSD's do.
// Only for an RDMSR or WRMSR exit.
bool Vcpu::answer_msr_in_library()
{
    const bool write = run_->exit_reason == KVM_EXIT_X86_WRMSR;
    const msr::Vendor vendor = kvm::system().vendor;
    uint64_t value = 0;
    if (run_->msr.reason == KVM_MSR_EXIT_REASON_INVAL && msr::in_kernel(vendor, run_->msr.index, write)) {
        run_->msr.error = 1;
        return true;
    }
    if (!msr::answered_by_library(vendor, run_->msr.index, write, &value)) {
        return false;
    }
    run_->msr.error = 0;
    run_->msr.data = value;
    return true;
}

void Vcpu::answer_msr()
{
    nvmm_comm_page& c = comm();
    bool rdmsr = pending_.reason == NVMM_VCPU_EXIT_RDMSR;
    uint64_t npc = rdmsr ? pending_.u.rdmsr.npc : pending_.u.wrmsr.npc;
    uint64_t* gprs = c.state.gprs;
    if ((c.state_commit & NVMM_X64_STATE_GPRS) && gprs[NVMM_X64_GPR_RIP] == npc) {
        run_->msr.error = 0;
        if (rdmsr) {
            run_->msr.data = (gprs[NVMM_X64_GPR_RDX] << 32) | (gprs[NVMM_X64_GPR_RAX] & 0xFFFFFFFFULL);
        }
        gprs[NVMM_X64_GPR_RIP] = msr_rip_;  // KVM's completion steps over it
    } else if (c.event_commit && c.event.type == NVMM_VCPU_EVENT_EXCP && c.event.vector == 13) {
        c.event_commit = false;  // msr.error makes KVM raise the #GP itself
    }
}

// ---------------------------------------------------------------------------
// Assists.  KVM has decoded the access already: the callbacks see KVM's data
// buffer, and KVM finishes the instruction with it on the next entry.

void Vcpu::complete_pio_here()
{
    // RIP on a non-string IN/OUT: finish it here, for free.  KVM's fast
    // path sees RIP moved on the next entry and drops its own completion;
    // its emulator finishes the instruction alike, from the same data.
    nvmm_x64_state& s = comm().state;
    uint64_t& rax = s.gprs[NVMM_X64_GPR_RAX];
    if (pending_.u.io.in) {
        const uint8_t* data = reinterpret_cast<const uint8_t*>(run_) + run_->io.data_offset;
        uint64_t value = 0;
        std::memcpy(&value, data, pending_.u.io.operand_size);
        switch (pending_.u.io.operand_size) {
        case 1: rax = (rax & ~0xFFULL) | value; break;
        case 2: rax = (rax & ~0xFFFFULL) | value; break;
        default: rax = value; break;  // a 32-bit IN zero-extends into RAX
        }
    }
    s.gprs[NVMM_X64_GPR_RIP] = pending_.u.io.npc;
    comm().state_commit |= NVMM_X64_STATE_GPRS;
}

// A VMM that answers an IN by hand (RAX, then RIP = npc) must win on every
// path: KVM's fast path sees RIP moved and leaves RAX alone, but its
// emulator finishes the IN from kvm_run's data buffer.  Put RAX there too.
void Vcpu::answer_in_from_rax()
{
    if (pending_.reason != NVMM_VCPU_EXIT_IO || !pending_.u.io.in || pending_.u.io.str) {
        return;
    }
    uint8_t* data = reinterpret_cast<uint8_t*>(run_) + run_->io.data_offset;
    std::memcpy(data, &comm().state.gprs[NVMM_X64_GPR_RAX], pending_.u.io.operand_size);
}

// The instruction ends inside KVM.  GPRs the VMM set before the assist go
// to KVM first, as NetBSD's assist would have used them; the state area then
// shows the registers before the instruction, not cached, so that getstate
// finishes it, and a VMM that edits them without getstate (legal after a
// NetBSD assist) has its edits told apart from the rest.
void Vcpu::finish_later()
{
    nvmm_comm_page& c = comm();
    kvm_sync_regs& m = mirror();
    if (c.state_commit & NVMM_X64_STATE_GPRS) {
        state::gprs_to_kvm(c.state.gprs, m.regs);
        run_->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
        c.state_commit &= ~static_cast<uint64_t>(NVMM_X64_STATE_GPRS);
    }
    state::gprs_from_kvm(m.regs, c.state.gprs);
    std::memcpy(assist_gprs_, c.state.gprs, sizeof(assist_gprs_));
    completion_ = Completion::InKernel;
    c.state_cached = 0;
}

int Vcpu::assist_io(struct nvmm_machine* mach, struct nvmm_vcpu* user)
{
    if (exit_.reason != NVMM_VCPU_EXIT_IO || completion_ != Completion::Open || !user->cbs.io) {
        return EINVAL;
    }
    auto& io = run_->io;
    uint8_t* data = reinterpret_cast<uint8_t*>(run_) + io.data_offset;
    struct nvmm_io req = {mach, user, io.port, io.direction == KVM_EXIT_IO_IN, io.size, nullptr};
    for (uint32_t i = 0; i < io.count; i++) {
        req.data = data + static_cast<size_t>(i) * io.size;
        user->cbs.io(&req);
    }
    if (exit_.u.io.str) {
        finish_later();
        return 0;
    }
    if (!io_rip_known_) {
        completion_ = Completion::None;
        return 0;  // KVM finishes it; no decode told us where RIP goes
    }
    if (int err = getstate(NVMM_X64_STATE_GPRS)) {
        return err;
    }
    complete_pio_here();
    completion_ = Completion::Answered;
    return 0;
}

int Vcpu::assist_mem(struct nvmm_machine* mach, struct nvmm_vcpu* user)
{
    if (exit_.reason != NVMM_VCPU_EXIT_MEMORY || completion_ != Completion::Open || !user->cbs.mem) {
        return EINVAL;
    }
    auto& mmio = run_->mmio;
    struct nvmm_mem req = {mach, user, mmio.phys_addr, mmio.is_write != 0, mmio.len, mmio.data};
    user->cbs.mem(&req);
    // KVM retires a write before it exits; a read lands in its register on
    // the next entry.
    if (req.write) {
        completion_ = Completion::None;
        // Maybe the last element of a REP STOS/MOVS (a zero count in any
        // address size has its low 16 bits clear): getstate looks, if the
        // VMM does; KVM steps over it on the next entry anyway.
        if ((mirror().regs.rcx & 0xFFFF) == 0) {
            rep_may_be_done_ = true;
            comm().state_cached &= ~static_cast<uint64_t>(NVMM_X64_STATE_GPRS) | comm().state_commit;
        }
    } else {
        finish_later();
    }
    return 0;
}

// ---------------------------------------------------------------------------
// Configuration.

int Vcpu::configure(uint64_t op, const void* conf)
{
    switch (op) {
    case NVMM_VCPU_CONF_CPUID:
        return configure_cpuid(*static_cast<const nvmm_vcpu_conf_cpuid*>(conf));
    case NVMM_VCPU_CONF_TPR:
        tpr_exit_ = static_cast<const nvmm_vcpu_conf_tpr*>(conf)->exit_changed;
        return 0;
    default:
        return EINVAL;
    }
}

int Vcpu::configure_cpuid(const nvmm_vcpu_conf_cpuid& conf)
{
    const auto& set = conf.u.mask.set;
    const auto& del = conf.u.mask.del;
    // KVM answers CPUID in the kernel: a leaf cannot exit to the VMM.
    if (conf.exit) {
        return EINVAL;
    }
    if (conf.mask && ((set.eax & del.eax) || (set.ebx & del.ebx) || (set.ecx & del.ecx) ||
                      (set.edx & del.edx))) {
        return EINVAL;
    }
    auto it = std::find_if(cpuid_conf_.begin(), cpuid_conf_.end(),
                           [&](const nvmm_vcpu_conf_cpuid& c) { return c.leaf == conf.leaf; });
    if (!conf.mask) {
        if (it != cpuid_conf_.end()) {
            cpuid_conf_.erase(it);
        }
    } else if (it != cpuid_conf_.end()) {
        *it = conf;
    } else if (cpuid_conf_.size() >= kMaxCpuidConf) {
        return ENOBUFS;
    } else {
        cpuid_conf_.push_back(conf);
    }
    return apply_cpuid();
}

// KVM derives CPUID.1:EDX.APIC from IA32_APIC_BASE.EN (even without an
// in-kernel LAPIC), so a VMM hiding the APIC must see the MSR follow.
int Vcpu::apply_cpuid()
{
    constexpr uint32_t kCpuidApic = 1U << 9;
    constexpr uint64_t kApicBaseEnable = 1ULL << 11;
    uint32_t leaf1_edx = 0;
    // Before the vCPU is registered (while it is created) it is not counted.
    const unsigned others = mach_.vcpu_count() - (mach_.vcpu(cpuid_) == this ? 1 : 0);
    cpuid_vcpus_ = others + 1;
    if (int err = kvm::set_cpuid(fd_, cpuid_, cpuid_vcpus_, cpuid_conf_, &leaf1_edx)) {
        return err;
    }
    if (int err = need_sregs()) {
        return err;
    }
    kvm_sregs& sregs = mirror().sregs;
    uint64_t apic_base = (leaf1_edx & kCpuidApic) ? sregs.apic_base | kApicBaseEnable
                                                 : sregs.apic_base & ~kApicBaseEnable;
    if (apic_base != sregs.apic_base) {
        sregs.apic_base = apic_base;
        run_->kvm_dirty_regs |= KVM_SYNC_X86_SREGS;
    }
    return 0;
}

// ---------------------------------------------------------------------------
// Guest page walk from the VMM's view of the state.

int Vcpu::gva_to_gpa(uint64_t gva, uint64_t* gpa, nvmm_prot_t* prot)
{
    if (int err = getstate(NVMM_X64_STATE_CRS | NVMM_X64_STATE_SEGS)) {
        return err;
    }
    const nvmm_x64_state& s = comm().state;
    uint64_t efer = (comm().state_cached & NVMM_X64_STATE_MSRS) ? s.msrs[NVMM_X64_MSR_EFER]
                                                                 : mirror().sregs.efer;
    PagingRegs regs{s.crs[NVMM_X64_CR_CR0], s.crs[NVMM_X64_CR_CR3], s.crs[NVMM_X64_CR_CR4], efer,
                    s.segs[NVMM_X64_SEG_SS].attrib.dpl};
    uint64_t p = 0;
    if (int err = walk_page_tables(regs, mach_, gva, gpa, &p)) {
        return err;
    }
    *prot = p;
    return 0;
}

}  // namespace vmruntime::nvmm
