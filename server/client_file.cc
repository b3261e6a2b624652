// SPDX-License-Identifier: BSD-2-Clause
#include "server/client_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "server/status.h"

namespace vmruntime::server {
namespace {

absl::Status open_failure(const std::string& what, const std::string& path, int err)
{
    std::string why = "cannot open " + what + " " + path + ": " + std::strerror(err);
    if (err == ENOENT || err == ENOTDIR) return no_such_file(why);
    if (err == EACCES || err == EPERM) return file_denied(why);
    return bad_request(why);
}

class Fd {
public:
    explicit Fd(int fd) : fd_(fd) {}
    ~Fd()
    {
        if (fd_ != -1) ::close(fd_);
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    int get() const { return fd_; }

private:
    int fd_;
};

}  // namespace

absl::StatusOr<std::vector<uint8_t>> read_client_file(const std::string& path, uint64_t max_bytes,
                                                      const std::string& what)
{
    // O_NONBLOCK: opening a FIFO with no writer, or a device, must not wait.
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
    if (fd.get() == -1) {
        return open_failure(what, path, errno);
    }
    struct stat st;
    if (::fstat(fd.get(), &st) == -1) {
        return bad_request("cannot stat " + what + " " + path + ": " + std::strerror(errno));
    }
    if (!S_ISREG(st.st_mode)) {
        return bad_request(what + " " + path + " is not a regular file");
    }
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

}  // namespace vmruntime::server
