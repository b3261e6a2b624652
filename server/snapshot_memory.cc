// SPDX-License-Identifier: BSD-2-Clause
#include "server/snapshot_memory.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "server/status.h"

namespace vmruntime::server {
namespace {

int64_t nanoseconds(const timespec& t)
{
    return int64_t{t.tv_sec} * 1'000'000'000 + t.tv_nsec;
}

// [from, to) of `in` into the same place of `out`, through the kernel.
bool copy_range(int in, int out, off_t from, off_t to)
{
    while (from < to) {
        off_t at = from;
        ssize_t n = copy_file_range(in, &at, out, &at, static_cast<size_t>(to - from), 0);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            errno = n == 0 ? ESTALE : errno;  // shorter than it was: truncated under us
            return false;
        }
        from += n;
    }
    return true;
}

// The data of `in` only: its holes stay holes in `out`.
bool copy_data(int in, int out, off_t size)
{
    for (off_t at = 0; at < size;) {
        off_t data = lseek(in, at, SEEK_DATA);
        if (data == -1) {
            return errno == ENXIO;  // no data after `at`
        }
        off_t hole = lseek(in, data, SEEK_HOLE);
        if (hole == -1 || !copy_range(in, out, data, std::min(hole, size))) {
            return false;
        }
        at = hole;
    }
    return true;
}

}  // namespace

absl::StatusOr<std::shared_ptr<const base::UniqueFd>> SnapshotMemory::copy_of(int file)
{
    struct stat st {};
    if (fstat(file, &st) == -1) {
        return host_failure(errno_text("snapshot memory"));
    }
    const Key key{st.st_dev, st.st_ino, st.st_size, nanoseconds(st.st_mtim), nanoseconds(st.st_ctim)};
    std::lock_guard lock(mutex_);
    if (auto known = copies_[key].lock()) {
        return known;
    }
    auto made = copy(file, st.st_size);
    if (!made.ok()) {
        return made.status();
    }
    auto shared = std::make_shared<const base::UniqueFd>(*std::move(made));
    copies_[key] = shared;
    std::erase_if(copies_, [](const auto& entry) { return entry.second.expired(); });
    return shared;
}

absl::StatusOr<base::UniqueFd> SnapshotMemory::copy(int file, off_t size)
{
    base::UniqueFd out(::open(dir_.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
    if (!out) {
        return host_failure(errno_text("a copy of snapshot memory in " + dir_.string()));
    }
    struct stat after {};
    if (ftruncate(out.get(), size) == -1 || !copy_data(file, out.get(), size)) {
        if (errno == ESTALE) {
            return corrupt_snapshot("the snapshot's memory file changed while the daemon copied it");
        }
        return host_failure(errno_text("copying snapshot memory"));
    }
    if (fstat(file, &after) == -1 || after.st_size != size) {
        return corrupt_snapshot("the snapshot's memory file changed while the daemon copied it");
    }
    return out;
}

}  // namespace vmruntime::server
