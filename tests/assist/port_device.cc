// SPDX-License-Identifier: BSD-2-Clause
// PortDevice: a byte stream in each direction on one port.  Another port, a
// size other than 1, 2 or 4, or reading past the input fails the test.
#include "port_device.h"

#include <gtest/gtest.h>

#include <cstring>
#include <utility>

namespace vmruntime::assist_test {
namespace {

PortDevice* g_current = nullptr;

}  // namespace

PortDevice::PortDevice(uint16_t port, std::string input) : port_(port), input_(std::move(input)) {
  g_current = this;
}

PortDevice::~PortDevice() {
  if (g_current == this) g_current = nullptr;
}

void PortDevice::callback(nvmm_io* io) {
  if (g_current == nullptr) {
    ADD_FAILURE() << "io callback without a device, port 0x" << std::hex << io->port;
    return;
  }
  g_current->access(io);
}

void PortDevice::access(nvmm_io* io) {
  accesses_.push_back({io->in, io->size});
  if (io->port != port_ || (io->size != 1 && io->size != 2 && io->size != 4)) {
    ADD_FAILURE() << "io callback: port 0x" << std::hex << io->port << " size " << std::dec
                  << io->size;
    if (io->in) std::memset(io->data, 0xFF, io->size);
    return;
  }
  if (!io->in) {
    output_.append(reinterpret_cast<const char*>(io->data), io->size);
    return;
  }
  if (input_pos_ + io->size > input_.size()) {
    ADD_FAILURE() << "io callback: IN past the " << input_.size() << " input bytes";
    std::memset(io->data, 0xFF, io->size);
    return;
  }
  std::memcpy(io->data, input_.data() + input_pos_, io->size);
  input_pos_ += io->size;
}

}  // namespace vmruntime::assist_test
