// SPDX-License-Identifier: BSD-2-Clause
//
// The pages of a private file mapping that are no longer the file's: those
// written (copied on write) since it was mapped or since they were last
// dropped.  The host's page tables say which, so nothing is tracked while
// the mapping is written: a page is the process's own (anonymous, or
// swapped out) rather than the file's.
#pragma once

#include <cstdint>
#include <vector>

namespace vmruntime::runtime {

// Pages [first, first + count) of a mapping, counted from its start.
struct PageRun {
    uint64_t first = 0;
    uint64_t count = 0;
    bool operator==(const PageRun&) const = default;
};

// The written pages of the `pages` 4 KiB pages at `start`, in order, runs
// merged.  Through PAGEMAP_SCAN where the kernel has it (Linux 6.7), which
// walks only the page tables that exist; else through /proc/self/pagemap,
// 8 bytes read per page.  False with errno set if the kernel said neither.
bool find_written_pages(const void* start, uint64_t pages, std::vector<PageRun>* runs);

// Each way alone, for the tests.  scan_written_pages fails with ENOTTY or
// EINVAL on kernels without PAGEMAP_SCAN.
bool scan_written_pages(const void* start, uint64_t pages, std::vector<PageRun>* runs);
bool read_written_pages(const void* start, uint64_t pages, std::vector<PageRun>* runs);

}  // namespace vmruntime::runtime
