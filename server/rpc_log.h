// SPDX-License-Identifier: BSD-2-Clause
//
// A line for every RPC the daemon answers, written as its status is sent:
//
//     DEBUG [rpc] Start 'web-1' from uid 1000: OK in 2.1 ms
//     INFO [rpc] Start 'web-2' from uid 1000: FAILED_PRECONDITION in 0.3 ms: cannot start ...
//
// the method, the machine its request names, who called (a local user's
// uid, or a TCP client's address), the status and how long the call took
// (a stream: its whole life).  Successes and cancellations are logged at
// debug; failures at info with their message, and those of the daemon
// itself (INTERNAL, DATA_LOSS, UNKNOWN) at warn.  A gRPC server
// interceptor, so that every RPC, streams included, is seen in one place.
#pragma once

#include <grpcpp/support/server_interceptor.h>

#include <memory>

namespace vmruntime::server {

// For ServerBuilder::experimental().SetInterceptorCreators().
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> rpc_log();

}  // namespace vmruntime::server
