// SPDX-License-Identifier: BSD-2-Clause
#include "vmruntime/dev/virtio_blk.h"

#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>

namespace vmruntime::dev {
namespace {

constexpr uint32_t kTypeIn = 0, kTypeOut = 1, kTypeFlush = 4, kTypeGetId = 8, kTypeDiscard = 11;
constexpr uint8_t kStatusOk = 0, kStatusIoErr = 1, kStatusUnsupported = 2;
constexpr size_t kHeaderSize = 16, kIdSize = 20, kDiscardRangeSize = 16;

// struct virtio_blk_config, up to the discard fields.
constexpr size_t kConfigSize = 48;
constexpr size_t kConfigCapacity = 0, kConfigSegMax = 12, kConfigMaxDiscardSectors = 36,
                 kConfigMaxDiscardSeg = 40, kConfigDiscardAlignment = 44;
constexpr uint32_t kMaxDiscardSegments = 32;
constexpr uint32_t kDiscardAlignmentSectors = 8;  // 4 KiB, the host's block

template <typename T>
void put(std::vector<uint8_t>& bytes, size_t offset, T value)
{
    std::memcpy(bytes.data() + offset, &value, sizeof value);
}

uint64_t size_of(const std::vector<std::span<uint8_t>>& parts)
{
    uint64_t total = 0;
    for (auto p : parts) total += p.size();
    return total;
}

// Moves the first out.size() bytes of `parts` into `out`, dropping them
// from `parts`; false if there are fewer.
bool take(std::vector<std::span<uint8_t>>& parts, std::span<uint8_t> out)
{
    size_t done = 0, used = 0;
    while (done < out.size() && used < parts.size()) {
        std::span<uint8_t>& p = parts[used];
        const size_t n = std::min(p.size(), out.size() - done);
        std::memcpy(out.data() + done, p.data(), n);
        done += n;
        p = p.subspan(n);
        if (p.empty()) used++;
    }
    parts.erase(parts.begin(), parts.begin() + static_cast<ptrdiff_t>(used));
    return done == out.size();
}

}  // namespace

VirtioBlk::VirtioBlk(int fd, uint64_t bytes, bool read_only, std::string id)
    : fd_(fd), sectors_(bytes / kSectorSize), read_only_(read_only), id_(std::move(id)),
      config_(kConfigSize)
{
    put<uint64_t>(config_, kConfigCapacity, sectors_);
    // Two descriptors of a chain are the header and the status.
    put<uint32_t>(config_, kConfigSegMax, kQueueSize - 2);
    put<uint32_t>(config_, kConfigMaxDiscardSectors, std::numeric_limits<uint32_t>::max());
    put<uint32_t>(config_, kConfigMaxDiscardSeg, kMaxDiscardSegments);
    put<uint32_t>(config_, kConfigDiscardAlignment, kDiscardAlignmentSectors);
}

uint64_t VirtioBlk::device_features() const
{
    return kFeatureSegMax | kFeatureFlush | (read_only_ ? kFeatureRo : kFeatureDiscard);
}

void VirtioBlk::activate(std::span<Virtqueue*> queues, uint64_t, VirtioLink& link)
{
    queue_ = queues.empty() ? nullptr : queues[0];
    link_ = &link;
}

void VirtioBlk::reset()
{
    queue_ = nullptr;
    link_ = nullptr;
}

void VirtioBlk::notify(unsigned index)
{
    if (index != 0 || !queue_) {
        return;
    }
    bool interrupt = false;
    while (auto chain = queue_->pop()) {
        interrupt |= queue_->push(chain->head, serve(*chain));
    }
    // One interrupt for the whole batch.
    if (interrupt) {
        link_->used();
    }
    if (queue_->broken()) {
        link_->needs_reset();
    }
}

// One request: a 16-byte header in the readable part, the status byte at
// the very end of the writable part, the data in between.  Returns the
// bytes written into the chain.
uint32_t VirtioBlk::serve(const Virtqueue::Chain& chain)
{
    Parts readable, writable;
    for (const auto& s : chain.segments) {
        (s.device_writable ? writable : readable).push_back(s.bytes);
    }
    if (writable.empty()) {
        return 0;  // nowhere to say how it went: the driver broke the protocol
    }
    uint8_t& status = writable.back().back();
    writable.back() = writable.back().first(writable.back().size() - 1);
    if (writable.back().empty()) {
        writable.pop_back();
    }
    uint8_t header[kHeaderSize];
    if (!take(readable, header)) {
        status = kStatusIoErr;
        return 1;
    }
    uint32_t type;
    uint64_t sector;
    std::memcpy(&type, header, sizeof type);
    std::memcpy(&sector, header + 8, sizeof sector);
    switch (type) {
    case kTypeIn:
        status = transfer(false, sector, writable);
        return status == kStatusOk ? static_cast<uint32_t>(size_of(writable)) + 1 : 1;
    case kTypeOut:
        status = read_only_ ? kStatusIoErr : transfer(true, sector, readable);
        return 1;
    case kTypeFlush:
        status = flush();
        return 1;
    case kTypeGetId: {
        // NUL-padded, not NUL-terminated when all 20 bytes are used.
        uint8_t id[kIdSize] = {};
        std::memcpy(id, id_.data(), std::min(id_.size(), kIdSize));
        Parts source{std::span<uint8_t>(id)};
        const uint32_t n = static_cast<uint32_t>(std::min<uint64_t>(size_of(writable), kIdSize));
        for (auto p : writable) {
            take(source, p.first(std::min<size_t>(p.size(), size_of(source))));
        }
        status = kStatusOk;
        return n + 1;
    }
    case kTypeDiscard:
        status = read_only_ ? kStatusIoErr : discard(readable);
        return 1;
    default:
        status = kStatusUnsupported;
        return 1;
    }
}

bool VirtioBlk::in_disk(uint64_t sector, uint64_t bytes) const
{
    return bytes % kSectorSize == 0 && sector <= sectors_ && bytes / kSectorSize <= sectors_ - sector;
}

// The whole transfer or IOERR: a short read (the file shrank under us) or
// a failed write is the guest's I/O error, never the daemon's.
uint8_t VirtioBlk::transfer(bool write, uint64_t sector, const Parts& data)
{
    const uint64_t total = size_of(data);
    if (!in_disk(sector, total)) {
        return kStatusIoErr;
    }
    std::vector<iovec> iov;
    iov.reserve(data.size());
    for (auto p : data) {
        iov.push_back({p.data(), p.size()});
    }
    off_t offset = static_cast<off_t>(sector * kSectorSize);
    size_t first = 0;
    while (first < iov.size()) {
        const int count = static_cast<int>(std::min<size_t>(iov.size() - first, IOV_MAX));
        ssize_t n = write ? ::pwritev(fd_, &iov[first], count, offset) : ::preadv(fd_, &iov[first], count, offset);
        if (n == -1 && errno == EINTR) continue;
        if (n <= 0) {
            return kStatusIoErr;
        }
        offset += n;
        for (size_t left = static_cast<size_t>(n); left > 0;) {
            const size_t step = std::min(left, iov[first].iov_len);
            iov[first].iov_base = static_cast<uint8_t*>(iov[first].iov_base) + step;
            iov[first].iov_len -= step;
            left -= step;
            if (iov[first].iov_len == 0) first++;
        }
        while (first < iov.size() && iov[first].iov_len == 0) first++;
    }
    return kStatusOk;
}

uint8_t VirtioBlk::flush()
{
    if (read_only_) {
        return kStatusOk;
    }
    int r;
    do {
        r = ::fdatasync(fd_);
    } while (r == -1 && errno == EINTR);
    return r == 0 ? kStatusOk : kStatusIoErr;
}

// Each range: le64 sector, le32 sectors, le32 flags.
uint8_t VirtioBlk::discard(Parts& ranges)
{
    if (size_of(ranges) % kDiscardRangeSize != 0 || size_of(ranges) / kDiscardRangeSize > kMaxDiscardSegments) {
        return kStatusIoErr;
    }
    uint8_t range[kDiscardRangeSize];
    while (take(ranges, range)) {
        uint64_t sector;
        uint32_t count;
        std::memcpy(&sector, range, sizeof sector);
        std::memcpy(&count, range + 8, sizeof count);
        if (!in_disk(sector, uint64_t{count} * kSectorSize)) {
            return kStatusIoErr;
        }
        if (::fallocate(fd_, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(sector * kSectorSize),
                        static_cast<off_t>(uint64_t{count} * kSectorSize)) == -1) {
            return errno == EOPNOTSUPP ? kStatusUnsupported : kStatusIoErr;
        }
    }
    return kStatusOk;
}

}  // namespace vmruntime::dev
