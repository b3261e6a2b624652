// SPDX-License-Identifier: BSD-2-Clause
// IO exits from a long-mode guest: every operand size, immediate-port and
// DX-port forms, completed by hand (RAX, RIP = npc) and by nvmm_assist_io
// with callbacks, and string I/O (rep outsb / rep insb) through the assist.
#include <algorithm>
#include <deque>

#include "guest_vm.h"

GUEST_SNIPPET(long_io);
GUEST_EXIT_LABEL(long_io_out8);
GUEST_EXIT_LABEL(long_io_out16);
GUEST_EXIT_LABEL(long_io_out32);
GUEST_EXIT_LABEL(long_io_in8);
GUEST_EXIT_LABEL(long_io_in16);
GUEST_EXIT_LABEL(long_io_in32);
GUEST_SNIPPET(long_io_str);
GUEST_EXIT_LABEL(long_io_outsb);
GUEST_EXIT_LABEL(long_io_insb);
GUEST_LABEL(long_io_str_text);
GUEST_SNIPPET(long_io_patch);
GUEST_LABEL(long_io_patch_out);
GUEST_SNIPPET(long_io_repatch);
GUEST_LABEL(long_io_repatch_at);

namespace vmruntime::nvmm_test {
namespace {

struct IoStep {
  const uint8_t* at;
  const uint8_t* next;
  bool in;
  uint8_t size;
  uint32_t data;  // OUT: what the guest sends; IN: what the test answers
};

const IoStep kSteps[] = {
    {long_io_out8, long_io_out8_next, false, 1, 0x11},
    {long_io_out16, long_io_out16_next, false, 2, 0x2233},
    {long_io_out32, long_io_out32_next, false, 4, 0x44556677},
    {long_io_in8, long_io_in8_next, true, 1, 0xA1},
    {long_io_in16, long_io_in16_next, true, 2, 0xB2C3},
    {long_io_in32, long_io_in32_next, true, 4, 0xD4E5F607},
};

struct IoCall {
  uint16_t port;
  bool in;
  size_t size;
  uint64_t data;
};

// The assist callback has no context pointer; the test owns these while it runs.
std::vector<IoCall> g_calls;
std::deque<uint8_t> g_in_bytes;

void io_callback(nvmm_io* io) {
  IoCall call{io->port, io->in, io->size, 0};
  if (io->in) {
    for (size_t i = 0; i < io->size && !g_in_bytes.empty(); i++) {
      io->data[i] = g_in_bytes.front();
      g_in_bytes.pop_front();
    }
  }
  std::memcpy(&call.data, io->data, std::min(io->size, sizeof call.data));
  g_calls.push_back(call);
}

class IoTest : public NvmmTest {
 protected:
  void SetUp() override {
    NvmmTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    g_calls.clear();
    g_in_bytes.clear();
    nvmm_assist_callbacks cbs{io_callback, nullptr};
    ASSERT_EQ(nvmm_vcpu_configure(vm_.mach(), vm_.vcpu(), NVMM_VCPU_CONF_CALLBACKS, &cbs), 0)
        << std::strerror(errno);
  }

  void expect_exit_at(const IoStep& step) {
    const nvmm_x86_exit_io& io = vm_.exit().u.io;
    EXPECT_EQ(io.in, step.in);
    EXPECT_EQ(io.port, GUEST_PORT);
    EXPECT_EQ(io.operand_size, step.size);
    EXPECT_FALSE(io.str);
    EXPECT_FALSE(io.rep);
    EXPECT_EQ(io.seg, -1);
    EXPECT_EQ(io.npc, GUEST_GPA(long_io, step.next));
    vm_.get(NVMM_X64_STATE_GPRS);
    EXPECT_EQ(vm_.state().gprs[NVMM_X64_GPR_RIP], GUEST_GPA(long_io, step.at));
    if (!step.in) {
      const uint64_t mask = (1ULL << (8 * step.size)) - 1;
      EXPECT_EQ(vm_.state().gprs[NVMM_X64_GPR_RAX] & mask, step.data) << "OUT data in RAX";
    }
  }

  // Long mode at `code`, DX holding the port for its OUTs.
  void start_with_port_in_dx(GuestCode code) {
    vm_.load(code);
    vm_.enter_long_mode(GUEST_CODE_GPA);
    vm_.state().gprs[NVMM_X64_GPR_RDX] = GUEST_PORT;
    vm_.set(NVMM_X64_STATE_GPRS);
  }

  void expect_in_results() {
    EXPECT_EQ(vm_.peek<uint64_t>(GUEST_DATA_GPA), 0xFFFFFFFFFFFFFFA1u) << "inb keeps RAX 63:8";
    EXPECT_EQ(vm_.peek<uint64_t>(GUEST_DATA_GPA + 8), 0xFFFFFFFFFFFFB2C3u) << "inw keeps RAX 63:16";
    EXPECT_EQ(vm_.peek<uint64_t>(GUEST_DATA_GPA + 16), 0xD4E5F607u) << "inl zero-extends";
  }
};

TEST_F(IoTest, CompletedByHand) {
  vm_.load(GUEST_CODE(long_io));
  vm_.enter_long_mode(GUEST_CODE_GPA);
  for (const IoStep& step : kSteps) {
    ASSERT_EQ(vm_.run(), NVMM_VCPU_EXIT_IO) << vm_.describe_exit();
    SCOPED_TRACE(vm_.describe_exit());
    expect_exit_at(step);
    vm_.finish_io_by_hand(step.data);
  }
  ASSERT_EQ(vm_.run(), NVMM_VCPU_EXIT_HALTED) << vm_.describe_exit();
  expect_in_results();
  EXPECT_TRUE(g_calls.empty()) << "no assist, no callback";
}

// The decode of an IO exit is kept for the next exit at the same place;
// new code bytes there must be decoded anew.
TEST_F(IoTest, CodeRewrittenAtTheSameRipIsDecodedAgain) {
  const uint64_t out = GUEST_GPA(long_io_patch, long_io_patch_out);
  start_with_port_in_dx(GUEST_CODE(long_io_patch));
  for (int i = 0; i < 2; i++) {
    ASSERT_EQ(vm_.run(), NVMM_VCPU_EXIT_IO) << vm_.describe_exit();
    EXPECT_EQ(vm_.exit().u.io.npc, out + 2) << "out %al, $imm8";
    vm_.finish_io_by_hand(0);
  }
  vm_.poke<uint8_t>(out, 0xEE);      // out %al, %dx
  vm_.poke<uint8_t>(out + 1, 0x90);  // nop
  ASSERT_EQ(vm_.run(), NVMM_VCPU_EXIT_IO) << vm_.describe_exit();
  EXPECT_EQ(vm_.exit().u.io.port, GUEST_PORT);
  EXPECT_EQ(vm_.exit().u.io.npc, out + 1) << "out %al, %dx";
  vm_.get(NVMM_X64_STATE_GPRS);
  EXPECT_EQ(vm_.state().gprs[NVMM_X64_GPR_RIP], out) << "an IO exit leaves RIP on the instruction";
}

// The same, where only the bytes before the exit's npc change: a host
// whose KVM retires the OUT before the exit (PVM emulates it) sees the
// same RIP both times, so only the code tells where the instruction began.
TEST_F(IoTest, CodeRewrittenBeforeTheSameNpcIsDecodedAgain) {
  const uint64_t at = GUEST_GPA(long_io_repatch, long_io_repatch_at);
  start_with_port_in_dx(GUEST_CODE(long_io_repatch));
  for (int i = 0; i < 2; i++) {
    ASSERT_EQ(vm_.run(), NVMM_VCPU_EXIT_IO) << vm_.describe_exit();
    EXPECT_EQ(vm_.exit().u.io.npc, at + 2) << "nop; out %al, %dx";
    vm_.get(NVMM_X64_STATE_GPRS);
    EXPECT_EQ(vm_.state().gprs[NVMM_X64_GPR_RIP], at + 1);
    vm_.finish_io_by_hand(0);
  }
  vm_.poke<uint8_t>(at, 0xE6);  // out %al, $GUEST_PORT
  vm_.poke<uint8_t>(at + 1, GUEST_PORT);
  ASSERT_EQ(vm_.run(), NVMM_VCPU_EXIT_IO) << vm_.describe_exit();
  EXPECT_EQ(vm_.exit().u.io.port, GUEST_PORT);
  EXPECT_EQ(vm_.exit().u.io.npc, at + 2) << "out %al, $imm8";
  vm_.get(NVMM_X64_STATE_GPRS);
  EXPECT_EQ(vm_.state().gprs[NVMM_X64_GPR_RIP], at) << "an IO exit leaves RIP on the instruction";
}

TEST_F(IoTest, CompletedByAssist) {
  vm_.load(GUEST_CODE(long_io));
  vm_.enter_long_mode(GUEST_CODE_GPA);
  for (const IoStep& step : kSteps) {
    if (step.in) {
      for (int i = 0; i < step.size; i++) g_in_bytes.push_back(uint8_t(step.data >> (8 * i)));
    }
  }
  for (const IoStep& step : kSteps) {
    ASSERT_EQ(vm_.run(), NVMM_VCPU_EXIT_IO) << vm_.describe_exit();
    SCOPED_TRACE(vm_.describe_exit());
    expect_exit_at(step);
    ASSERT_EQ(nvmm_assist_io(vm_.mach(), vm_.vcpu()), 0) << std::strerror(errno);
  }
  ASSERT_EQ(vm_.run(), NVMM_VCPU_EXIT_HALTED) << vm_.describe_exit();
  expect_in_results();
  ASSERT_EQ(g_calls.size(), std::size(kSteps));
  for (size_t i = 0; i < g_calls.size(); i++) {
    EXPECT_EQ(g_calls[i].port, GUEST_PORT) << "call " << i;
    EXPECT_EQ(g_calls[i].in, kSteps[i].in) << "call " << i;
    EXPECT_EQ(g_calls[i].size, kSteps[i].size) << "call " << i;
    EXPECT_EQ(g_calls[i].data, kSteps[i].data) << "call " << i;
  }
}

// The assist may take a REP in several exits (NetBSD batches 32 bytes); every
// exit must be on the same instruction with the same decoding.
TEST_F(IoTest, RepStringThroughAssist) {
  vm_.load(GUEST_CODE(long_io_str));
  vm_.enter_long_mode(GUEST_CODE_GPA);
  const char in_text[] = "WXYZ";
  g_in_bytes.assign(in_text, in_text + 4);
  uint64_t reason;
  while ((reason = vm_.run()) == NVMM_VCPU_EXIT_IO) {
    SCOPED_TRACE(vm_.describe_exit());
    const nvmm_x86_exit_io& io = vm_.exit().u.io;
    vm_.get(NVMM_X64_STATE_GPRS);
    const uint64_t rip = vm_.state().gprs[NVMM_X64_GPR_RIP];
    const bool outs = rip == GUEST_GPA(long_io_str, long_io_outsb);
    ASSERT_TRUE(outs || rip == GUEST_GPA(long_io_str, long_io_insb)) << "RIP 0x" << std::hex << rip;
    EXPECT_EQ(io.in, !outs);
    EXPECT_EQ(io.port, GUEST_PORT);
    EXPECT_EQ(io.operand_size, 1);
    EXPECT_TRUE(io.str);
    EXPECT_TRUE(io.rep);
    EXPECT_EQ(io.address_size, 8);
    if (outs) {
      EXPECT_EQ(io.seg, NVMM_X64_SEG_DS);
    }
    EXPECT_EQ(io.npc, outs ? GUEST_GPA(long_io_str, long_io_outsb_next)
                           : GUEST_GPA(long_io_str, long_io_insb_next));
    ASSERT_EQ(nvmm_assist_io(vm_.mach(), vm_.vcpu()), 0) << std::strerror(errno);
  }
  ASSERT_EQ(reason, NVMM_VCPU_EXIT_HALTED) << vm_.describe_exit();

  std::string sent, received;
  for (const IoCall& call : g_calls) {
    EXPECT_EQ(call.size, 1u);
    EXPECT_EQ(call.port, GUEST_PORT);
    (call.in ? received : sent).push_back(char(call.data));
  }
  EXPECT_EQ(sent, "hello");
  EXPECT_EQ(received, "WXYZ");
  EXPECT_EQ(std::memcmp(vm_.ram(GUEST_DATA_GPA), in_text, 4), 0) << "insb stores into RAM";
  vm_.get(NVMM_X64_STATE_GPRS);
  EXPECT_EQ(vm_.state().gprs[NVMM_X64_GPR_RCX], 0u);
  EXPECT_EQ(vm_.state().gprs[NVMM_X64_GPR_RSI], GUEST_GPA(long_io_str, long_io_str_text) + 5);
  EXPECT_EQ(vm_.state().gprs[NVMM_X64_GPR_RDI], GUEST_DATA_GPA + 4u);
}

}  // namespace
}  // namespace vmruntime::nvmm_test
