// SPDX-License-Identifier: BSD-2-Clause
// The assist tests' MMIO device: 4 KiB of device memory ("mmiobuf", as in
// NetBSD's h_mem_assist) behind one guest-physical page that has no RAM.
// The guest reaches it only through nvmm_assist_mem and the mem callback;
// every access is recorded so tests can check its address, size and data.
#pragma once

#include <nvmm.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace vmruntime::assist_test {

struct MmioAccess {
  gpaddr_t gpa;
  bool write;
  size_t size;
  uint64_t data;  // the bytes written or read, zero-extended
};

class MmioDevice {
 public:
  static constexpr size_t kSize = 4096;

  // The callback has no context pointer: the device it reaches is the one
  // constructed last and still alive (tests run one at a time).
  explicit MmioDevice(gpaddr_t base);
  ~MmioDevice();
  MmioDevice(const MmioDevice&) = delete;
  MmioDevice& operator=(const MmioDevice&) = delete;

  gpaddr_t base() const { return base_; }
  uint8_t* bytes() { return buf_.data(); }
  const std::vector<MmioAccess>& accesses() const { return accesses_; }

  // For nvmm_assist_callbacks.mem.
  static void callback(nvmm_mem* mem);

 private:
  void access(nvmm_mem* mem);

  gpaddr_t base_;
  std::array<uint8_t, kSize> buf_{};
  std::vector<MmioAccess> accesses_;
};

}  // namespace vmruntime::assist_test
