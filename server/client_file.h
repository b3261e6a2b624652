// SPDX-License-Identifier: BSD-2-Clause
//
// Reading a file a client named (an image, a kernel, an initrd) with the
// care a daemon that may run as root owes its host: the open never blocks
// (a FIFO or a device node is refused, not waited on), only a regular file
// is read, and never more than a bound.
#pragma once

#include <absl/status/statusor.h>

#include <cstdint>
#include <string>
#include <vector>

namespace vmruntime::server {

// The bytes of `path`, at most `max_bytes` of them.  `what` names the file
// in messages ("image", "initrd").  NOT_FOUND if it does not exist,
// PERMISSION_DENIED if it may not be read, INVALID_ARGUMENT if it is not a
// regular file, is larger than `max_bytes` or cannot be read; every message
// names the path.
absl::StatusOr<std::vector<uint8_t>> read_client_file(const std::string& path, uint64_t max_bytes,
                                                      const std::string& what);

}  // namespace vmruntime::server
