// SPDX-License-Identifier: BSD-2-Clause
// NetBSD's rule for an exit: the state the VMM commits is the state the
// vCPU runs from.  As NetBSD's own test programs do, one vCPU runs case
// after case, each from a state rebuilt from a zeroed struct; here every
// exit kind (IN, OUT, RDMSR, WRMSR, MMIO read and write) in 16-, 32- and
// 64-bit code is left unanswered, half answered, answered by hand or
// through the assist, and then the state is replaced.  KVM's pending
// completion of the instruction must not survive into the new state: no
// register written, no RIP advanced twice, no #GP injected.
#include <cstring>

#include "guest_vm.h"

#define SEQ_LABELS(mode)                                                       \
  GUEST_SNIPPET(mode);                                                         \
  GUEST_EXIT_LABEL(mode##_in);                                                 \
  GUEST_EXIT_LABEL(mode##_out);                                                \
  GUEST_EXIT_LABEL(mode##_rdmsr);                                              \
  GUEST_EXIT_LABEL(mode##_wrmsr);                                              \
  GUEST_EXIT_LABEL(mode##_mmio_rd);                                            \
  GUEST_EXIT_LABEL(mode##_mmio_wr);                                            \
  GUEST_LABEL(mode##_check);                                                   \
  GUEST_EXIT_LABEL(mode##_check_out)

SEQ_LABELS(seq16);
SEQ_LABELS(seq32);
SEQ_LABELS(seq64);

namespace vmruntime::nvmm_test {
namespace {

constexpr uint64_t kMmioGpa = 0x30000;  // guests/sequence.S
constexpr uint32_t kUnknownMsr = 0xC0011234;
constexpr uint64_t kCheckRax = 0x7E57;  // the low byte an IN would replace

enum class Kind { In, Out, Rdmsr, Wrmsr, MmioRead, MmioWrite };
enum class Answer { None, Half, ByHand, Assist, AssistThenEdit };

const char* name(Kind k) {
  static const char* const names[] = {"IN", "OUT", "RDMSR", "WRMSR", "MMIO read", "MMIO write"};
  return names[static_cast<int>(k)];
}
const char* name(Answer a) {
  static const char* const names[] = {"unanswered", "half answered", "answered by hand",
                                      "answered by the assist", "assisted, then edited"};
  return names[static_cast<int>(a)];
}

struct Mode {
  const char* name;
  const uint8_t* begin;
  const uint8_t* end;
  const uint8_t* at[6];     // per Kind
  const uint8_t* at_next[6];
  const uint8_t* check;
  const uint8_t* check_out_next;
  int bits;
};

#define SEQ_MODE(mode, b)                                                                     \
  Mode {                                                                                      \
    #mode, mode##_begin, mode##_end,                                                          \
        {mode##_in, mode##_out, mode##_rdmsr, mode##_wrmsr, mode##_mmio_rd, mode##_mmio_wr},  \
        {mode##_in_next, mode##_out_next, mode##_rdmsr_next, mode##_wrmsr_next,               \
         mode##_mmio_rd_next, mode##_mmio_wr_next},                                           \
        mode##_check, mode##_check_out_next, b                                                \
  }

void answer_io(nvmm_io* io) {
  if (io->in) std::memset(io->data, 0xA5, io->size);
}
void answer_mem(nvmm_mem* mem) {
  if (!mem->write) std::memset(mem->data, 0xC3, mem->size);
}

class SequenceTest : public NvmmTest {
 protected:
  void SetUp() override {
    NvmmTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    nvmm_assist_callbacks cbs{answer_io, answer_mem};
    ASSERT_EQ(nvmm_vcpu_configure(vm_.mach(), vm_.vcpu(), NVMM_VCPU_CONF_CALLBACKS, &cbs), 0);
  }

  // The guest address of a label as RIP sees it in `mode`.
  static uint64_t rip_of(const Mode& mode, const uint8_t* label) {
    const uint64_t gpa = label_gpa(mode.begin, label);
    return mode.bits == 16 ? gpa - GUEST_CODE_GPA : gpa;
  }

  // A whole state built from zeroes, as NetBSD's test programs reset
  // between cases, with RIP on `label`.
  void reset(const Mode& mode, const uint8_t* label) {
    std::memset(&vm_.state(), 0, sizeof(nvmm_x64_state));
    const uint64_t rip = label_gpa(mode.begin, label);
    if (mode.bits == 16) {
      fill_real_mode(rip - GUEST_CODE_GPA);
    } else {
      vm_.set(NVMM_X64_STATE_ALL);  // getstate then serves the zeroes
      if (mode.bits == 32) {
        vm_.enter_protected_mode(rip, false);
      } else {
        vm_.enter_long_mode(rip);
      }
    }
  }

  void fill_real_mode(uint64_t ip) {
    nvmm_x64_state& s = vm_.state();
    auto seg = [&](int i, uint64_t base, uint8_t type) {
      s.segs[i].selector = static_cast<uint16_t>(base >> 4);
      s.segs[i].base = base;
      s.segs[i].limit = 0xFFFF;
      s.segs[i].attrib.type = type;
      s.segs[i].attrib.s = 1;
      s.segs[i].attrib.p = 1;
    };
    seg(NVMM_X64_SEG_CS, GUEST_CODE_GPA, 0xB);
    for (int i : {NVMM_X64_SEG_DS, NVMM_X64_SEG_ES, NVMM_X64_SEG_SS, NVMM_X64_SEG_GS}) {
      seg(i, GUEST_DATA_GPA, 0x3);
    }
    seg(NVMM_X64_SEG_FS, kMmioGpa, 0x3);
    s.segs[NVMM_X64_SEG_LDT].attrib.type = 2;
    s.segs[NVMM_X64_SEG_LDT].attrib.p = 1;
    s.segs[NVMM_X64_SEG_LDT].limit = 0xFFFF;
    s.segs[NVMM_X64_SEG_TR].attrib.type = 3;
    s.segs[NVMM_X64_SEG_TR].attrib.p = 1;
    s.segs[NVMM_X64_SEG_TR].limit = 0xFFFF;
    s.segs[NVMM_X64_SEG_GDT].limit = 0xFFFF;
    s.segs[NVMM_X64_SEG_IDT].limit = 0x3FF;
    s.gprs[NVMM_X64_GPR_RIP] = ip;
    s.gprs[NVMM_X64_GPR_RFLAGS] = 0x2;
    s.gprs[NVMM_X64_GPR_RSP] = GUEST_STACK_TOP - GUEST_DATA_GPA;
    s.crs[NVMM_X64_CR_CR0] = 0x10;  // ET
    vm_.set(NVMM_X64_STATE_ALL);
  }

  void expect_exit(const Mode& mode, Kind kind) {
    const int k = static_cast<int>(kind);
    switch (kind) {
      case Kind::In:
      case Kind::Out:
        ASSERT_EQ(vm_.run(), NVMM_VCPU_EXIT_IO) << vm_.describe_exit();
        EXPECT_EQ(vm_.exit().u.io.in, kind == Kind::In);
        EXPECT_EQ(vm_.exit().u.io.npc, rip_of(mode, mode.at_next[k]));
        break;
      case Kind::Rdmsr:
        ASSERT_EQ(vm_.run(), NVMM_VCPU_EXIT_RDMSR) << vm_.describe_exit();
        EXPECT_EQ(vm_.exit().u.rdmsr.npc, rip_of(mode, mode.at_next[k]));
        break;
      case Kind::Wrmsr:
        ASSERT_EQ(vm_.run(), NVMM_VCPU_EXIT_WRMSR) << vm_.describe_exit();
        EXPECT_EQ(vm_.exit().u.wrmsr.npc, rip_of(mode, mode.at_next[k]));
        break;
      case Kind::MmioRead:
      case Kind::MmioWrite:
        ASSERT_EQ(vm_.run(), NVMM_VCPU_EXIT_MEMORY) << vm_.describe_exit();
        EXPECT_EQ(vm_.exit().u.mem.gpa, kMmioGpa);
        break;
    }
  }

  // False when this answer does not exist for this kind.
  bool answer(const Mode& mode, Kind kind, Answer how) {
    const bool io = kind == Kind::In || kind == Kind::Out;
    const bool msr = kind == Kind::Rdmsr || kind == Kind::Wrmsr;
    uint64_t* gprs = vm_.state().gprs;
    switch (how) {
      case Answer::None:
        return true;
      case Answer::Half:  // the value, but RIP left on the instruction
        vm_.get(NVMM_X64_STATE_GPRS);
        gprs[NVMM_X64_GPR_RAX] = 0x11;
        gprs[NVMM_X64_GPR_RDX] = 0x22;
        vm_.set(NVMM_X64_STATE_GPRS);
        return true;
      case Answer::ByHand:
        if (!io && !msr) return false;
        vm_.get(NVMM_X64_STATE_GPRS);
        gprs[NVMM_X64_GPR_RAX] = 0x33;
        gprs[NVMM_X64_GPR_RDX] = 0x44;
        gprs[NVMM_X64_GPR_RIP] = rip_of(mode, mode.at_next[static_cast<int>(kind)]);
        vm_.set(NVMM_X64_STATE_GPRS);
        return true;
      case Answer::Assist:
      case Answer::AssistThenEdit:
        if (msr) return false;
        EXPECT_EQ(io ? nvmm_assist_io(vm_.mach(), vm_.vcpu()) : nvmm_assist_mem(vm_.mach(), vm_.vcpu()), 0);
        if (how == Answer::AssistThenEdit) {
          gprs[NVMM_X64_GPR_RBX] = 0x55;  // NetBSD lets an assist be edited without getstate
          vm_.set(NVMM_X64_STATE_GPRS);
        }
        return true;
    }
    return false;
  }

  // The vCPU starts exactly at the check point with the registers set.
  void expect_clean_start(const Mode& mode, uint32_t id) {
    reset(mode, mode.check);
    vm_.state().gprs[NVMM_X64_GPR_RBX] = id;
    vm_.state().gprs[NVMM_X64_GPR_RAX] = kCheckRax;
    vm_.set(NVMM_X64_STATE_GPRS);
    vm_.poke<uint64_t>(GUEST_DATA_GPA, 0);
    ASSERT_EQ(vm_.run(), NVMM_VCPU_EXIT_IO) << vm_.describe_exit();
    EXPECT_EQ(vm_.exit().u.io.port, GUEST_PORT + 2);
    EXPECT_EQ(vm_.exit().u.io.npc, rip_of(mode, mode.check_out_next));
    const uint32_t bx = vm_.peek<uint32_t>(GUEST_DATA_GPA), ax = vm_.peek<uint32_t>(GUEST_DATA_GPA + 4);
    EXPECT_EQ(bx, id) << "EBX as committed";
    EXPECT_EQ(ax, kCheckRax) << "EAX as committed";
  }

  void run_all(const Mode& mode) {
    vm_.load(GuestCode{mode.begin, mode.end});
    uint32_t id = 1;
    int cases = 0;
    for (Kind kind : {Kind::In, Kind::Out, Kind::Rdmsr, Kind::Wrmsr, Kind::MmioRead, Kind::MmioWrite}) {
      for (Answer how : {Answer::None, Answer::Half, Answer::ByHand, Answer::Assist, Answer::AssistThenEdit}) {
        SCOPED_TRACE(::testing::Message() << mode.name << ": " << name(kind) << " " << name(how));
        reset(mode, mode.at[static_cast<int>(kind)]);
        vm_.state().gprs[NVMM_X64_GPR_RCX] = kUnknownMsr;
        vm_.state().gprs[NVMM_X64_GPR_RAX] = 0x99;
        vm_.set(NVMM_X64_STATE_GPRS);
        ASSERT_NO_FATAL_FAILURE(expect_exit(mode, kind));
        if (!answer(mode, kind, how)) continue;
        ASSERT_NO_FATAL_FAILURE(expect_clean_start(mode, id++));
        cases++;
      }
    }
    EXPECT_EQ(cases, 6 * 2 + 4 + 4 * 2);
  }
};

TEST_F(SequenceTest, RealMode) { run_all(SEQ_MODE(seq16, 16)); }
TEST_F(SequenceTest, ProtectedMode) { run_all(SEQ_MODE(seq32, 32)); }
TEST_F(SequenceTest, LongMode) { run_all(SEQ_MODE(seq64, 64)); }

// The same vCPU answers an exit and goes on after a replaced state: the
// answer of the exit before does not leak into the next one.
TEST_F(SequenceTest, AnsweredExitsRunOnAfterAReset) {
  const Mode mode = SEQ_MODE(seq64, 64);
  vm_.load(GuestCode{mode.begin, mode.end});
  for (int round = 0; round < 3; round++) {
    reset(mode, mode.at[static_cast<int>(Kind::In)]);
    ASSERT_NO_FATAL_FAILURE(expect_exit(mode, Kind::In));
    vm_.finish_io_by_hand(0x5A);
    ASSERT_EQ(vm_.run(), NVMM_VCPU_EXIT_HALTED) << vm_.describe_exit();
    vm_.get(NVMM_X64_STATE_GPRS);
    EXPECT_EQ(vm_.state().gprs[NVMM_X64_GPR_RAX] & 0xFF, 0x5Au);
    EXPECT_EQ(vm_.state().gprs[NVMM_X64_GPR_RIP], rip_of(mode, mode.at_next[0]) + 1) << "past the HLT";
  }
}

}  // namespace
}  // namespace vmruntime::nvmm_test
