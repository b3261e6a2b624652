// SPDX-License-Identifier: BSD-2-Clause
// The assist tests' port device, after NetBSD's h_io_assist "iobuf": one
// port (ASSIST_PORT) that hands out the bytes of an input string in order to
// IN/INS, and appends what OUT/OUTS write to an output string.  Every access
// is recorded with its direction and size.
#pragma once

#include <nvmm.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace vmruntime::assist_test {

struct PortAccess {
  bool in;
  size_t size;
};

class PortDevice {
 public:
  // As MmioDevice: the callback reaches the device constructed last.
  PortDevice(uint16_t port, std::string input);
  ~PortDevice();
  PortDevice(const PortDevice&) = delete;
  PortDevice& operator=(const PortDevice&) = delete;

  const std::string& output() const { return output_; }
  size_t input_used() const { return input_pos_; }
  const std::vector<PortAccess>& accesses() const { return accesses_; }

  // For nvmm_assist_callbacks.io.
  static void callback(nvmm_io* io);

 private:
  void access(nvmm_io* io);

  uint16_t port_;
  std::string input_;
  size_t input_pos_ = 0;
  std::string output_;
  std::vector<PortAccess> accesses_;
};

}  // namespace vmruntime::assist_test
