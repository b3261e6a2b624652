// SPDX-License-Identifier: BSD-2-Clause
#include "server/unix_listener.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <grpcpp/server_posix.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "vmruntime/base/log.h"

namespace vmruntime::server {

std::unique_ptr<UnixListener> UnixListener::open(const std::string& path, std::string* error)
{
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path) {
        *error = "socket path " + path + " is too long";
        return nullptr;
    }
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd == -1) {
        *error = std::string("cannot create a Unix socket: ") + std::strerror(errno);
        return nullptr;
    }
    // The socket file is born with mode 0660: no window where others may connect.
    mode_t old_mask = ::umask(0117);
    int bound = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    int bind_errno = errno;
    ::umask(old_mask);
    if (bound == -1) {
        *error = "cannot serve on " + path + ": " + std::strerror(bind_errno);
        ::close(fd);
        return nullptr;
    }
    return std::unique_ptr<UnixListener>(new UnixListener(fd));
}

UnixListener::~UnixListener()
{
    stopping_.store(true);
    // Wakes the accept() in progress: it fails with EINVAL from now on.
    ::shutdown(fd_, SHUT_RDWR);
    if (thread_.joinable()) {
        thread_.join();
    }
    ::close(fd_);
}

// Not listening before: a client that can connect finds every port served.
bool UnixListener::serve(grpc::Server& server, std::string* error)
{
    if (::listen(fd_, SOMAXCONN) == -1) {
        *error = std::string("cannot listen on the Unix socket: ") + std::strerror(errno);
        return false;
    }
    thread_ = std::thread([this, &server] { accept_loop(server); });
    return true;
}

void UnixListener::accept_loop(grpc::Server& server)
{
    while (!stopping_.load()) {
        // gRPC polls the connection: it must not block.
        int conn = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (conn != -1) {
            grpc::AddInsecureChannelFromFd(&server, conn);  // gRPC owns conn now
            continue;
        }
        if (stopping_.load()) {
            break;
        }
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
            // Out of descriptors: the pending client waits in the backlog
            // while other connections close, instead of a busy loop.
            base::log_warn("vmruntimed", "cannot accept a connection: ", std::strerror(errno));
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
    }
}

}  // namespace vmruntime::server
