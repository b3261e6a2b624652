// SPDX-License-Identifier: BSD-2-Clause
//
// Reading a file a client named (an image, a kernel, an initrd, a disk) with the
// care a daemon that may run as root owes its host: the open never blocks
// (a FIFO or a device node is refused, not waited on), only a regular file
// is read, never more than a bound, and only with the rights of the client
// it is read for.
#pragma once

#include <absl/status/statusor.h>
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "vmruntime/base/unique_fd.h"

namespace vmruntime::server {

// With whose rights, and from where, a file is opened.
struct FileRights {
    enum class Kind {
        kDaemon,   // the daemon's own rights
        kUser,     // a local user's: fsuid, fsgid and supplementary groups
        kBeneath,  // the daemon's rights, but only beneath one of `dirs`
    };
    Kind kind = Kind::kDaemon;
    uid_t uid = 0;  // kUser
    gid_t gid = 0;  // kUser
    // kBeneath: absolute directories without symbolic links (canonical).
    std::vector<std::string> dirs;

    static FileRights daemon() { return {}; }
    static FileRights user(uid_t uid, gid_t gid) { return {Kind::kUser, uid, gid, {}}; }
    static FileRights beneath(std::vector<std::string> dirs) { return {Kind::kBeneath, 0, 0, std::move(dirs)}; }
};

// The bytes of `path`, at most `max_bytes` of them, opened as `rights`
// allow.  `what` names the file in messages ("image", "initrd").  NOT_FOUND
// if it does not exist, PERMISSION_DENIED if `rights` may not read it (or
// reach it: a path outside the directories, a link leading out of them),
// INVALID_ARGUMENT if it is not a regular file, is larger than `max_bytes`
// or cannot be read; every message names the path.
absl::StatusOr<std::vector<uint8_t>> read_client_file(const std::string& path, uint64_t max_bytes,
                                                      const std::string& what, const FileRights& rights);

// A disk image for a machine: `path` opened for reading, and for writing
// unless `read_only`, as `rights` allow; a regular file only.  Errors as
// read_client_file's (PERMISSION_DENIED also when `rights` may read but
// not write it).
absl::StatusOr<base::UniqueFd> open_client_disk(const std::string& path, bool read_only, const FileRights& rights);

}  // namespace vmruntime::server
