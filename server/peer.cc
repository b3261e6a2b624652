// SPDX-License-Identifier: BSD-2-Clause
#include "server/peer.h"

#include <sys/socket.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <string>

#include "server/status.h"

namespace vmruntime::server {

absl::StatusOr<v1::Owner> owner_of(const grpc::CallbackServerContext& ctx)
{
    const std::string peer = ctx.peer();
    v1::Owner owner;
    constexpr std::string_view kFdPeer = "fd:";
    if (peer.compare(0, kFdPeer.size(), kFdPeer) != 0) {
        owner.mutable_remote();
        return owner;
    }
    int fd = -1;
    const char* end = peer.data() + peer.size();
    auto parsed = std::from_chars(peer.data() + kFdPeer.size(), end, fd);
    ucred cred{};
    socklen_t len = sizeof cred;
    if (parsed.ec != std::errc() || parsed.ptr != end ||
        ::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1) {
        return host_failure("cannot tell who is calling on " + peer + ": " + std::strerror(errno));
    }
    owner.mutable_local()->set_uid(cred.uid);
    owner.mutable_local()->set_gid(cred.gid);
    return owner;
}

}  // namespace vmruntime::server
