// SPDX-License-Identifier: BSD-2-Clause
//
// The bytes of a snapshot's state file (docs/snapshot.md): named sections,
// one per vCPU and per device, behind a magic, a format version and a
// CRC-32C of the whole.  What goes into a section is its owner's business;
// this file only frames and checks them, so that a torn or foreign file is
// refused before any device sees a byte of it.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>


namespace vmruntime::runtime {

inline constexpr uint32_t kSnapshotVersion = 1;
// A state file is a few KiB per vCPU; anything near this is not one.
inline constexpr size_t kMaxSnapshotStateBytes = 16U << 20;

// Why a snapshot was refused: its files are not there; they may not be
// read; they are damaged; they are not of this format version; they are of
// another machine shape than asked for.
enum class SnapshotDefect { None, Missing, Denied, Corrupt, Foreign, Mismatch };

class SnapshotSections {
public:
    void add(std::string name, std::vector<uint8_t> bytes) { sections_.emplace_back(std::move(name), std::move(bytes)); }
    // The section called `name`, or nullptr.
    const std::vector<uint8_t>* find(std::string_view name) const;
    const std::vector<std::pair<std::string, std::vector<uint8_t>>>& all() const { return sections_; }

    std::vector<uint8_t> encode() const;
    // Replaces the sections with those of `file`.  Foreign: the magic or
    // the version is not ours; Corrupt: anything else wrong.
    SnapshotDefect decode(std::span<const uint8_t> file, std::string* error);

private:
    std::vector<std::pair<std::string, std::vector<uint8_t>>> sections_;
};

uint32_t crc32c(std::span<const uint8_t> bytes);

}  // namespace vmruntime::runtime
