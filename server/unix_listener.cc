// SPDX-License-Identifier: BSD-2-Clause
#include "server/unix_listener.h"

#include <fcntl.h>
#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <grpcpp/server_posix.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <vector>

#include "vmruntime/base/errno_text.h"
#include "vmruntime/base/log.h"
#include "vmruntime/base/unique_fd.h"

namespace vmruntime::server {
namespace {

constexpr mode_t kGroupDirMode = 0750;

// Creates `dir` and the directories missing above it; with `group`, each
// one it creates gets that group and kGroupDirMode (set on the descriptor:
// no path a link could redirect).  One that exists stays as it is, even
// when it appears meanwhile.
bool make_dirs(const std::filesystem::path& dir, std::optional<gid_t> group, std::string* error)
{
    struct stat st {};
    if (dir.empty() || ::stat(dir.c_str(), &st) == 0) {
        return true;
    }
    if (!make_dirs(dir.parent_path(), group, error)) {
        return false;
    }
    if (::mkdir(dir.c_str(), group ? kGroupDirMode : 0777) != 0) {
        if (errno == EEXIST) {
            return true;
        }
        *error = base::errno_text("cannot create " + dir.string(), errno);
        return false;
    }
    if (!group) {
        return true;
    }
    base::UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd || ::fchown(fd.get(), static_cast<uid_t>(-1), *group) != 0 || ::fchmod(fd.get(), kGroupDirMode) != 0) {
        *error = base::errno_text("cannot give " + dir.string() + " group " + std::to_string(*group), errno);
        return false;
    }
    return true;
}

// Whether members of `group` may pass through `dir` and every directory
// above it (as far as the mode bits tell: not ACLs).
bool group_reaches(std::filesystem::path dir, gid_t group)
{
    for (;; dir = dir.parent_path()) {
        struct stat st {};
        if (::stat(dir.c_str(), &st) != 0) {
            return false;
        }
        const bool passes = (st.st_mode & S_IXOTH) != 0 || (st.st_gid == group && (st.st_mode & S_IXGRP) != 0);
        if (!passes) {
            return false;
        }
        if (dir == dir.parent_path()) {
            return true;
        }
    }
}

// The socket file gets `group` by its path, since fchown() of a socket
// changes the socket, not the file; lchown() follows no link.
bool give_group(const std::string& path, gid_t group, std::string* error)
{
    if (::lchown(path.c_str(), static_cast<uid_t>(-1), group) != 0) {
        *error = base::errno_text("cannot give " + path + " group " + std::to_string(group), errno);
        return false;
    }
    const std::filesystem::path dir = std::filesystem::absolute(path).parent_path();
    if (!group_reaches(dir, group)) {
        base::log_warn("vmruntimed", "group ", group, " cannot reach ", dir.string(),
                       ": the daemon leaves directories it did not create as they are");
    }
    return true;
}

}  // namespace

bool parse_group(const std::string& text, gid_t* gid, std::string* error)
{
    const char* end = text.data() + text.size();
    if (auto [at, ec] = std::from_chars(text.data(), end, *gid); ec == std::errc() && at == end) {
        // (gid_t)-1 is chown()'s "leave the group as it is".
        if (*gid == static_cast<gid_t>(-1)) {
            *error = "gid " + text + " is not a group";
            return false;
        }
        return true;
    }
    group grp{};
    group* found = nullptr;
    std::vector<char> buf(4096);
    int err = 0;
    while ((err = ::getgrnam_r(text.c_str(), &grp, buf.data(), buf.size(), &found)) == ERANGE) {
        buf.resize(buf.size() * 2);
    }
    if (found == nullptr) {
        *error = "unknown group '" + text + "'" + (err != 0 ? std::string(": ") + std::strerror(err) : "") +
                 ": give a group name or a numeric gid";
        return false;
    }
    *gid = grp.gr_gid;
    return true;
}

std::unique_ptr<UnixListener> UnixListener::open(const std::string& path, std::optional<gid_t> group,
                                                 std::string* error)
{
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path) {
        *error = "socket path " + path + " is too long";
        return nullptr;
    }
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    if (!make_dirs(std::filesystem::path(path).parent_path(), group, error)) {
        return nullptr;
    }
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
    if (group && !give_group(path, *group, error)) {
        ::unlink(path.c_str());
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
