// SPDX-License-Identifier: BSD-2-Clause
#include "server/snapshot_index.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "server/spec_store.h"
#include "server/status.h"
#include "vmruntime/base/log.h"

namespace vmruntime::server {
namespace {

// The index is rewritten whole at each snapshot: it stays small.
constexpr size_t kMaxSnapshots = 1000;

}  // namespace

void SnapshotIndex::load()
{
    std::ifstream in(file_);
    if (!in) {
        return;
    }
    std::stringstream text;
    text << in.rdbuf();
    v1::ListSnapshotsResponse stored;
    if (!google::protobuf::util::JsonStringToMessage(text.str(), &stored).ok()) {
        base::log_warn("snapshots", "cannot read ", file_.string(), ": the snapshots listed so far are forgotten");
        return;
    }
    std::lock_guard lock(mutex_);
    for (const v1::SnapshotInfo& info : stored.snapshots()) {
        by_dir_[info.dir()] = info;
    }
}

absl::Status SnapshotIndex::record(v1::SnapshotInfo info)
{
    info.clear_disk_bytes();
    info.clear_present();
    info.clear_machines();
    std::lock_guard lock(mutex_);
    by_dir_[info.dir()] = info;
    if (by_dir_.size() > kMaxSnapshots) {
        by_dir_.erase(std::min_element(by_dir_.begin(), by_dir_.end(), [](const auto& a, const auto& b) {
            return a.second.taken_at() < b.second.taken_at();
        }));
    }
    v1::ListSnapshotsResponse stored;
    for (const auto& [dir, known] : by_dir_) {
        *stored.add_snapshots() = known;
    }
    std::string json;
    google::protobuf::util::JsonPrintOptions options;
    options.add_whitespace = true;
    if (!google::protobuf::util::MessageToJsonString(stored, &json, options).ok()) {
        return host_failure("cannot encode the snapshot index " + file_.string());
    }
    return write_atomically(file_, json + "\n");
}

std::vector<v1::SnapshotInfo> SnapshotIndex::list() const
{
    std::lock_guard lock(mutex_);
    std::vector<v1::SnapshotInfo> out;
    for (const auto& [dir, info] : by_dir_) {
        out.push_back(info);
    }
    return out;
}

}  // namespace vmruntime::server
