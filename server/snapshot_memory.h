// SPDX-License-Identifier: BSD-2-Clause
//
// The daemon's own copies of snapshots' memory files.  A restored machine's
// RAM maps its memory file copy-on-write; were that the client's file, the
// client could truncate it, and the daemon's next touch of a page the guest
// had not written (a register dump's code bytes, a snapshot, ReadMemory)
// would fault it with SIGBUS.  So the daemon maps a copy no client can
// reach: an unnamed file in its state directory, made once per memory file
// and shared by every machine restored from it, so that each still costs
// only the pages it writes.  A copy goes when the last machine mapping it
// does.
//
// Threads: any.
#pragma once

#include <absl/status/statusor.h>
#include <sys/stat.h>

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <tuple>

#include "vmruntime/base/unique_fd.h"

namespace vmruntime::server {

class SnapshotMemory {
public:
    explicit SnapshotMemory(std::filesystem::path dir) : dir_(std::move(dir)) {}

    // The daemon's copy of the memory file open as `file` (regular, as a
    // client's rights opened it): found, or made now.  DATA_LOSS if the
    // file changes under the copy.
    absl::StatusOr<std::shared_ptr<const base::UniqueFd>> copy_of(int file);

private:
    // A file as it was when copied: another inode, size or change time is
    // another file.
    using Key = std::tuple<dev_t, ino_t, off_t, int64_t, int64_t>;

    absl::StatusOr<base::UniqueFd> copy(int file, off_t size);

    std::filesystem::path dir_;
    std::mutex mutex_;
    std::map<Key, std::weak_ptr<const base::UniqueFd>> copies_;
};

}  // namespace vmruntime::server
