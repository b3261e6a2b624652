// SPDX-License-Identifier: BSD-2-Clause
// The exits that need no assist: HALTED, SHUTDOWN (triple fault), INVALID
// (code fetched from a GPA without memory), NONE (a host signal interrupts
// the run) and STOPPED (nvmm_vcpu_stop, before or during a run).
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "guest_vm.h"

GUEST_SNIPPET(long_hlt);
GUEST_EXIT_LABEL(long_hlt_hlt);
GUEST_SNIPPET(long_triple);
GUEST_SNIPPET(long_invalid);
GUEST_SNIPPET(long_spin);
GUEST_LABEL(long_spin_loop);
GUEST_SNIPPET(long_io);
GUEST_EXIT_LABEL(long_io_out8);

namespace vmruntime::nvmm_test {
namespace {

using ExitTest = NvmmTest;

TEST_F(ExitTest, Halted) {
  vm_.load(GUEST_CODE(long_hlt));
  vm_.enter_long_mode(GUEST_CODE_GPA);
  ASSERT_EQ(vm_.run(), NVMM_VCPU_EXIT_HALTED) << vm_.describe_exit();
  vm_.get(NVMM_X64_STATE_GPRS);
  EXPECT_EQ(vm_.state().gprs[NVMM_X64_GPR_RIP], GUEST_GPA(long_hlt, long_hlt_hlt_next))
      << "RIP is already past the HLT";
  EXPECT_EQ(vm_.exit().exitstate.rflags, vm_.state().gprs[NVMM_X64_GPR_RFLAGS]);
}

TEST_F(ExitTest, TripleFaultIsShutdown) {
  vm_.load(GUEST_CODE(long_triple));
  vm_.enter_long_mode(GUEST_CODE_GPA);
  vm_.state().segs[NVMM_X64_SEG_IDT].limit = 0;
  vm_.set(NVMM_X64_STATE_SEGS);
  EXPECT_EQ(vm_.run(), NVMM_VCPU_EXIT_SHUTDOWN) << vm_.describe_exit();
}

TEST_F(ExitTest, FetchWithoutMemoryIsInvalid) {
  vm_.load(GUEST_CODE(long_invalid));
  vm_.enter_long_mode(GUEST_CODE_GPA);
  EXPECT_EQ(vm_.run(), NVMM_VCPU_EXIT_INVALID) << vm_.describe_exit();
}

void ignore_signal(int) {}

// Delivers SIGUSR1 (no SA_RESTART) to the test thread every 2 ms until
// stopped: one signal could land before the vCPU thread enters KVM_RUN.
class Kicker {
 public:
  explicit Kicker(nvmm_vcpu* stop_first) : target_(pthread_self()) {
    struct sigaction sa {};
    sa.sa_handler = ignore_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, &old_);
    thread_ = std::thread([this, stop_first] {
      if (stop_first != nullptr) nvmm_vcpu_stop(stop_first);
      while (!done_.load()) {
        pthread_kill(target_, SIGUSR1);
        usleep(2000);
      }
    });
  }
  ~Kicker() {
    done_.store(true);
    thread_.join();
    sigaction(SIGUSR1, &old_, nullptr);
  }
  Kicker(const Kicker&) = delete;
  Kicker& operator=(const Kicker&) = delete;

 private:
  pthread_t target_;
  struct sigaction old_ {};
  std::atomic<bool> done_{false};
  std::thread thread_;
};

// Returns the exit reason of one nvmm_vcpu_run of the spinning guest while
// a Kicker runs.
uint64_t run_kicked(GuestVm& vm, nvmm_vcpu* stop_first) {
  Kicker kicker(stop_first);
  return vm.run();
}

void expect_still_spinning(GuestVm& vm) {
  vm.get(NVMM_X64_STATE_GPRS);
  EXPECT_EQ(vm.state().gprs[NVMM_X64_GPR_RIP], GUEST_GPA(long_spin, long_spin_loop));
}

TEST_F(ExitTest, SignalGivesNone) {
  vm_.load(GUEST_CODE(long_spin));
  vm_.enter_long_mode(GUEST_CODE_GPA);
  EXPECT_EQ(run_kicked(vm_, nullptr), NVMM_VCPU_EXIT_NONE) << vm_.describe_exit();
  expect_still_spinning(vm_);
}

TEST_F(ExitTest, StopFromAnotherThreadGivesStopped) {
  vm_.load(GUEST_CODE(long_spin));
  vm_.enter_long_mode(GUEST_CODE_GPA);
  EXPECT_EQ(run_kicked(vm_, vm_.vcpu()), NVMM_VCPU_EXIT_STOPPED) << vm_.describe_exit();
  expect_still_spinning(vm_);
  // The request is consumed: a plain signal gives NONE again.
  EXPECT_EQ(run_kicked(vm_, nullptr), NVMM_VCPU_EXIT_NONE) << vm_.describe_exit();
}

TEST_F(ExitTest, StopBeforeRunReturnsBeforeTheGuestRuns) {
  vm_.load(GUEST_CODE(long_io));
  vm_.enter_long_mode(GUEST_CODE_GPA);
  ASSERT_EQ(nvmm_vcpu_stop(vm_.vcpu()), 0);
  ASSERT_EQ(vm_.run(), NVMM_VCPU_EXIT_STOPPED) << vm_.describe_exit();
  vm_.get(NVMM_X64_STATE_GPRS);
  EXPECT_EQ(vm_.state().gprs[NVMM_X64_GPR_RIP], GUEST_CODE_GPA) << "the guest did not run";
  ASSERT_EQ(vm_.run(), NVMM_VCPU_EXIT_IO) << vm_.describe_exit();
  EXPECT_EQ(vm_.exit().u.io.npc, GUEST_GPA(long_io, long_io_out8_next));
}

}  // namespace
}  // namespace vmruntime::nvmm_test
