// SPDX-License-Identifier: BSD-2-Clause
// Capability values and bad input: every call fails with the documented
// errno (ENOENT, EBUSY, EINVAL, ESRCH, EEXIST) and leaves the machine usable;
// NULL pointers give EINVAL instead of a crash.
#include <sys/mman.h>

#include "guest_vm.h"

GUEST_SNIPPET(long_hlt);

namespace vmruntime::nvmm_test {
namespace {

using ErrorTest = NvmmTest;

constexpr size_t kPage = 0x1000;

// Expects call to return -1 with errno == err.
#define EXPECT_ERRNO(call, err)                                               \
  do {                                                                        \
    errno = 0;                                                                \
    EXPECT_EQ((call), -1) << #call;                                           \
    EXPECT_EQ(errno, (err)) << #call << ": " << std::strerror(errno);         \
  } while (0)

TEST_F(ErrorTest, Capability) {
  struct nvmm_capability cap {};
  ASSERT_EQ(nvmm_capability(&cap), 0) << std::strerror(errno);
  EXPECT_EQ(cap.version, 2u);
  EXPECT_EQ(cap.state_size, sizeof(nvmm_x64_state));
  EXPECT_EQ(cap.max_machines, 4096u);
  EXPECT_GE(cap.max_vcpus, 1u);
  EXPECT_LE(cap.max_vcpus, 256u);
  EXPECT_EQ(cap.max_ram, 128ULL << 30);
}

TEST_F(ErrorTest, VcpuLookups) {
  struct nvmm_capability cap {};
  ASSERT_EQ(nvmm_capability(&cap), 0) << std::strerror(errno);
  nvmm_vcpu other{};
  EXPECT_ERRNO(nvmm_vcpu_create(vm_.mach(), 0, &other), EBUSY);
  EXPECT_ERRNO(nvmm_vcpu_create(vm_.mach(), cap.max_vcpus, &other), EINVAL);

  nvmm_vcpu ghost = *vm_.vcpu();
  ghost.cpuid = 1;
  EXPECT_ERRNO(nvmm_vcpu_getstate(vm_.mach(), &ghost, NVMM_X64_STATE_GPRS), ENOENT);
  EXPECT_ERRNO(nvmm_vcpu_run(vm_.mach(), &ghost), ENOENT);
  EXPECT_ERRNO(nvmm_vcpu_destroy(vm_.mach(), &ghost), ENOENT);

  EXPECT_ERRNO(nvmm_vcpu_getstate(vm_.mach(), vm_.vcpu(), 0x80), EINVAL);
  EXPECT_ERRNO(nvmm_vcpu_setstate(vm_.mach(), vm_.vcpu(), NVMM_X64_STATE_ALL | 0x100), EINVAL);
}

TEST_F(ErrorTest, DestroyedMachine) {
  nvmm_machine dead{};
  ASSERT_EQ(nvmm_machine_create(&dead), 0) << std::strerror(errno);
  ASSERT_EQ(nvmm_machine_destroy(&dead), 0) << std::strerror(errno);
  nvmm_vcpu vcpu{};
  EXPECT_ERRNO(nvmm_vcpu_create(&dead, 0, &vcpu), ENOENT);
  EXPECT_ERRNO(nvmm_machine_destroy(&dead), ENOENT);
  EXPECT_ERRNO(nvmm_hva_map(&dead, reinterpret_cast<uintptr_t>(vm_.ram(0)), kPage), ENOENT);
}

class MappingErrorTest : public NvmmTest {
 protected:
  void SetUp() override {
    NvmmTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    void* pages = mmap(nullptr, 4 * kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(pages, MAP_FAILED);
    pages_ = static_cast<uint8_t*>(pages);
    hva_ = reinterpret_cast<uintptr_t>(pages_);
  }
  void TearDown() override {
    if (pages_ != nullptr) munmap(pages_, 4 * kPage);
  }
  uint8_t* pages_ = nullptr;
  uintptr_t hva_ = 0;
};

TEST_F(MappingErrorTest, GpaMap) {
  nvmm_machine* m = vm_.mach();
  constexpr gpaddr_t kFree = 0x80000;  // nothing mapped there
  constexpr int kRw = PROT_READ | PROT_WRITE;
  EXPECT_ERRNO(nvmm_gpa_map(m, hva_, kFree + 1, kPage, kRw), EINVAL);
  EXPECT_ERRNO(nvmm_gpa_map(m, hva_ + 1, kFree, kPage, kRw), EINVAL);
  EXPECT_ERRNO(nvmm_gpa_map(m, hva_, kFree, kPage + 1, kRw), EINVAL);
  EXPECT_ERRNO(nvmm_gpa_map(m, hva_, kFree, 0, kRw), EINVAL);
  EXPECT_ERRNO(nvmm_gpa_map(m, 0, kFree, kPage, kRw), EINVAL);
  EXPECT_ERRNO(nvmm_gpa_map(m, hva_, kFree, kPage, 0x100), EINVAL);
  EXPECT_ERRNO(nvmm_gpa_map(m, hva_, (128ULL << 30) - kPage, 2 * kPage, kRw), EINVAL);
  // Overlaps the RAM at [0, GUEST_RAM_SIZE).
  EXPECT_ERRNO(nvmm_gpa_map(m, hva_, GUEST_RAM_SIZE - kPage, 2 * kPage, kRw), EINVAL);
  EXPECT_ERRNO(nvmm_gpa_unmap(m, hva_, kFree, kPage), ESRCH);
  EXPECT_ERRNO(nvmm_gpa_unmap(m, reinterpret_cast<uintptr_t>(vm_.ram(0)), 0, kPage), ESRCH);

  ASSERT_EQ(nvmm_gpa_map(m, hva_, kFree, 2 * kPage, kRw), 0) << std::strerror(errno);
  EXPECT_ERRNO(nvmm_gpa_map(m, hva_ + 2 * kPage, kFree + kPage, kPage, kRw), EINVAL);
  EXPECT_ERRNO(nvmm_gpa_unmap(m, hva_, kFree, kPage), ESRCH);
  EXPECT_EQ(nvmm_gpa_unmap(m, hva_, kFree, 2 * kPage), 0) << std::strerror(errno);
}

TEST_F(MappingErrorTest, HvaMap) {
  nvmm_machine* m = vm_.mach();
  ASSERT_EQ(nvmm_hva_map(m, hva_, 2 * kPage), 0) << std::strerror(errno);
  EXPECT_ERRNO(nvmm_hva_map(m, hva_ + kPage, 2 * kPage), EEXIST);
  EXPECT_ERRNO(nvmm_hva_unmap(m, hva_, kPage), ENOENT);
  EXPECT_ERRNO(nvmm_hva_unmap(m, hva_ + 2 * kPage, kPage), ENOENT);
  EXPECT_EQ(nvmm_hva_unmap(m, hva_, 2 * kPage), 0) << std::strerror(errno);
  EXPECT_ERRNO(nvmm_hva_map(m, hva_ + 1, kPage), EINVAL);
  EXPECT_ERRNO(nvmm_hva_map(m, 0, kPage), EINVAL);
  EXPECT_ERRNO(nvmm_hva_map(m, hva_, 0), EINVAL);
}

TEST_F(MappingErrorTest, GpaToHvaOfUnmappedGpa) {
  uintptr_t hva = 0;
  nvmm_prot_t prot = 0;
  EXPECT_ERRNO(nvmm_gpa_to_hva(vm_.mach(), GUEST_RAM_SIZE, &hva, &prot), ENOENT);
  EXPECT_ERRNO(nvmm_gpa_to_hva(vm_.mach(), GUEST_MMIO_GPA, &hva, &prot), ENOENT);
}

// Validation happens at run, as on NetBSD; the bad event is dropped and the
// next run works.
TEST_F(ErrorTest, BadEventsFailTheRun) {
  vm_.load(GUEST_CODE(long_hlt));
  vm_.enter_long_mode(GUEST_CODE_GPA);
  struct BadEvent {
    unsigned type;
    uint8_t vector;
  };
  for (BadEvent bad : {BadEvent{NVMM_VCPU_EVENT_EXCP, 2}, BadEvent{NVMM_VCPU_EVENT_EXCP, 32},
                       BadEvent{7, 6}}) {
    SCOPED_TRACE(testing::Message() << "type " << bad.type << " vector " << int(bad.vector));
    vm_.vcpu()->event->type = bad.type;
    vm_.vcpu()->event->vector = bad.vector;
    vm_.vcpu()->event->u.excp.error = 0;
    ASSERT_EQ(nvmm_vcpu_inject(vm_.mach(), vm_.vcpu()), 0) << std::strerror(errno);
    EXPECT_ERRNO(nvmm_vcpu_run(vm_.mach(), vm_.vcpu()), EINVAL);
  }
  EXPECT_EQ(vm_.run(), NVMM_VCPU_EXIT_HALTED) << vm_.describe_exit();
}

TEST_F(ErrorTest, NullPointers) {
  nvmm_machine* m = vm_.mach();
  nvmm_vcpu* v = vm_.vcpu();
  nvmm_vcpu spare{};
  uintptr_t hva = 0;
  nvmm_prot_t prot = 0;
  gpaddr_t gpa = 0;
  EXPECT_ERRNO(nvmm_capability(nullptr), EINVAL);
  EXPECT_ERRNO(nvmm_machine_create(nullptr), EINVAL);
  EXPECT_ERRNO(nvmm_machine_destroy(nullptr), EINVAL);
  EXPECT_ERRNO(nvmm_machine_configure(nullptr, 0, nullptr), EINVAL);
  EXPECT_ERRNO(nvmm_vcpu_create(nullptr, 1, &spare), EINVAL);
  EXPECT_ERRNO(nvmm_vcpu_create(m, 1, nullptr), EINVAL);
  EXPECT_ERRNO(nvmm_vcpu_destroy(m, nullptr), EINVAL);
  EXPECT_ERRNO(nvmm_vcpu_configure(m, v, NVMM_VCPU_CONF_CALLBACKS, nullptr), EINVAL);
  EXPECT_ERRNO(nvmm_vcpu_configure(m, nullptr, NVMM_VCPU_CONF_CALLBACKS, &spare.cbs), EINVAL);
  EXPECT_ERRNO(nvmm_vcpu_getstate(nullptr, v, NVMM_X64_STATE_GPRS), EINVAL);
  EXPECT_ERRNO(nvmm_vcpu_getstate(m, nullptr, NVMM_X64_STATE_GPRS), EINVAL);
  EXPECT_ERRNO(nvmm_vcpu_setstate(m, nullptr, NVMM_X64_STATE_GPRS), EINVAL);
  EXPECT_ERRNO(nvmm_vcpu_inject(m, nullptr), EINVAL);
  EXPECT_ERRNO(nvmm_vcpu_run(nullptr, v), EINVAL);
  EXPECT_ERRNO(nvmm_vcpu_run(m, nullptr), EINVAL);
  EXPECT_ERRNO(nvmm_vcpu_stop(nullptr), EINVAL);
  EXPECT_ERRNO(nvmm_gpa_map(nullptr, reinterpret_cast<uintptr_t>(vm_.ram(0)), 0x80000, kPage,
                            PROT_READ),
               EINVAL);
  EXPECT_ERRNO(nvmm_gpa_unmap(nullptr, 0, 0, kPage), EINVAL);
  EXPECT_ERRNO(nvmm_hva_map(nullptr, reinterpret_cast<uintptr_t>(vm_.ram(0)), kPage), EINVAL);
  EXPECT_ERRNO(nvmm_hva_unmap(nullptr, reinterpret_cast<uintptr_t>(vm_.ram(0)), kPage), EINVAL);
  EXPECT_ERRNO(nvmm_gpa_to_hva(nullptr, 0, &hva, &prot), EINVAL);
  EXPECT_ERRNO(nvmm_gpa_to_hva(m, 0, nullptr, &prot), EINVAL);
  EXPECT_ERRNO(nvmm_gpa_to_hva(m, 0, &hva, nullptr), EINVAL);
  EXPECT_ERRNO(nvmm_gva_to_gpa(m, v, 0, nullptr, &prot), EINVAL);
  EXPECT_ERRNO(nvmm_gva_to_gpa(m, v, 0, &gpa, nullptr), EINVAL);
  EXPECT_ERRNO(nvmm_gva_to_gpa(m, nullptr, 0, &gpa, &prot), EINVAL);
  EXPECT_ERRNO(nvmm_assist_io(m, nullptr), EINVAL);
  EXPECT_ERRNO(nvmm_assist_mem(nullptr, v), EINVAL);
  EXPECT_ERRNO(nvmm_vcpu_dump(m, nullptr), EINVAL);
  EXPECT_ERRNO(nvmm_ctl(NVMM_CTL_MACH_INFO, nullptr, sizeof(nvmm_ctl_mach_info)), EINVAL);
  // The machine still works.
  vm_.load(GUEST_CODE(long_hlt));
  vm_.enter_long_mode(GUEST_CODE_GPA);
  EXPECT_EQ(vm_.run(), NVMM_VCPU_EXIT_HALTED) << vm_.describe_exit();
}

}  // namespace
}  // namespace vmruntime::nvmm_test
