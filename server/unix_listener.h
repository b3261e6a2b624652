// SPDX-License-Identifier: BSD-2-Clause
//
// The daemon's Unix socket, accepted by the daemon rather than by gRPC so
// that each connection's peer credentials (SO_PEERCRED) stay reachable: a
// connection is handed to gRPC as a file descriptor, and gRPC names such a
// peer "fd:N" (see server/peer.h).
#pragma once

#include <grpcpp/server.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>

namespace vmruntime::server {

class UnixListener {
public:
    // Binds `path` (which must not exist), mode 0660 from the start.  Null,
    // with `error` set, on failure.
    static std::unique_ptr<UnixListener> open(const std::string& path, std::string* error);
    // Stops accepting.
    ~UnixListener();
    UnixListener(const UnixListener&) = delete;
    UnixListener& operator=(const UnixListener&) = delete;

    // Listens, and accepts connections for `server` (started, with its
    // other ports) on a thread of its own until destroyed; `server` must
    // outlive that.  False, with `error` set, if it cannot listen.
    bool serve(grpc::Server& server, std::string* error);

private:
    explicit UnixListener(int fd) : fd_(fd) {}
    void accept_loop(grpc::Server& server);

    int fd_;
    std::atomic<bool> stopping_{false};
    std::thread thread_;
};

}  // namespace vmruntime::server
