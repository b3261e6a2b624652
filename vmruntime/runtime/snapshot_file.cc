// SPDX-License-Identifier: BSD-2-Clause
#include "vmruntime/runtime/snapshot_file.h"

#include <array>
#include <cstring>

#include "vmruntime/dev/device_state.h"

namespace vmruntime::runtime {
namespace {

constexpr std::array<uint8_t, 8> kMagic = {'V', 'M', 'R', 'S', 'N', 'A', 'P', 0};
constexpr size_t kMaxSections = 1024;
constexpr size_t kMaxNameBytes = 64;
constexpr size_t kCrcBytes = 4;

// CRC-32C (Castagnoli, reflected polynomial 0x82f63b78), as iSCSI and ext4 use.
constexpr std::array<uint32_t, 256> make_crc_table()
{
    std::array<uint32_t, 256> table{};
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) {
            c = (c & 1) ? (c >> 1) ^ 0x82f63b78U : c >> 1;
        }
        table[i] = c;
    }
    return table;
}

constexpr std::array<uint32_t, 256> kCrcTable = make_crc_table();

}  // namespace

uint32_t crc32c(std::span<const uint8_t> bytes)
{
    uint32_t crc = ~0U;
    for (uint8_t b : bytes) {
        crc = kCrcTable[(crc ^ b) & 0xff] ^ (crc >> 8);
    }
    return ~crc;
}

const std::vector<uint8_t>* SnapshotSections::find(std::string_view name) const
{
    for (const auto& [n, bytes] : sections_) {
        if (n == name) {
            return &bytes;
        }
    }
    return nullptr;
}

std::vector<uint8_t> SnapshotSections::encode() const
{
    dev::StateWriter out;
    out.put_bytes(kMagic);
    out.put(kSnapshotVersion);
    out.put(static_cast<uint32_t>(sections_.size()));
    for (const auto& [name, bytes] : sections_) {
        out.put(static_cast<uint8_t>(name.size()));
        out.put_bytes({reinterpret_cast<const uint8_t*>(name.data()), name.size()});
        out.put(static_cast<uint32_t>(bytes.size()));
        out.put_bytes(bytes);
    }
    out.put(crc32c(out.bytes()));
    return out.bytes();
}

SnapshotDefect SnapshotSections::decode(std::span<const uint8_t> file, std::string* error)
{
    sections_.clear();
    std::array<uint8_t, kMagic.size()> magic{};
    if (file.size() < magic.size() + 4 || std::memcmp(file.data(), kMagic.data(), kMagic.size()) != 0) {
        *error = "not a vmruntime snapshot (bad magic)";
        return SnapshotDefect::Foreign;
    }
    dev::StateReader in(file.subspan(magic.size()));
    if (uint32_t version = in.get<uint32_t>(); version != kSnapshotVersion) {
        *error = "snapshot format version " + std::to_string(version) + ", this vmruntime reads version " +
                 std::to_string(kSnapshotVersion);
        return SnapshotDefect::Foreign;
    }
    if (file.size() < magic.size() + 4 + kCrcBytes ||
        crc32c(file.first(file.size() - kCrcBytes)) !=
            dev::StateReader(file.last(kCrcBytes)).get<uint32_t>()) {
        *error = "snapshot state is corrupt (checksum mismatch)";
        return SnapshotDefect::Corrupt;
    }
    dev::StateReader body(file.subspan(magic.size() + 4, file.size() - magic.size() - 4 - kCrcBytes));
    const uint32_t count = body.get<uint32_t>();
    for (uint32_t i = 0; i < count && body.check(count <= kMaxSections); i++) {
        std::string name(body.get<uint8_t>(), '\0');
        body.check(name.size() <= kMaxNameBytes);
        body.get_bytes({reinterpret_cast<uint8_t*>(name.data()), name.size()});
        const auto length = body.get<uint32_t>();
        if (!body.check(length <= file.size())) {
            break;
        }
        std::vector<uint8_t> bytes(length);
        if (!body.get_bytes(bytes)) {
            break;
        }
        sections_.emplace_back(std::move(name), std::move(bytes));
    }
    if (!body.done()) {
        sections_.clear();
        *error = "snapshot state is corrupt (bad section framing)";
        return SnapshotDefect::Corrupt;
    }
    return SnapshotDefect::None;
}

}  // namespace vmruntime::runtime
