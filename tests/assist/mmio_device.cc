// SPDX-License-Identifier: BSD-2-Clause
// MmioDevice: reads and writes of the mmiobuf page, recorded.  An access
// outside the page, or of a size no instruction makes, fails the test.
#include "mmio_device.h"

#include <gtest/gtest.h>

#include <cstring>

namespace vmruntime::assist_test {
namespace {

MmioDevice* g_current = nullptr;

}  // namespace

MmioDevice::MmioDevice(gpaddr_t base) : base_(base) { g_current = this; }

MmioDevice::~MmioDevice() {
  if (g_current == this) g_current = nullptr;
}

void MmioDevice::callback(nvmm_mem* mem) {
  if (g_current == nullptr) {
    ADD_FAILURE() << "mem callback without a device, gpa 0x" << std::hex << mem->gpa;
    return;
  }
  g_current->access(mem);
}

void MmioDevice::access(nvmm_mem* mem) {
  const bool sized = mem->size == 1 || mem->size == 2 || mem->size == 4 || mem->size == 8;
  if (!sized || mem->gpa < base_ || mem->gpa + mem->size > base_ + kSize) {
    ADD_FAILURE() << "mem callback outside the device: gpa 0x" << std::hex << mem->gpa << " size "
                  << std::dec << mem->size << (mem->write ? " write" : " read");
    accesses_.push_back({mem->gpa, mem->write, mem->size, 0});
    if (!mem->write) std::memset(mem->data, 0xFF, mem->size);
    return;
  }
  uint8_t* at = buf_.data() + (mem->gpa - base_);
  if (mem->write) {
    std::memcpy(at, mem->data, mem->size);
  } else {
    std::memcpy(mem->data, at, mem->size);
  }
  MmioAccess record{mem->gpa, mem->write, mem->size, 0};
  std::memcpy(&record.data, at, mem->size);
  accesses_.push_back(record);
}

}  // namespace vmruntime::assist_test
