// SPDX-License-Identifier: BSD-2-Clause
#include "vmruntime/runtime/snapshot_dir.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

#include "vmruntime/base/errno_text.h"

namespace vmruntime::runtime {
namespace {

using base::errno_text;

constexpr const char* kStateFile = "state";
constexpr const char* kMemorySection = "memory";
constexpr std::string_view kMemoryPrefix = "memory-";
constexpr size_t kMemoryNameLength = kMemoryPrefix.size() + 16;
constexpr size_t kMemoryChunk = 64 << 10;

std::string new_memory_name()
{
    std::random_device random;
    const uint64_t nonce = uint64_t{random()} << 32 | random();
    char name[32];
    std::snprintf(name, sizeof name, "memory-%016llx", static_cast<unsigned long long>(nonce));
    return name;
}

bool is_memory_name(std::string_view name)
{
    return name.size() == kMemoryNameLength && name.substr(0, kMemoryPrefix.size()) == kMemoryPrefix &&
           std::all_of(name.begin() + kMemoryPrefix.size(), name.end(),
                       [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

SnapshotDefect open_failure(int err)
{
    if (err == EACCES || err == EPERM) {
        return SnapshotDefect::Denied;
    }
    return err == ENOENT || err == ENOTDIR ? SnapshotDefect::Missing : SnapshotDefect::Corrupt;
}

// All of a regular file no larger than kMaxSnapshotStateBytes.
bool read_state(int fd, std::vector<uint8_t>* bytes)
{
    struct stat st {};
    if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
        static_cast<uint64_t>(st.st_size) > kMaxSnapshotStateBytes) {
        errno = EINVAL;
        return false;
    }
    bytes->resize(static_cast<size_t>(st.st_size));
    size_t got = 0;
    while (got < bytes->size()) {
        ssize_t n = pread(fd, bytes->data() + got, bytes->size() - got, static_cast<off_t>(got));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            errno = n == 0 ? EIO : errno;
            return false;
        }
        got += static_cast<size_t>(n);
    }
    return true;
}

bool write_all(int fd, const uint8_t* p, size_t n, off_t at)
{
    while (n > 0) {
        ssize_t done = pwrite(fd, p, n, at);
        if (done < 0 && errno == EINTR) {
            continue;
        }
        if (done <= 0) {
            return false;
        }
        p += done;
        n -= static_cast<size_t>(done);
        at += done;
    }
    return true;
}

bool all_zero(const uint8_t* p, size_t n)
{
    return p[0] == 0 && std::memcmp(p, p + 1, n - 1) == 0;
}

// Zero chunks are left as holes: the file costs the disk what the guest used.
bool write_memory(int dir, const std::string& name, std::span<const uint8_t> ram)
{
    base::UniqueFd fd(openat(dir, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!fd || ftruncate(fd.get(), static_cast<off_t>(ram.size())) == -1) {
        return false;
    }
    for (size_t at = 0; at < ram.size(); at += kMemoryChunk) {
        const size_t n = std::min(kMemoryChunk, ram.size() - at);
        if (!all_zero(ram.data() + at, n) && !write_all(fd.get(), ram.data() + at, n, static_cast<off_t>(at))) {
            return false;
        }
    }
    return fsync(fd.get()) == 0;
}

// Written beside it, synced, then renamed over it: the state is replaced
// whole or not at all.
bool write_state(int dir, const std::vector<uint8_t>& state)
{
    const std::string temp = std::string(kStateFile) + ".new";
    base::UniqueFd fd(openat(dir, temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (!fd || !write_all(fd.get(), state.data(), state.size(), 0) || fsync(fd.get()) == -1 ||
        renameat(dir, temp.c_str(), dir, kStateFile) == -1) {
        const int err = errno;
        unlinkat(dir, temp.c_str(), 0);
        errno = err;
        return false;
    }
    return fsync(dir) == 0;
}

void remove_other_memory(int dir, const std::string& keep)
{
    DIR* listing = fdopendir(dup(dir));
    if (!listing) {
        return;
    }
    while (const dirent* entry = readdir(listing)) {
        if (is_memory_name(entry->d_name) && entry->d_name != keep) {
            unlinkat(dir, entry->d_name, 0);
        }
    }
    closedir(listing);
}

}  // namespace

SnapshotDefect SnapshotFiles::open(const std::string& dir, SnapshotFiles* files, std::string* error)
{
    base::UniqueFd dirfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dirfd) {
        *error = errno_text("snapshot " + dir, errno);
        return open_failure(errno);
    }
    base::UniqueFd state(openat(dirfd.get(), kStateFile, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
    std::vector<uint8_t> bytes;
    if (!state || !read_state(state.get(), &bytes)) {
        *error = errno_text("snapshot " + dir + ": state", errno);
        return open_failure(errno);
    }
    if (SnapshotDefect d = files->sections.decode(bytes, error); d != SnapshotDefect::None) {
        return d;
    }
    const std::vector<uint8_t>* named = files->sections.find(kMemorySection);
    const std::string memory = named ? std::string(named->begin(), named->end()) : "";
    if (!is_memory_name(memory)) {
        *error = "snapshot " + dir + ": the state names no memory file";
        return SnapshotDefect::Corrupt;
    }
    files->memory = std::make_shared<const base::UniqueFd>(
        openat(dirfd.get(), memory.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
    if (!*files->memory) {
        *error = errno_text("snapshot " + dir + ": " + memory, errno);
        return open_failure(errno);
    }
    return SnapshotDefect::None;
}

bool write_snapshot(const std::string& dir, SnapshotSections& sections, std::span<const uint8_t> ram,
                    std::string* error)
{
    if (mkdir(dir.c_str(), 0700) == -1 && errno != EEXIST) {
        *error = errno_text("snapshot: " + dir, errno);
        return false;
    }
    base::UniqueFd dirfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dirfd) {
        *error = errno_text("snapshot: " + dir, errno);
        return false;
    }
    const std::string memory = new_memory_name();
    sections.add(kMemorySection, std::vector<uint8_t>(memory.begin(), memory.end()));
    if (!write_memory(dirfd.get(), memory, ram)) {
        *error = errno_text("snapshot: writing " + dir + "/" + memory, errno);
        unlinkat(dirfd.get(), memory.c_str(), 0);
        return false;
    }
    if (!write_state(dirfd.get(), sections.encode())) {
        *error = errno_text("snapshot: writing " + dir + "/state", errno);
        unlinkat(dirfd.get(), memory.c_str(), 0);
        return false;
    }
    remove_other_memory(dirfd.get(), memory);
    return true;
}

}  // namespace vmruntime::runtime
