// SPDX-License-Identifier: BSD-2-Clause
// nvmm_vcpu_stop is race-free: 1,000 stops against a guest that never exits
// on its own, each landing inside or outside KVM_RUN, give exactly 1,000
// STOPPED exits, and so do stops aimed at a run that first has KVM finish
// an assisted MMIO read; state and an event committed before a STOPPED run
// reach the guest on the next run; a signal handler may stop the vCPU.
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <random>
#include <thread>

#include "guest_vm.h"

GUEST_SNIPPET(user_spin);
GUEST_LABEL(user_spin_loop);
GUEST_SNIPPET(user_mmio_spin);
GUEST_LABEL(user_mmio_spin_read);
GUEST_LABEL(user_mmio_spin_loop);
GUEST_SNIPPET(long_stop);
GUEST_LABEL(long_stop_handler);
GUEST_LABEL(long_stop_main);
GUEST_EXIT_LABEL(long_stop_report);

namespace vmruntime::nvmm_test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

using StopTest = NvmmTest;

constexpr unsigned kStops = 1000;
constexpr auto kStopTimeout = 2s;
constexpr uint64_t kRflagsIf = 0x200;

bool stop_pending(const nvmm_vcpu* vcpu) { return __atomic_load_n(vcpu->stop, __ATOMIC_SEQ_CST) != 0; }

// Installs `handler` for `sig` (no SA_RESTART) for the lifetime of the object.
class SignalHandler {
 public:
  SignalHandler(int sig, void (*handler)(int, siginfo_t*, void*)) : sig_(sig) {
    struct sigaction sa {};
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    sigaction(sig_, &sa, &old_);
  }
  ~SignalHandler() { sigaction(sig_, &old_, nullptr); }
  SignalHandler(const SignalHandler&) = delete;
  SignalHandler& operator=(const SignalHandler&) = delete;

 private:
  int sig_;
  struct sigaction old_ {};
};

void ignore_signal(int, siginfo_t*, void*) {}

void stop_from_handler(int, siginfo_t* info, void*) {
  nvmm_vcpu_stop(static_cast<nvmm_vcpu*>(info->si_value.sival_ptr));
}

// Takes `target` out of the guest with SIGUSR1 (the caller installs
// ignore_signal: the runs return NONE) until `done`.  For a lost stop, so
// that the vCPU thread can end.
void kick_until(pthread_t target, const std::atomic<bool>& done) {
  while (!done.load()) {
    pthread_kill(target, SIGUSR1);
    std::this_thread::sleep_for(1ms);
  }
}

// What the vCPU thread of the stress test saw.
struct VcpuTally {
  std::atomic<unsigned> stopped{0};
  std::atomic<bool> finished{false};
  unsigned none = 0;
  unsigned pending_at_entry = 0;  // runs entered with the stop already requested
  uint64_t unexpected = 0;        // an exit other than STOPPED/NONE, or kRunFailed
};

// Runs the guest until kStops STOPPED exits (or `give_up`), sometimes
// pausing between runs so that stops also land outside nvmm_vcpu_run.
void drive_vcpu(GuestVm& vm, VcpuTally& tally, const std::atomic<bool>& give_up) {
  std::minstd_rand rng(7);
  std::uniform_int_distribution<int> pause_us(0, 100);
  while (tally.stopped.load() < kStops && !give_up.load()) {
    if (stop_pending(vm.vcpu())) tally.pending_at_entry++;
    const uint64_t reason = vm.run();
    if (reason == NVMM_VCPU_EXIT_STOPPED) {
      tally.stopped.fetch_add(1);
      if (rng() % 2) std::this_thread::sleep_for(std::chrono::microseconds(pause_us(rng)));
    } else if (reason == NVMM_VCPU_EXIT_NONE) {
      tally.none++;
    } else {
      tally.unexpected = reason;
      break;
    }
  }
  tally.finished.store(true);
}

// Waits until `count` exceeds `done`; false after kStopTimeout.
bool wait_beyond(const std::atomic<unsigned>& count, unsigned done) {
  const auto deadline = Clock::now() + kStopTimeout;
  while (count.load() <= done) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(20us);
  }
  return true;
}

TEST_F(StopTest, EveryStopGivesExactlyOneStopped) {
  SignalHandler usr1(SIGUSR1, ignore_signal);
  vm_.load(GUEST_CODE(user_spin));
  vm_.enter_long_mode(GUEST_CODE_GPA, true);
  VcpuTally tally;
  std::atomic<bool> give_up{false};
  std::thread vcpu_thread(drive_vcpu, std::ref(vm_), std::ref(tally), std::cref(give_up));

  std::minstd_rand rng(42);
  std::uniform_int_distribution<int> delay_us(0, 200);
  for (unsigned i = 0; i < kStops && !tally.finished.load(); i++) {
    if (tally.stopped.load() != i) {
      ADD_FAILURE() << "spurious STOPPED: " << tally.stopped.load() << " after " << i << " stops";
      break;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(delay_us(rng)));
    nvmm_vcpu_stop(vm_.vcpu());
    if (!wait_beyond(tally.stopped, i)) {
      ADD_FAILURE() << "stop lost: stop " << i + 1 << " gave no STOPPED within 2 s";
      break;
    }
  }
  give_up.store(true);
  kick_until(vcpu_thread.native_handle(), tally.finished);
  vcpu_thread.join();

  EXPECT_EQ(tally.unexpected, 0u) << exit_name(tally.unexpected);
  EXPECT_EQ(tally.stopped.load(), kStops);
  std::printf("%u STOPPED (%u requested before the run began), %u NONE\n", tally.stopped.load(),
              tally.pending_at_entry, tally.none);
  EXPECT_GT(tally.pending_at_entry, 0u) << "no stop landed outside nvmm_vcpu_run";
  EXPECT_LT(tally.pending_at_entry, kStops) << "no stop landed inside nvmm_vcpu_run";
  EXPECT_FALSE(stop_pending(vm_.vcpu())) << "a stop request is left over";
  vm_.get(NVMM_X64_STATE_GPRS);
  EXPECT_EQ(vm_.state().gprs[NVMM_X64_GPR_RIP], GUEST_GPA(user_spin, user_spin_loop));
}

// Enough to lose a stop within a second or so when the library can.
constexpr unsigned kAimedStops = 2000;
constexpr auto kAimingTime = 2s;

void answer_mmio(nvmm_mem* mem) { std::memset(mem->data, 0x5A, mem->size); }

// Issues stop i shortly after the vCPU thread announces run i, so that it
// often lands while the run has KVM finish the assisted read; a stop that
// gives no STOPPED within kStopTimeout is lost.
void aim_stops(nvmm_vcpu* vcpu, pthread_t vcpu_thread, const std::atomic<unsigned>& entered,
               const std::atomic<unsigned>& stopped, const std::atomic<bool>& done,
               std::atomic<bool>& lost) {
  std::minstd_rand rng(3);
  std::uniform_int_distribution<int> delay_ns(0, 5000);
  for (unsigned i = 0; i < kAimedStops; i++) {
    while (entered.load() <= i) {
      if (done.load()) return;
    }
    const auto at = Clock::now() + std::chrono::nanoseconds(delay_ns(rng));
    while (Clock::now() < at) {
    }
    nvmm_vcpu_stop(vcpu);
    if (!wait_beyond(stopped, i)) {
      lost.store(true);
      kick_until(vcpu_thread, done);
      return;
    }
  }
}

// The VMM moves RIP after assisting an MMIO read, so the next run has KVM
// finish the read before it enters the guest: a stop arriving then must
// still end that run.
TEST_F(StopTest, StopWhileTheRunFinishesAnAssistedRead) {
  SignalHandler usr1(SIGUSR1, ignore_signal);
  nvmm_assist_callbacks cbs{nullptr, answer_mmio};
  ASSERT_EQ(nvmm_vcpu_configure(vm_.mach(), vm_.vcpu(), NVMM_VCPU_CONF_CALLBACKS, &cbs), 0);
  vm_.load(GUEST_CODE(user_mmio_spin));
  vm_.enter_long_mode(GUEST_CODE_GPA, true);
  uint64_t* gprs = vm_.state().gprs;
  std::atomic<unsigned> entered{0}, stopped{0};
  std::atomic<bool> done{false}, lost{false};
  std::thread stopper(aim_stops, vm_.vcpu(), pthread_self(), std::cref(entered), std::cref(stopped),
                      std::cref(done), std::ref(lost));

  uint64_t reason = NVMM_VCPU_EXIT_STOPPED;
  const auto end = Clock::now() + kAimingTime;
  for (unsigned i = 0; i < kAimedStops && Clock::now() < end; i++) {
    vm_.get(NVMM_X64_STATE_GPRS);
    gprs[NVMM_X64_GPR_RIP] = GUEST_GPA(user_mmio_spin, user_mmio_spin_read);
    vm_.set(NVMM_X64_STATE_GPRS);
    do {
      reason = vm_.run();  // NONE: the kick for an earlier stop arrived late
    } while (reason == NVMM_VCPU_EXIT_NONE);
    if (reason != NVMM_VCPU_EXIT_MEMORY) break;
    vm_.get(NVMM_X64_STATE_GPRS);
    if (nvmm_assist_mem(vm_.mach(), vm_.vcpu()) != 0) {
      ADD_FAILURE() << "nvmm_assist_mem: " << std::strerror(errno);
      break;
    }
    gprs[NVMM_X64_GPR_RIP] = GUEST_GPA(user_mmio_spin, user_mmio_spin_loop);
    vm_.set(NVMM_X64_STATE_GPRS);
    entered.store(i + 1);
    do {
      reason = vm_.run();
    } while (reason == NVMM_VCPU_EXIT_NONE && !lost.load());
    if (reason != NVMM_VCPU_EXIT_STOPPED) break;
    stopped.store(i + 1);
  }
  done.store(true);
  stopper.join();

  EXPECT_FALSE(lost.load()) << "stop lost: stop " << stopped.load() + 1 << " gave no STOPPED within 2 s";
  EXPECT_EQ(reason, NVMM_VCPU_EXIT_STOPPED) << vm_.describe_exit();
  std::printf("%u aimed stops gave STOPPED\n", stopped.load());
}

// A stop requested between runs returns before anything is committed: the
// registers and the event the VMM set are still there for the next run.
TEST_F(StopTest, CommittedStateAndEventSurviveAStoppedRun) {
  vm_.load(GUEST_CODE(long_stop));
  vm_.set_idt_gate(0x30, GUEST_GPA(long_stop, long_stop_handler));
  vm_.enter_long_mode(GUEST_GPA(long_stop, long_stop_main));
  constexpr uint64_t kRbx = 0x0123456789ABCDEFULL;
  vm_.state().gprs[NVMM_X64_GPR_RBX] = kRbx;
  vm_.state().gprs[NVMM_X64_GPR_RFLAGS] |= kRflagsIf;
  vm_.set(NVMM_X64_STATE_GPRS);
  vm_.vcpu()->event->type = NVMM_VCPU_EVENT_INTR;
  vm_.vcpu()->event->vector = 0x30;
  ASSERT_EQ(nvmm_vcpu_inject(vm_.mach(), vm_.vcpu()), 0);
  ASSERT_EQ(nvmm_vcpu_stop(vm_.vcpu()), 0);

  ASSERT_EQ(vm_.run(), NVMM_VCPU_EXIT_STOPPED) << vm_.describe_exit();
  EXPECT_TRUE(vm_.exit().exitstate.evt_pending) << "the injected event still waits";
  vm_.get(NVMM_X64_STATE_GPRS);
  EXPECT_EQ(vm_.state().gprs[NVMM_X64_GPR_RIP], GUEST_GPA(long_stop, long_stop_main))
      << "the guest did not run";
  EXPECT_EQ(vm_.state().gprs[NVMM_X64_GPR_RBX], kRbx);

  ASSERT_EQ(vm_.run(), NVMM_VCPU_EXIT_IO) << vm_.describe_exit() << " (the handler did not run)";
  EXPECT_EQ(vm_.exit().u.io.npc, GUEST_GPA(long_stop, long_stop_report_next));
  EXPECT_EQ(vm_.peek<uint64_t>(GUEST_DATA_GPA), kRbx) << "RBX the guest saw";
  vm_.get(NVMM_X64_STATE_GPRS);
  const uint64_t rsp = vm_.state().gprs[NVMM_X64_GPR_RSP];
  ASSERT_EQ(rsp, GUEST_STACK_TOP - 5 * 8u) << "one interrupt frame";
  EXPECT_EQ(vm_.peek<uint64_t>(rsp), GUEST_GPA(long_stop, long_stop_main)) << "saved RIP";
}

// From kStopTimeout after construction, kicks `target` out of the guest
// until destroyed: a lost stop then fails the test instead of hanging it.
class Watchdog {
 public:
  explicit Watchdog(pthread_t target)
      : usr1_(SIGUSR1, ignore_signal), thread_([this, target] {
          const auto deadline = Clock::now() + kStopTimeout;
          while (!done_.load() && Clock::now() < deadline) std::this_thread::sleep_for(1ms);
          kick_until(target, done_);
        }) {}
  ~Watchdog() {
    done_.store(true);
    thread_.join();
  }
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

 private:
  SignalHandler usr1_;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

// Runs the spinning guest until STOPPED, or NONE after kStopTimeout.  NONE
// may come first: a signal can interrupt the run before its handler stops
// the vCPU (TSan, for one, defers handlers).
uint64_t run_until_stopped(GuestVm& vm) {
  const auto deadline = Clock::now() + kStopTimeout;
  uint64_t reason;
  do {
    reason = vm.run();
  } while (reason == NVMM_VCPU_EXIT_NONE && Clock::now() < deadline);
  return reason;
}

class SignalStopTest : public NvmmTest {
 protected:
  void SetUp() override {
    NvmmTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    vm_.load(GUEST_CODE(user_spin));
    vm_.enter_long_mode(GUEST_CODE_GPA, true);
  }
  SignalHandler usr2_{SIGUSR2, stop_from_handler};
};

// QEMU's way: the signal goes to the vCPU thread, whose handler stops it.
TEST_F(SignalStopTest, HandlerOnTheVcpuThread) {
  const pthread_t vcpu_thread = pthread_self();
  Watchdog watchdog(vcpu_thread);
  std::thread sender([&] {
    std::this_thread::sleep_for(5ms);
    pthread_sigqueue(vcpu_thread, SIGUSR2, sigval{.sival_ptr = vm_.vcpu()});
  });
  const uint64_t reason = run_until_stopped(vm_);
  sender.join();
  EXPECT_EQ(reason, NVMM_VCPU_EXIT_STOPPED) << vm_.describe_exit();
}

TEST_F(SignalStopTest, HandlerOnAnotherThread) {
  Watchdog watchdog(pthread_self());
  std::thread helper([&] {
    std::this_thread::sleep_for(5ms);
    pthread_sigqueue(pthread_self(), SIGUSR2, sigval{.sival_ptr = vm_.vcpu()});
  });
  const uint64_t reason = run_until_stopped(vm_);
  helper.join();
  EXPECT_EQ(reason, NVMM_VCPU_EXIT_STOPPED) << vm_.describe_exit();
}

}  // namespace
}  // namespace vmruntime::nvmm_test
