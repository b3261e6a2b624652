// SPDX-License-Identifier: BSD-2-Clause
//
// The machines' specs on disk, in <state-dir>/machines: NAME.json, and the
// bytes a client uploaded beside it as NAME.image and NAME.initrd (the JSON
// carries them as empty bytes).  Every file is written atomically, the JSON
// last, so a spec on disk always has its bytes, and removed JSON first.
// Large uploads thus never pass through the JSON encoder.
//
// Threads: any; calls for different names do not interfere.
#pragma once

#include <absl/status/status.h>

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "vmruntime/v1/vmruntime.pb.h"

namespace vmruntime::server {

// Writes `text` to `path` so that a crash leaves the old file or the new
// one, never a mix: temp file, fsync, rename, fsync of the directory.
absl::Status write_atomically(const std::filesystem::path& path, std::string_view text);

class SpecStore {
public:
    explicit SpecStore(std::filesystem::path dir);

    // Creates the directory if needed, removes what an interrupted write or
    // delete left (temporary files, uploads no spec refers to) and returns
    // the specs found, bytes included.  Unreadable ones are logged and
    // skipped.
    absl::Status load(std::vector<v1::MachineSpec>* specs) const;

    // Writes `spec` (whose name is valid), replacing any earlier version.
    // The spec is unchanged on return.
    absl::Status save(v1::MachineSpec& spec) const;

    // Removes the spec of `name` and its uploads; failures are logged.
    void remove(const std::string& name) const;

    const std::filesystem::path& dir() const { return dir_; }

private:
    std::filesystem::path path(const std::string& name, const char* extension) const;
    bool read_upload(const std::string& name, const char* extension, std::string* bytes) const;
    void remove_orphans(const std::vector<v1::MachineSpec>& specs,
                        const std::vector<std::filesystem::path>& uploads) const;

    std::filesystem::path dir_;
};

}  // namespace vmruntime::server
