// SPDX-License-Identifier: BSD-2-Clause
// nvmm_vcpu_dump: the state a real guest left, printed to standard output,
// and the errno of a VCPU the machine does not have.
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <string>

#include "guest_vm.h"

GUEST_SNIPPET(real_basic);
GUEST_EXIT_LABEL(real_basic_out);

namespace vmruntime::nvmm_test {
namespace {

// What f writes to file descriptor 1, through stdio or not.
template <typename F>
std::string capture_stdout(F f) {
  std::fflush(stdout);
  FILE* file = std::tmpfile();
  if (file == nullptr) {
    ADD_FAILURE() << "tmpfile: " << std::strerror(errno);
    return {};
  }
  int saved = dup(STDOUT_FILENO);
  dup2(fileno(file), STDOUT_FILENO);
  f();
  std::fflush(stdout);
  dup2(saved, STDOUT_FILENO);
  close(saved);
  std::string text;
  std::rewind(file);
  for (int c; (c = std::fgetc(file)) != EOF;) text += static_cast<char>(c);
  std::fclose(file);
  return text;
}

using DumpTest = NvmmTest;

TEST_F(DumpTest, PrintsTheStateTheGuestLeft) {
  vm_.load(GUEST_CODE(real_basic));
  vm_.enter_real_mode(GUEST_CODE_GPA);
  ASSERT_EQ(vm_.run(), NVMM_VCPU_EXIT_IO) << vm_.describe_exit();
  int ret = -1;
  std::string text = capture_stdout([&] { ret = nvmm_vcpu_dump(vm_.mach(), vm_.vcpu()); });
  ASSERT_EQ(ret, 0) << std::strerror(errno);
  EXPECT_NE(text.find("+ VCPU id=0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("| -> RAX=1335\n"), std::string::npos) << text;
  EXPECT_NE(text.find("| -> RBX=1000\n"), std::string::npos) << "mov %ds, %bx\n" << text;
  EXPECT_NE(text.find("| -> DS: sel=0x1000 base=0000000000010000 limit=ffff"), std::string::npos) << text;
  EXPECT_NE(text.find("| -> CS: sel=0x800 base=0000000000008000"), std::string::npos) << text;
  EXPECT_NE(text.find("| -> CR0=60000010\n"), std::string::npos) << "CR0 at RESET\n" << text;
}

TEST_F(DumpTest, UnknownVcpuIsEnoent) {
  nvmm_vcpu ghost = *vm_.vcpu();
  ghost.cpuid = 1;
  errno = 0;
  std::string text = capture_stdout([&] { EXPECT_EQ(nvmm_vcpu_dump(vm_.mach(), &ghost), -1); });
  EXPECT_EQ(errno, ENOENT);
  EXPECT_EQ(text, "");
}

}  // namespace
}  // namespace vmruntime::nvmm_test
