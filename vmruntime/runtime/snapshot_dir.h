// SPDX-License-Identifier: BSD-2-Clause
//
// A snapshot's directory (docs/snapshot.md): `state`, the checksummed state
// file, and the memory file it names, `memory-` and 16 hex digits, new at
// each snapshot.  The state names its memory so that the two always go
// together: a snapshot taken again into the same directory writes a new
// memory file first and then replaces the state, so a crash in between
// leaves the old pair whole (and an orphan the next snapshot removes).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "vmruntime/base/unique_fd.h"
#include "vmruntime/runtime/snapshot_file.h"

namespace vmruntime::runtime {

// A snapshot's files, read and opened: the state's sections, checked, and
// its memory file, open for reading.  Opening is apart from restoring so
// that a caller can open them with someone else's rights (the daemon opens
// them as its client).
struct SnapshotFiles {
    SnapshotSections sections;
    // Shared: a restored machine keeps the file its RAM maps, and a caller
    // may put its own copy here.
    std::shared_ptr<const base::UniqueFd> memory;

    // Missing: the directory or a file is not there; Denied: one may not be
    // read; Foreign or Corrupt as the state's framing says.  `error` names
    // the file.
    static SnapshotDefect open(const std::string& dir, SnapshotFiles* files, std::string* error);
};

// Writes `sections` and `ram` into `dir` (created if missing), the memory
// with holes where it is zero, each file synced before the state commits
// the pair; then removes the memory files no state names any more.  False
// with `error` set.  Adds the section naming the memory to `sections`.
bool write_snapshot(const std::string& dir, SnapshotSections& sections, std::span<const uint8_t> ram,
                    std::string* error);

}  // namespace vmruntime::runtime
