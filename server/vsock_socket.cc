// SPDX-License-Identifier: BSD-2-Clause
#include "server/vsock_socket.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "server/fs_identity.h"
#include "server/status.h"

namespace vmruntime::server {
namespace {

constexpr int kBacklog = 64;

// Runs `fn` with the filesystem rights of `rights`; false if the daemon
// cannot take them.
template <typename Fn>
bool as_owner(const FileRights& rights, Fn&& fn)
{
    if (rights.kind != FileRights::Kind::kUser) {
        fn();
        return true;
    }
    ThreadFsIdentity identity(rights.uid, rights.gid);
    if (!identity.ok()) {
        return false;
    }
    fn();
    return true;
}

sockaddr_un address_of(const std::string& path)
{
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, path.c_str(), path.size() + 1);  // the caller checked its length
    return address;
}

base::UniqueFd stream_socket()
{
    return base::UniqueFd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
}

int connect_to(int fd, const std::string& path)
{
    const sockaddr_un address = address_of(path);
    return ::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address);
}

// A socket at `path` that nobody listens on any more (a daemon killed
// before it could remove it) is removed; errno as bind's otherwise.
bool remove_stale(const std::string& path)
{
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode)) {
        errno = EADDRINUSE;
        return false;
    }
    base::UniqueFd probe = stream_socket();
    if (!probe || connect_to(probe.get(), path) == 0 || errno != ECONNREFUSED) {
        errno = EADDRINUSE;
        return false;
    }
    return ::unlink(path.c_str()) == 0;
}

// Binds and listens on `path`, the socket's file readable and writable by
// its owner only, whatever the daemon's umask; errno on failure.
base::UniqueFd listen_on(const std::string& path)
{
    base::UniqueFd fd = stream_socket();
    if (!fd || ::fchmod(fd.get(), 0600) != 0) {  // the bound file takes the socket's mode
        return base::UniqueFd();
    }
    const sockaddr_un address = address_of(path);
    const auto* bound = reinterpret_cast<const sockaddr*>(&address);
    int ok = ::bind(fd.get(), bound, sizeof address);
    if (ok != 0 && errno == EADDRINUSE && remove_stale(path)) {
        ok = ::bind(fd.get(), bound, sizeof address);
    }
    if (ok != 0 || ::listen(fd.get(), kBacklog) != 0) {
        const int err = errno;
        fd.reset();
        errno = err;
    }
    return fd;
}

// A connection to the socket at `path` (not through a symbolic link),
// which must belong to the machine's owner; none otherwise.  A listener
// learns its peer from the connecting process's credentials, which are the
// daemon's whatever the thread's filesystem identity: connecting only to
// the owner's own sockets keeps a guest from reaching other host services
// with the daemon's identity.
base::UniqueFd connect_owned(const std::string& path, const FileRights& rights)
{
    base::UniqueFd file(::open(path.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    struct stat st;
    if (!file || ::fstat(file.get(), &st) != 0 || !S_ISSOCK(st.st_mode) ||
        (rights.kind == FileRights::Kind::kUser && st.st_uid != rights.uid)) {
        return {};
    }
    base::UniqueFd stream = stream_socket();
    if (!stream || connect_to(stream.get(), "/proc/self/fd/" + std::to_string(file.get())) != 0) {
        return {};  // nobody listens, or the owner may not connect: refused
    }
    return stream;
}

absl::Status bind_failure(const std::string& path, int err)
{
    const std::string why = "cannot listen on vsock socket " + path + ": " + std::strerror(err);
    if (err == ENOENT || err == ENOTDIR) return no_such_file(why);
    if (err == EACCES || err == EPERM) return file_denied(why);
    if (err == EADDRINUSE) return absl::AlreadyExistsError(why + " (another socket or file is there)");
    return bad_request(why);
}

}  // namespace

absl::StatusOr<runtime::VsockSpec> open_client_vsock(uint32_t cid, const std::string& path, const FileRights& rights)
{
    if (rights.kind == FileRights::Kind::kBeneath) {
        return file_denied("vsock socket " + path + ": a TCP client may not name host sockets");
    }
    if (path.size() + kVsockPortSuffix >= sizeof(sockaddr_un::sun_path)) {
        return bad_request("vsock socket " + path + " is too long for a Unix socket with a port appended (at most " +
                           std::to_string(sizeof(sockaddr_un::sun_path) - 1 - kVsockPortSuffix) + " bytes)");
    }
    base::UniqueFd listener;
    int err = 0;
    if (!as_owner(rights, [&] {
            listener = listen_on(path);
            err = errno;
        })) {
        return file_denied("cannot bind vsock socket " + path + " with the rights of uid " +
                           std::to_string(rights.uid) + ": the daemon may not take them");
    }
    if (!listener) {
        return bind_failure(path, err);
    }
    struct stat bound;
    if (::fstatat(AT_FDCWD, path.c_str(), &bound, AT_SYMLINK_NOFOLLOW) != 0) {
        bound = {};
    }
    runtime::VsockSpec spec;
    spec.cid = cid;
    // Removes the socket only if it is still the one bound here, not one a
    // later machine or the owner put in its place.
    spec.listener = std::shared_ptr<const base::UniqueFd>(
        new base::UniqueFd(std::move(listener)), [path, rights, bound](const base::UniqueFd* fd) {
            as_owner(rights, [&] {
                struct stat now;
                if (::lstat(path.c_str(), &now) == 0 && now.st_dev == bound.st_dev && now.st_ino == bound.st_ino) {
                    ::unlink(path.c_str());
                }
            });
            delete fd;
        });
    spec.connect = [path, rights](uint32_t port) {
        base::UniqueFd stream;
        as_owner(rights, [&] { stream = connect_owned(path + "_" + std::to_string(port), rights); });
        return stream;
    };
    return spec;
}

}  // namespace vmruntime::server
