// SPDX-License-Identifier: BSD-2-Clause
//
// The snapshots this daemon wrote, the last 1000 remembered in
// <state-dir>/snapshots.json for ListSnapshots: where each is, of which
// machine, when, by whom, and its shape.
// The files are their callers', who may move or remove them, so what they
// take on disk is looked at when they are listed, not remembered.
//
// Threads: any.
#pragma once

#include <absl/status/status.h>

#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "vmruntime/v1/vmruntime.pb.h"

namespace vmruntime::server {

class SnapshotIndex {
public:
    explicit SnapshotIndex(std::filesystem::path file) : file_(std::move(file)) {}

    // Reads the file; none is an empty index.  An unreadable one is
    // logged and replaced at the next record().
    void load();
    // Remembers `info` (its listing-only fields cleared), replacing what
    // was remembered of the same directory.
    absl::Status record(v1::SnapshotInfo info);
    // Sorted by directory.
    std::vector<v1::SnapshotInfo> list() const;

private:
    std::filesystem::path file_;
    mutable std::mutex mutex_;
    std::map<std::string, v1::SnapshotInfo> by_dir_;
};

}  // namespace vmruntime::server
