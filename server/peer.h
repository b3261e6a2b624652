// SPDX-License-Identifier: BSD-2-Clause
//
// Who is on the other end of an RPC, as the owner of what it creates.  A
// Unix-socket connection reaches gRPC from UnixListener as a file
// descriptor, which gRPC names as the peer ("fd:N"); the descriptor stays
// open while a call on it lives, so SO_PEERCRED of that socket names the
// local client.  Every other peer is a TCP client.
#pragma once

#include <absl/status/statusor.h>
#include <grpcpp/server_context.h>

#include "vmruntime/v1/vmruntime.pb.h"

namespace vmruntime::server {

// INTERNAL if a local peer's credentials cannot be read.
absl::StatusOr<v1::Owner> owner_of(const grpc::CallbackServerContext& ctx);

}  // namespace vmruntime::server
