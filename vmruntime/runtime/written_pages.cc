// SPDX-License-Identifier: BSD-2-Clause
#include "vmruntime/runtime/written_pages.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>

namespace vmruntime::runtime {
namespace {

constexpr uint64_t kPageSize = 4096;

// PAGEMAP_SCAN's ABI (include/uapi/linux/fs.h of Linux 6.7), which
// Debian 12's headers predate.
struct PageRegion {
    uint64_t start;
    uint64_t end;
    uint64_t categories;
};

struct PmScanArg {
    uint64_t size;
    uint64_t flags;
    uint64_t start;
    uint64_t end;
    uint64_t walk_end;
    uint64_t vec;
    uint64_t vec_len;
    uint64_t max_pages;
    uint64_t category_inverted;
    uint64_t category_mask;
    uint64_t category_anyof_mask;
    uint64_t return_mask;
};

constexpr unsigned long kPagemapScan = _IOWR('f', 16, PmScanArg);
constexpr uint64_t kPageIsFile = 1 << 2;
constexpr uint64_t kPageIsPresent = 1 << 3;
constexpr uint64_t kPageIsSwapped = 1 << 4;
constexpr size_t kRegionBatch = 256;

// /proc/self/pagemap's entries (Documentation/admin-guide/mm/pagemap.rst).
constexpr uint64_t kEntryPresent = 1ULL << 63;
constexpr uint64_t kEntrySwapped = 1ULL << 62;
constexpr uint64_t kEntryFileOrShared = 1ULL << 61;
constexpr size_t kEntryBatch = 4096;

// Opened once it opens: a failure (out of descriptors) is tried again.
int pagemap()
{
    static std::atomic<int> fd{-1};
    if (fd.load(std::memory_order_acquire) == -1) {
        int opened = ::open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
        int expected = -1;
        if (opened != -1 && !fd.compare_exchange_strong(expected, opened, std::memory_order_acq_rel)) {
            ::close(opened);  // another thread's open won
        }
    }
    return fd.load(std::memory_order_acquire);
}

void add(std::vector<PageRun>* runs, uint64_t first, uint64_t count)
{
    if (!runs->empty() && runs->back().first + runs->back().count == first) {
        runs->back().count += count;
    } else {
        runs->push_back({first, count});
    }
}

}  // namespace

// Written: not the file's, and either present or swapped out.
bool scan_written_pages(const void* start, uint64_t pages, std::vector<PageRun>* runs)
{
    const auto base = reinterpret_cast<uint64_t>(start);
    std::array<PageRegion, kRegionBatch> regions{};
    PmScanArg arg{};
    arg.size = sizeof arg;
    arg.start = base;
    arg.end = base + pages * kPageSize;
    arg.vec = reinterpret_cast<uint64_t>(regions.data());
    arg.vec_len = regions.size();
    arg.category_inverted = kPageIsFile;
    arg.category_mask = kPageIsFile;
    arg.category_anyof_mask = kPageIsPresent | kPageIsSwapped;
    arg.return_mask = kPageIsPresent | kPageIsSwapped;
    runs->clear();
    for (;;) {
        const int found = ioctl(pagemap(), kPagemapScan, &arg);
        if (found < 0) {
            return false;
        }
        for (int i = 0; i < found; i++) {
            add(runs, (regions[i].start - base) / kPageSize, (regions[i].end - regions[i].start) / kPageSize);
        }
        if (arg.walk_end >= arg.end) {
            return true;
        }
        arg.start = arg.walk_end;  // the vector filled up: go on from where the walk stopped
    }
}

bool read_written_pages(const void* start, uint64_t pages, std::vector<PageRun>* runs)
{
    const uint64_t first = reinterpret_cast<uint64_t>(start) / kPageSize;
    std::vector<uint64_t> entries(std::min<uint64_t>(pages, kEntryBatch));
    runs->clear();
    for (uint64_t at = 0; at < pages; at += entries.size()) {
        const size_t n = std::min<uint64_t>(entries.size(), pages - at);
        const auto bytes = static_cast<ssize_t>(n * sizeof(uint64_t));
        if (pread(pagemap(), entries.data(), n * sizeof(uint64_t), static_cast<off_t>((first + at) * sizeof(uint64_t))) !=
            bytes) {
            return false;
        }
        for (size_t i = 0; i < n; i++) {
            const uint64_t e = entries[i];
            if ((e & kEntrySwapped) || ((e & kEntryPresent) && !(e & kEntryFileOrShared))) {
                add(runs, at + i, 1);
            }
        }
    }
    return true;
}

bool find_written_pages(const void* start, uint64_t pages, std::vector<PageRun>* runs)
{
    static std::atomic<bool> have_scan{true};  // until the kernel says otherwise
    if (have_scan.load(std::memory_order_relaxed)) {
        if (scan_written_pages(start, pages, runs)) {
            return true;
        }
        if (errno == ENOTTY || errno == EINVAL) {
            have_scan.store(false, std::memory_order_relaxed);
        }
    }
    return read_written_pages(start, pages, runs);
}

}  // namespace vmruntime::runtime
