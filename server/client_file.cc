// SPDX-License-Identifier: BSD-2-Clause
#include "server/client_file.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>

#include "server/fs_identity.h"
#include "server/status.h"
#include "vmruntime/base/unique_fd.h"

namespace vmruntime::server {
namespace {

absl::Status open_failure(const std::string& what, const std::string& path, int err)
{
    if (err == EISDIR) {  // opened for writing: the same refusal as for reading
        return bad_request(what + " " + path + " is not a regular file");
    }
    std::string why = "cannot open " + what + " " + path + ": " + std::strerror(err);
    if (err == ENOENT || err == ENOTDIR) return no_such_file(why);
    if (err == EACCES || err == EPERM) return file_denied(why);
    return bad_request(why);
}

// O_NONBLOCK: opening a FIFO with no writer, or a device, must not wait
// (a regular file ignores it).
constexpr int kOpenFlags = O_CLOEXEC | O_NOCTTY | O_NONBLOCK;

std::string join(const std::vector<std::string>& dirs)
{
    std::string text;
    for (const auto& d : dirs) {
        text += (text.empty() ? "" : ", ") + d;
    }
    return text;
}

// The part of `path` below `dir`, or nothing if `path` is not beneath it.
std::optional<std::string> below(const std::string& path, const std::string& dir)
{
    std::string prefix = dir == "/" ? dir : dir + "/";
    if (path.compare(0, prefix.size(), prefix) != 0) {
        return std::nullopt;
    }
    size_t start = path.find_first_not_of('/', prefix.size());
    return start == std::string::npos ? std::string(".") : path.substr(start);
}

// The kernel resolves the rest inside the directory: "..", absolute links
// and /proc's magic links cannot leave it (openat2, Linux 5.6).
int open_beneath(const std::string& dir, const std::string& rest, int access)
{
    base::UniqueFd dir_fd(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (dir_fd.get() == -1) {
        return -1;
    }
    open_how how{};
    how.flags = kOpenFlags | access;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    return static_cast<int>(::syscall(SYS_openat2, dir_fd.get(), rest.c_str(), &how, sizeof how));
}

// `access`: O_RDONLY or O_RDWR.
absl::StatusOr<base::UniqueFd> open_client_file(const std::string& path, const std::string& what,
                                                const FileRights& rights, int access)
{
    int fd = -1;
    int err = 0;
    switch (rights.kind) {
    case FileRights::Kind::kDaemon:
        fd = ::open(path.c_str(), kOpenFlags | access);
        err = errno;
        break;
    case FileRights::Kind::kUser: {
        ThreadFsIdentity as_user(rights.uid, rights.gid);
        if (!as_user.ok()) {
            return file_denied("cannot open " + what + " " + path + " with the rights of uid " +
                               std::to_string(rights.uid) +
                               ": the daemon may not take them (it needs CAP_SETUID and CAP_SETGID)");
        }
        fd = ::open(path.c_str(), kOpenFlags | access);
        err = errno;  // before the identity's restore can change it
        break;
    }
    case FileRights::Kind::kBeneath: {
        auto dir = std::find_if(rights.dirs.begin(), rights.dirs.end(),
                                [&](const std::string& d) { return below(path, d).has_value(); });
        if (dir == rights.dirs.end()) {
            return file_denied(what + " " + path + " is not beneath an image directory of the daemon (" +
                               (rights.dirs.empty() ? std::string("it has none") : join(rights.dirs)) +
                               "): a remote client may name only files there, or send the bytes");
        }
        fd = open_beneath(*dir, *below(path, *dir), access);
        err = errno;
        if (fd == -1 && err == EXDEV) {
            return file_denied("cannot open " + what + " " + path + ": it leads out of the image directory " +
                               *dir);
        }
        break;
    }
    }
    if (fd == -1) {
        return open_failure(what, path, err);
    }
    return base::UniqueFd(fd);
}

// As open_client_file, and then a regular file only; `st` gets its stat.
absl::StatusOr<base::UniqueFd> open_regular_client_file(const std::string& path, const std::string& what,
                                                        const FileRights& rights, int access, struct stat* st)
{
    auto opened = open_client_file(path, what, rights, access);
    if (!opened.ok()) {
        return opened.status();
    }
    if (::fstat(opened->get(), st) == -1) {
        return bad_request("cannot stat " + what + " " + path + ": " + std::strerror(errno));
    }
    if (!S_ISREG(st->st_mode)) {
        return bad_request(what + " " + path + " is not a regular file");
    }
    return opened;
}

}  // namespace

absl::StatusOr<std::vector<uint8_t>> read_client_file(const std::string& path, uint64_t max_bytes,
                                                      const std::string& what, const FileRights& rights)
{
    struct stat st;
    auto opened = open_regular_client_file(path, what, rights, O_RDONLY, &st);
    if (!opened.ok()) {
        return opened.status();
    }
    base::UniqueFd fd = std::move(*opened);
    if (static_cast<uint64_t>(st.st_size) > max_bytes) {
        return bad_request(what + " " + path + " is " + std::to_string(st.st_size) +
                           " bytes, more than the " + std::to_string(max_bytes) +
                           " bytes of the machine's memory");
    }
    // Read one byte past the bound to see a file grow past it, and past
    // st_size for files whose size stat does not know (procfs).
    constexpr size_t kChunk = 1 << 20;
    std::vector<uint8_t> bytes(std::min<uint64_t>(static_cast<uint64_t>(st.st_size), max_bytes));
    size_t done = 0;
    for (;;) {
        if (done == bytes.size()) {
            if (done > max_bytes) {
                return bad_request(what + " " + path + " is larger than the " +
                                   std::to_string(max_bytes) + " bytes of the machine's memory");
            }
            bytes.resize(std::min<uint64_t>(max_bytes + 1, done + kChunk));
        }
        ssize_t n = ::read(fd.get(), bytes.data() + done, bytes.size() - done);
        if (n == -1 && errno == EINTR) continue;
        if (n == -1) {
            return bad_request("cannot read " + what + " " + path + ": " + std::strerror(errno));
        }
        if (n == 0) break;
        done += static_cast<size_t>(n);
    }
    bytes.resize(done);
    return bytes;
}

absl::StatusOr<base::UniqueFd> open_client_disk(const std::string& path, bool read_only, const FileRights& rights)
{
    struct stat st;
    return open_regular_client_file(path, "disk", rights, read_only ? O_RDONLY : O_RDWR, &st);
}

}  // namespace vmruntime::server
