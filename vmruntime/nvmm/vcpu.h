// SPDX-License-Identifier: BSD-2-Clause
//
// A libnvmm vCPU on KVM.  The comm page is ours; KVM's kvm_run page (with
// KVM_CAP_SYNC_REGS) is the "kernel side" of it: after every exit KVM leaves
// the GPRs and event state in kvm_run, and the segment/control registers as
// long as they are in use, so getstate of GPRS, SEGS, CRS and INTR is a copy
// from memory, and setstate of them is a copy into kvm_run plus a dirty bit
// that the next KVM_RUN applies.  Only DRS, MSRS, FPU (and XCR0 when the
// guest uses XSAVE) take an ioctl, and SEGS/CRS the first time after a long
// stretch of exits that did not use them.
#pragma once

#include <linux/kvm.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <memory>
#include <sys/types.h>
#include <vector>

#include "code_window.h"
#include "nvmm.h"
#include "page_cache.h"
#include "x86_decode.h"
#include "x86_walk.h"

namespace vmruntime::nvmm {

class Machine;

inline constexpr unsigned kMaxCpuidConf = 32;  // NVMM's CPUID entries per vCPU

// The page nvmm_vcpu's pointers refer to.  Standard layout, so that
// nvmm_vcpu_stop() can get from `stop` back to the kick state.
struct alignas(4096) CommArea {
    nvmm_comm_page comm;
    kvm_run* run;
    std::atomic<pid_t> tid;      // thread that last ran the vCPU
    std::atomic<bool> in_run;    // inside KVM_RUN (or about to be)
};

// Makes a running vCPU return from nvmm_vcpu_run() with EXIT_STOPPED.
// Async-signal-safe.
void request_stop(volatile int* stop);

class Vcpu {
public:
    // 0, or an errno.
    static int create(Machine& mach, unsigned cpuid, std::unique_ptr<Vcpu>* out);
    ~Vcpu();
    Vcpu(const Vcpu&) = delete;
    Vcpu& operator=(const Vcpu&) = delete;

    void bind(struct nvmm_vcpu* user);
    nvmm_comm_page* comm_page() { return &area_->comm; }
    const PageCache& page_cache() const { return page_cache_; }

    // Each returns 0 or an errno.
    int getstate(uint64_t flags);
    int run();
    int assist_io(struct nvmm_machine* mach, struct nvmm_vcpu* user);
    int assist_mem(struct nvmm_machine* mach, struct nvmm_vcpu* user);
    int gva_to_gpa(uint64_t gva, uint64_t* gpa, nvmm_prot_t* prot);
    int configure(uint64_t op, const void* conf);

private:
    // How the instruction behind the last IO/MEMORY exit gets finished.
    enum class Completion {
        None,       // nothing in flight
        Open,       // exit not yet answered; KVM finishes it on the next entry
        Answered,   // answered in the state area; KVM still finishes it, alike
        InKernel,   // answered; the state only becomes visible after KVM_RUN
    };

    Vcpu(Machine& mach, unsigned cpuid, int fd, kvm_run* run);
    int install_reset_state();

    nvmm_comm_page& comm() { return area_->comm; }
    kvm_sync_regs& mirror() { return run_->s.regs; }

    int need_sregs();
    int run_ioctl();
    int commit_state(uint64_t flags);
    int commit_event();
    int fetch_state(uint64_t flags);
    int get_xcr0(uint64_t* value);
    int set_xcr0(uint64_t value);
    bool consume_stop();
    bool stop_requested();
    int run_with_work();
    int report_stop();
    int enter();
    int finish_in_kernel();
    int finish_without_entry();
    bool answers_exit() const;
    int drop_completion();
    Completion translate_exit(nvmm_vcpu_exit* x);
    Completion translate_mmio(nvmm_vcpu_exit* x);
    Completion translate_other(nvmm_vcpu_exit* x);
    void invalid_exit(nvmm_vcpu_exit* x, int err);
    void fill_exitstate(nvmm_vcpu_exit* x);

    // What the guest's code around RIP says about the IN/OUT behind an IO
    // exit: a pure function of the key, so the last one is kept, since a
    // guest doing I/O in a loop exits at the same few instructions.
    struct IoMemo {
        // No padding, so that equality is three word compares.
        struct Key {
            uint64_t window;  // the code window's version
            uint64_t rip;
            uint16_t port, dx;
            uint8_t direction, size, code_size;
            bool single;
            bool operator==(const Key& other) const { return std::memcmp(this, &other, sizeof(Key)) == 0; }
        } key;
        static_assert(std::has_unique_object_representations_v<Key>);
        bool valid = false;
        nvmm_x86_exit_io io;
        bool rip_known;      // where RIP goes once the instruction is done
        bool rewound;        // KVM retired it; io_rip is where it started
        bool ambiguous;      // an OUT at and before RIP: KVM must tell
        uint8_t before_length;
        uint64_t io_rip;
    };
    void decode_io_exit(const IoMemo::Key& key);
    Completion translate_io(nvmm_vcpu_exit* x);
    unsigned code_size() const;
    uint64_t code_linear(uint64_t rip, unsigned size) const;
    PagingRegs mirror_paging() const;
    uint64_t update_code_window(uint64_t rip, unsigned size);
    bool io_matches(const IoInsn& insn) const;
    bool decode_at(IoInsn* insn) const;
    bool decode_before(IoInsn* insn) const;
    void resolve_ambiguous_out(nvmm_vcpu_exit* x, uint64_t rip, uint8_t before_length);
    void complete_pio_here();
    void answer_in_from_rax();
    void finish_later();
    void step_over_finished_rep();
    Completion translate_msr(nvmm_vcpu_exit* x);
    int configure_cpuid(const nvmm_vcpu_conf_cpuid& conf);
    int apply_cpuid();
    void answer_msr();
    bool answer_msr_in_library();

    Machine& mach_;
    unsigned cpuid_;
    int fd_;
    kvm_run* run_;
    std::unique_ptr<CommArea> area_;
    nvmm_vcpu_exit exit_{};
    nvmm_vcpu_exit pending_{};      // the exit whose instruction is still open

    Completion completion_ = Completion::None;
    // KVM stores the segment and control registers into kvm_run only while
    // something here uses them (see need_sregs()).
    bool sregs_fresh_ = true;       // kvm_run's sregs are the vCPU's own
    unsigned sregs_idle_ = 0;       // exits since something last needed them
    // The IN/OUT behind the open IO exit: where it is, and whether KVM's
    // RIP is already past it.
    uint64_t io_rip_ = 0;
    bool io_rip_known_ = false;
    bool io_rip_rewound_ = false;
    IoMemo io_memo_{};
    uint64_t assist_gprs_[NVMM_X64_NGPR] = {};  // the state area's GPRs at the assist
    bool rep_may_be_done_ = false;  // an MMIO write assist left RCX at 0
    nvmm_vcpu_exit stashed_exit_{}; // exit met while finishing in the kernel
    Completion stashed_completion_ = Completion::None;
    bool stashed_ = false;

    uint64_t msr_rip_ = 0;          // RIP of the RDMSR/WRMSR behind the exit
    bool tpr_exit_ = false;         // NVMM_VCPU_CONF_TPR exit_changed
    std::vector<nvmm_vcpu_conf_cpuid> cpuid_conf_;
    unsigned cpuid_vcpus_ = 1;      // the machine's vCPUs, as leaf 0xB counts them
    bool entered_ = false;          // KVM_RUN has run: the CPUID is fixed
    PageCache page_cache_;
    CodeWindow code_{page_cache_};
    bool nmi_window_ = false;
    uint64_t xcr0_ = 1;
    bool xcr0_known_ = true;
    // KVM keeps no attributes for the descriptor tables; hand back the last
    // ones set so that SEGS round-trips.
    decltype(nvmm_x64_state_seg::attrib) gdt_attrib_{}, idt_attrib_{};
};

}  // namespace vmruntime::nvmm
