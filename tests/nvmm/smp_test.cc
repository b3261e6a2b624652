// SPDX-License-Identifier: BSD-2-Clause
// Several vCPUs and several machines at once: four vCPUs of one machine,
// each run by its own thread, deliver every one of their port writes in
// order; cpuids up to max_vcpus - 1 can be created; 64 machines, created and
// run from four threads, coexist in one process.
#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <iterator>
#include <memory>
#include <thread>
#include <vector>

#include "guest_vm.h"

GUEST_SNIPPET(long_smp);
GUEST_SNIPPET(long_hlt);

namespace vmruntime::nvmm_test {
namespace {

constexpr unsigned kVcpus = 4;
constexpr uint32_t kWrites = 1000;

// What one vCPU's guest wrote, as the io callback saw it.
struct PortLog {
  uint16_t port = 0;
  uint32_t writes = 0;  // also the value the next write must carry
  uint32_t wrong = 0;   // writes with another port, size, direction or value
};

// The io callback has no context argument; each vCPU thread logs to its own.
thread_local PortLog* t_log = nullptr;

void log_write(nvmm_io* io) {
  uint32_t value = 0;
  std::memcpy(&value, io->data, sizeof value);
  if (io->in || io->size != 4 || io->port != t_log->port || value != t_log->writes) t_log->wrong++;
  t_log->writes++;
}

// Runs `vcpu` to its HLT, completing every OUT with the assist.
void drive(GuestVm& vm, nvmm_vcpu& vcpu, PortLog& log) {
  t_log = &log;
  nvmm_assist_callbacks cbs{log_write, nullptr};
  ASSERT_EQ(nvmm_vcpu_configure(vm.mach(), &vcpu, NVMM_VCPU_CONF_CALLBACKS, &cbs), 0);
  for (;;) {
    ASSERT_EQ(nvmm_vcpu_run(vm.mach(), &vcpu), 0) << std::strerror(errno);
    const uint64_t reason = vcpu.exit->reason;
    if (reason == NVMM_VCPU_EXIT_HALTED) return;
    if (reason == NVMM_VCPU_EXIT_NONE) continue;
    ASSERT_EQ(reason, NVMM_VCPU_EXIT_IO) << "vCPU " << vcpu.cpuid << ": " << exit_name(reason);
    ASSERT_EQ(nvmm_assist_io(vm.mach(), &vcpu), 0) << std::strerror(errno);
  }
}

// vCPU 0 and kVcpus - 1 more, each about to write kWrites times to its
// own port.
class SmpTest : public NvmmTest {
 protected:
  void start_vcpus() {
    vm_.load(GUEST_CODE(long_smp));
    vcpus_[0] = vm_.vcpu();
    for (unsigned i = 1; i < kVcpus; i++) {
      vcpus_[i] = &others_[i - 1];
      ASSERT_EQ(nvmm_vcpu_create(vm_.mach(), i, vcpus_[i]), 0) << std::strerror(errno);
    }
    for (unsigned i = 0; i < kVcpus; i++) {
      logs_[i].port = uint16_t(GUEST_PORT + i);
      vm_.enter_long_mode(*vcpus_[i], GUEST_CODE_GPA);
      vcpus_[i]->state->gprs[NVMM_X64_GPR_RCX] = kWrites;
      vcpus_[i]->state->gprs[NVMM_X64_GPR_RDX] = logs_[i].port;
      vm_.set(*vcpus_[i], NVMM_X64_STATE_GPRS);
    }
  }

  nvmm_vcpu others_[kVcpus - 1]{};
  nvmm_vcpu* vcpus_[kVcpus] = {};
  PortLog logs_[kVcpus];
};

TEST_F(SmpTest, FourVcpusOnFourThreads) {
  ASSERT_NO_FATAL_FAILURE(start_vcpus());
  auto& vcpus = vcpus_;
  auto& others = others_;
  auto& logs = logs_;

  std::vector<std::thread> threads;
  for (unsigned i = 0; i < kVcpus; i++) {
    threads.emplace_back(drive, std::ref(vm_), std::ref(*vcpus[i]), std::ref(logs[i]));
  }
  for (auto& t : threads) t.join();

  for (unsigned i = 0; i < kVcpus; i++) {
    EXPECT_EQ(logs[i].writes, kWrites) << "vCPU " << i;
    EXPECT_EQ(logs[i].wrong, 0u) << "vCPU " << i;
    vm_.get(*vcpus[i], NVMM_X64_STATE_GPRS);
    EXPECT_EQ(vcpus[i]->state->gprs[NVMM_X64_GPR_RAX], kWrites) << "vCPU " << i;
  }
  for (auto& vcpu : others) EXPECT_EQ(nvmm_vcpu_destroy(vm_.mach(), &vcpu), 0) << std::strerror(errno);
}

// Each IO exit reads the guest's code without the machine's lock (a
// per-vCPU page cache); gpa_unmap waits for those readers.  Four vCPUs
// exit while another thread maps and unmaps a page over and over.
TEST_F(SmpTest, VcpusExitWhileMappingsChange) {
  ASSERT_NO_FATAL_FAILURE(start_vcpus());
  auto& vcpus = vcpus_;
  auto& others = others_;
  auto& logs = logs_;
  void* spare = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(spare, MAP_FAILED);
  const auto hva = reinterpret_cast<uintptr_t>(spare);
  ASSERT_EQ(nvmm_hva_map(vm_.mach(), hva, 4096), 0);

  std::atomic<unsigned> running{kVcpus};
  std::vector<std::thread> threads;
  for (unsigned i = 0; i < kVcpus; i++) {
    threads.emplace_back([&, i] {
      drive(vm_, *vcpus[i], logs[i]);
      running--;
    });
  }
  unsigned remaps = 0;
  while (running > 0) {
    ASSERT_EQ(nvmm_gpa_map(vm_.mach(), hva, 0x80000, 4096, PROT_READ | PROT_WRITE), 0);
    ASSERT_EQ(nvmm_gpa_unmap(vm_.mach(), hva, 0x80000, 4096), 0);
    remaps++;
  }
  for (auto& t : threads) t.join();
  for (unsigned i = 0; i < kVcpus; i++) {
    EXPECT_EQ(logs[i].writes, kWrites) << "vCPU " << i;
    EXPECT_EQ(logs[i].wrong, 0u) << "vCPU " << i;
  }
  std::printf("%u map/unmap rounds during the exits\n", remaps);
  EXPECT_GT(remaps, 0u);
  EXPECT_EQ(nvmm_hva_unmap(vm_.mach(), hva, 4096), 0);
  munmap(spare, 4096);
  for (auto& vcpu : others) EXPECT_EQ(nvmm_vcpu_destroy(vm_.mach(), &vcpu), 0) << std::strerror(errno);
}

// NVMM numbers vCPUs up to 255; KVM takes any id below its limit.
TEST_F(SmpTest, HighCpuids) {
  struct nvmm_capability cap {};
  ASSERT_EQ(nvmm_capability(&cap), 0) << std::strerror(errno);
  ASSERT_GT(cap.max_vcpus, 2u);
  const unsigned ids[] = {cap.max_vcpus - 1, cap.max_vcpus / 2, 1};
  nvmm_vcpu vcpus[std::size(ids)]{};
  for (size_t i = 0; i < std::size(ids); i++) {
    ASSERT_EQ(nvmm_vcpu_create(vm_.mach(), ids[i], &vcpus[i]), 0)
        << "cpuid " << ids[i] << ": " << std::strerror(errno);
    EXPECT_EQ(vcpus[i].cpuid, ids[i]);
  }
  // The highest one runs.
  vm_.load(GUEST_CODE(long_hlt));
  vm_.enter_long_mode(vcpus[0], GUEST_CODE_GPA);
  ASSERT_EQ(nvmm_vcpu_run(vm_.mach(), &vcpus[0]), 0) << std::strerror(errno);
  EXPECT_EQ(vcpus[0].exit->reason, NVMM_VCPU_EXIT_HALTED) << exit_name(vcpus[0].exit->reason);

  nvmm_ctl_mach_info info{};
  info.machid = vm_.mach()->machid;
  ASSERT_EQ(nvmm_ctl(NVMM_CTL_MACH_INFO, &info, sizeof info), 0) << std::strerror(errno);
  EXPECT_EQ(info.nvcpus, 1 + std::size(ids));
  for (auto& vcpu : vcpus) EXPECT_EQ(nvmm_vcpu_destroy(vm_.mach(), &vcpu), 0) << std::strerror(errno);
}

constexpr unsigned kMachines = 64;
constexpr unsigned kMachineThreads = 4;

// Creates machines [first, first + count) of `vms` and runs each to its HLT.
void create_and_run(std::vector<std::unique_ptr<GuestVm>>& vms, unsigned first, unsigned count) {
  for (unsigned i = first; i < first + count; i++) {
    GuestVm& vm = *vms[i];
    ASSERT_EQ(vm.create(), 0) << "machine " << i;
    vm.load(GUEST_CODE(long_hlt));
    vm.enter_long_mode(GUEST_CODE_GPA);
    EXPECT_EQ(vm.run(), NVMM_VCPU_EXIT_HALTED) << "machine " << i << ": " << vm.describe_exit();
  }
}

TEST_F(SmpTest, SixtyFourMachines) {
  std::vector<std::unique_ptr<GuestVm>> vms;
  for (unsigned i = 0; i < kMachines; i++) vms.push_back(std::make_unique<GuestVm>());
  std::vector<std::thread> threads;
  const unsigned share = kMachines / kMachineThreads;
  for (unsigned t = 0; t < kMachineThreads; t++) {
    threads.emplace_back(create_and_run, std::ref(vms), t * share, share);
  }
  for (auto& t : threads) t.join();

  std::vector<nvmm_machid_t> ids{vm_.mach()->machid};
  for (auto& vm : vms) ids.push_back(vm->mach()->machid);
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(std::adjacent_find(ids.begin(), ids.end()), ids.end()) << "two machines share an id";
  vms.clear();  // destroys them, checking each destroy
}

}  // namespace
}  // namespace vmruntime::nvmm_test
