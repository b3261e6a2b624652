// SPDX-License-Identifier: BSD-2-Clause
// The I/O assist test body; the case tables are in io{16,32,64}_test.cc.
#include <cerrno>
#include <cstring>

#include "hex.h"
#include "io_assist.h"

namespace vmruntime::assist_test {
namespace {

constexpr size_t kMaxExits = 200;

bool is_in(IoKind kind) {
  return kind == IoKind::kIn || kind == IoKind::kIns || kind == IoKind::kRepIns;
}
bool is_string(IoKind kind) { return kind != IoKind::kIn && kind != IoKind::kOut; }
bool is_rep(IoKind kind) { return kind == IoKind::kRepIns || kind == IoKind::kRepOuts; }

int8_t expected_seg(const IoBlock& b) {
  if (!is_string(b.kind)) return -1;
  if (is_in(b.kind)) return NVMM_X64_SEG_ES;
  return b.seg_override >= 0 ? b.seg_override : NVMM_X64_SEG_DS;
}

uint64_t address_mask(uint8_t address_size) {
  return address_size == 8 ? ~uint64_t{0} : (uint64_t{1} << (8 * address_size)) - 1;
}

const char* path_name(IoPath path) {
  return path == IoPath::kAssist ? "Assist" : "AssistGetSet";
}

}  // namespace

std::string io_param_name(const ::testing::TestParamInfo<IoParam>& info) {
  return std::string(std::get<0>(info.param).name) + "_" + path_name(std::get<1>(info.param));
}

void PrintTo(const IoCase& c, std::ostream* os) { *os << c.name; }

void PrintTo(IoPath path, std::ostream* os) { *os << path_name(path); }

void IoAssistTest::SetUp() {
  NvmmTest::SetUp();
  if (IsSkipped() || HasFatalFailure()) return;
  device_ = std::make_unique<PortDevice>(ASSIST_PORT, std::get<0>(GetParam()).input);
  nvmm_assist_callbacks cbs{PortDevice::callback, nullptr};
  ASSERT_EQ(nvmm_vcpu_configure(vm_.mach(), vm_.vcpu(), NVMM_VCPU_CONF_CALLBACKS, &cbs), 0)
      << std::strerror(errno);
}

void IoAssistTest::check_exit(const IoCase& c, const IoBlock& b) {
  const nvmm_x86_exit_io& io = vm_.exit().u.io;
  EXPECT_EQ(io.port, ASSIST_PORT);
  EXPECT_EQ(io.in, is_in(b.kind));
  EXPECT_EQ(io.operand_size, b.size);
  EXPECT_EQ(io.str, is_string(b.kind));
  EXPECT_EQ(io.rep, is_rep(b.kind));
  EXPECT_EQ(io.address_size, b.address_size);
  EXPECT_EQ(io.seg, expected_seg(b));
  EXPECT_EQ(Hex{io.npc}, Hex{snippet_rip(c.mode, c.code.begin, b.next)}) << "npc";
}

// RIP moves past a REP instruction only when the count is exhausted.
void IoAssistTest::check_after_assist(const IoCase& c, const IoBlock& b) {
  vm_.get(NVMM_X64_STATE_GPRS);
  const uint64_t* gprs = vm_.state().gprs;
  const bool done =
      !is_rep(b.kind) || (gprs[NVMM_X64_GPR_RCX] & address_mask(b.address_size)) == 0;
  const uint8_t* label = done ? b.next : b.at;
  EXPECT_EQ(Hex{gprs[NVMM_X64_GPR_RIP]}, Hex{snippet_rip(c.mode, c.code.begin, label)})
      << "RIP right after the assist, RCX 0x" << std::hex << gprs[NVMM_X64_GPR_RCX];
}

void IoAssistTest::check_halt(const IoCase& c, const IoBlock& b) {
  vm_.get(NVMM_X64_STATE_GPRS);
  const uint64_t* gprs = vm_.state().gprs;
  EXPECT_EQ(Hex{gprs[NVMM_X64_GPR_RIP]}, Hex{snippet_rip(c.mode, c.code.begin, b.next) + 1})
      << "the HLT right after the instruction";
  SCOPED_TRACE("registers at the HLT");
  expect_regs(c.mode, gprs, b.regs);
}

TEST_P(IoAssistTest, Snippet) {
  const auto& [c, path] = GetParam();
  std::memcpy(vm_.ram(GUEST_DATA_GPA), c.ram.data(), c.ram.size());
  vm_.load(c.code);
  enter_mode(vm_, c.mode);

  size_t index = 0;
  for (size_t exits = 0; index < c.blocks.size(); exits++) {
    ASSERT_LT(exits, kMaxExits) << "the snippet does not reach its last HLT";
    const IoBlock& b = c.blocks[index];
    SCOPED_TRACE(testing::Message() << "block " << index << ", instruction at 0x" << std::hex
                                    << snippet_rip(c.mode, c.code.begin, b.at));
    const uint64_t reason = vm_.run();
    if (reason == NVMM_VCPU_EXIT_HALTED) {
      check_halt(c, b);
      index++;
      continue;
    }
    ASSERT_EQ(reason, NVMM_VCPU_EXIT_IO) << vm_.describe_exit();
    check_exit(c, b);
    const size_t before = device_->accesses().size();
    ASSERT_EQ(nvmm_assist_io(vm_.mach(), vm_.vcpu()), 0) << std::strerror(errno);
    const auto& accesses = device_->accesses();
    EXPECT_GT(accesses.size(), before) << "the assist called no callback";
    for (size_t i = before; i < accesses.size(); i++) {
      EXPECT_EQ(accesses[i].in, is_in(b.kind)) << "callback " << i;
      EXPECT_EQ(accesses[i].size, b.size) << "callback " << i;
    }
    if (path == IoPath::kAssistGetSet) {
      check_after_assist(c, b);
      vm_.set(NVMM_X64_STATE_GPRS);
    }
    if (!b.halts) index++;
  }
  EXPECT_EQ(device_->output(), c.want_out);
  EXPECT_EQ(device_->input_used(), c.input.size()) << "input bytes the guest read";
  const auto* ram = reinterpret_cast<const char*>(vm_.ram(GUEST_DATA_GPA));
  EXPECT_EQ(std::string(ram, c.want_ram.size()), c.want_ram) << "RAM at GUEST_DATA_GPA";
}

}  // namespace vmruntime::assist_test
