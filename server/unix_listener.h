// SPDX-License-Identifier: BSD-2-Clause
//
// The daemon's Unix socket, accepted by the daemon rather than by gRPC so
// that each connection's peer credentials (SO_PEERCRED) stay reachable: a
// connection is handed to gRPC as a file descriptor, and gRPC names such a
// peer "fd:N" (see server/peer.h).
//
// With a group (vmruntimed --socket-group), the group's members may connect
// as well as root: the socket gets the group, and the directories the
// daemon creates for it get mode 0750 and the group.  A directory that
// exists is never loosened; if it keeps the group out, the daemon says so
// in its log.  Members are still no more than themselves: the files they
// name are opened with their own rights.
#pragma once

#include <grpcpp/server.h>
#include <sys/types.h>

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>

namespace vmruntime::server {

// A group given by name or as a numeric gid.  False, with `error` set, for
// a name the group database does not know.
bool parse_group(const std::string& text, gid_t* gid, std::string* error);

class UnixListener {
public:
    // Binds `path` (which must not exist), mode 0660 from the start, and
    // creates the directories missing above it; with `group`, as the file
    // comment says.  Null, with `error` set, on failure.
    static std::unique_ptr<UnixListener> open(const std::string& path, std::optional<gid_t> group,
                                              std::string* error);
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
