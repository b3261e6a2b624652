// SPDX-License-Identifier: BSD-2-Clause
//
// The host side of a machine's vsock device: the Unix socket a client
// names, bound with the machine owner's rights, and the owner's rights
// again for every socket a guest connects to ("<socket>_<port>"), so that
// a guest reaches no more of the host than its owner could.  Host-local
// sockets are no TCP client's to name.
#pragma once

#include <absl/status/statusor.h>

#include <string>

#include "server/client_file.h"
#include "vmruntime/runtime/machine_spec.h"

namespace vmruntime::server {

// "_4294967295": what a guest's port adds to the socket's path.
inline constexpr size_t kVsockPortSuffix = 11;

// A vsock device with context ID `cid` on socket `path` (absolute), for a
// machine whose files are opened with `rights`.  A stale socket at `path`
// (nobody listening) is replaced; the socket is removed when the last copy
// of the spec goes.  PERMISSION_DENIED for a TCP client or rights that may
// not bind there, ALREADY_EXISTS if something listens there, NOT_FOUND
// for a missing directory; every message names the path.
absl::StatusOr<runtime::VsockSpec> open_client_vsock(uint32_t cid, const std::string& path,
                                                     const FileRights& rights);

}  // namespace vmruntime::server
