// SPDX-License-Identifier: BSD-2-Clause
// Table-driven I/O assist tests, in the style of NetBSD's h_io_assist: a
// snippet of blocks, each one I/O instruction on ASSIST_PORT and (mostly) a
// HLT, runs on a fresh vCPU with the PortDevice.  Every IO exit must
// describe the block's instruction and is completed with nvmm_assist_io; at
// the HLT the registers the instruction changed must hold the table's
// values.  At the end the device must have produced and consumed the
// table's bytes, and RAM at GUEST_DATA_GPA must hold the table's bytes.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <ostream>
#include <string>
#include <tuple>
#include <vector>

#include "cpu_mode.h"
#include "guest_vm.h"
#include "guests/assist.h"
#include "port_device.h"
#include "regs.h"

// The I/O instruction at label `label` and its npc, for IoBlock.
#define INSN(label) label, label##_next

namespace vmruntime::assist_test {

// The string snippets move these 32 bytes in order, except that their DF=1
// block moves the last two pairs backwards, giving kIoMoved; then a few more.
inline const std::string kIoBytes = "0123456789abcdefghijklmnopqrstuv";
inline const std::string kIoMoved = "0123456789abcdefghijklmnopqruvst";

inline constexpr int8_t kNoOverride = -1;
inline constexpr bool kNoHlt = false;

enum class IoKind { kIn, kOut, kIns, kOuts, kRepIns, kRepOuts };

struct IoBlock {
  const uint8_t* at;    // the I/O instruction (an AT label)
  const uint8_t* next;  // and its npc
  IoKind kind;
  uint8_t size;          // operand size
  uint8_t address_size;  // 2, 4 or 8
  std::vector<RegValue> regs;  // at the HLT after the instruction
  int8_t seg_override = kNoOverride;  // NVMM_X64_SEG_* of an OUTS segment prefix
  bool halts = true;  // false: the next I/O instruction follows at once
};

struct IoCase {
  const char* name;
  nvmm_test::GuestCode code;
  CpuMode mode;
  std::string input;     // what the port hands to IN/INS, in order
  std::string want_out;  // what OUT/OUTS must have written
  std::string ram;       // RAM at GUEST_DATA_GPA before the run
  std::string want_ram;  // and after
  std::vector<IoBlock> blocks;
};

enum class IoPath {
  kAssist,          // nvmm_assist_io, then run again
  kAssistGetSet,    // the same, checking RIP with getstate right after every
                    // assist, and handing the GPRs back with setstate
};

inline constexpr IoPath kIoPaths[] = {IoPath::kAssist, IoPath::kAssistGetSet};

using IoParam = std::tuple<IoCase, IoPath>;

class IoAssistTest : public nvmm_test::NvmmTest, public ::testing::WithParamInterface<IoParam> {
 protected:
  void SetUp() override;
  void check_exit(const IoCase& c, const IoBlock& block);
  void check_after_assist(const IoCase& c, const IoBlock& block);
  void check_halt(const IoCase& c, const IoBlock& block);

  std::unique_ptr<PortDevice> device_;
};

std::string io_param_name(const ::testing::TestParamInfo<IoParam>& info);

void PrintTo(const IoCase& c, std::ostream* os);
void PrintTo(IoPath path, std::ostream* os);

}  // namespace vmruntime::assist_test
