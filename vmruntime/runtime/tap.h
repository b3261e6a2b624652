// SPDX-License-Identifier: BSD-2-Clause
//
// Host tap devices for virtio-net: /dev/net/tun attached to an interface
// by name (created if it does not exist and the caller may create it).
#pragma once

#include <string>

#include "vmruntime/base/unique_fd.h"

namespace vmruntime::runtime {

// A non-blocking descriptor carrying the tap's Ethernet frames, one per
// read and write, without packet information; an invalid one and a
// message naming the tap when it cannot be had.
base::UniqueFd open_tap(const std::string& name, std::string* error);

}  // namespace vmruntime::runtime
