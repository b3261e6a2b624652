// SPDX-License-Identifier: BSD-2-Clause
//
// Reset in place: a machine restored from a snapshot maps the snapshot's
// memory copy-on-write, so the pages written since are exactly those that
// are no longer the file's.  The host's page tables say which: no dirty log
// is kept, so a machine that never resets pays nothing, and pages written
// by devices or the daemon (which KVM's dirty log would not see) are found
// too.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <vector>

#include "vmruntime/base/errno_text.h"
#include "vmruntime/runtime/machine.h"

namespace vmruntime::runtime {
namespace {

using base::errno_text;

constexpr uint64_t kPageSize = 4096;

// /proc/self/pagemap: one 64-bit entry per virtual page (the kernel's
// Documentation/admin-guide/mm/pagemap.rst).
constexpr uint64_t kPagemapPresent = 1ULL << 63;
constexpr uint64_t kPagemapSwapped = 1ULL << 62;
constexpr uint64_t kPagemapFileOrShared = 1ULL << 61;
constexpr size_t kPagemapBatch = 4096;

// A page of RAM mapped privately from the snapshot's memory file that is
// no longer the file's was written (copied on write, by the guest, a
// device or the daemon) since the restore or the last reset.
bool written(uint64_t entry)
{
    return (entry & kPagemapSwapped) || ((entry & kPagemapPresent) && !(entry & kPagemapFileOrShared));
}

int pagemap()
{
    static const int fd = ::open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    return fd;
}

}  // namespace

// Dropping a written page of the private mapping brings the file's page
// back at the next touch, and KVM's MMU notifier drops the guest's mapping
// of it now.  Only written pages are dropped: the rest stay mapped.
bool Machine::drop_written_pages(uint64_t* pages, std::string* error)
{
    const uint64_t count = spec_.memory_bytes / kPageSize;
    const uint64_t first = reinterpret_cast<uintptr_t>(ram_) / kPageSize;
    std::vector<uint64_t> entries(std::min<uint64_t>(count, kPagemapBatch));
    uint64_t run_start = 0, run_length = 0;
    auto drop_run = [&] {
        if (run_length > 0 && madvise(ram_ + run_start * kPageSize, run_length * kPageSize, MADV_DONTNEED) == -1) {
            return false;
        }
        *pages += run_length;
        run_length = 0;
        return true;
    };
    *pages = 0;
    for (uint64_t at = 0; at < count; at += entries.size()) {
        const size_t n = std::min<uint64_t>(entries.size(), count - at);
        const auto bytes = static_cast<ssize_t>(n * sizeof(uint64_t));
        if (pread(pagemap(), entries.data(), n * sizeof(uint64_t),
                  static_cast<off_t>((first + at) * sizeof(uint64_t))) != bytes) {
            *error = errno_text("reset: /proc/self/pagemap", errno);
            return false;
        }
        for (size_t i = 0; i < n; i++) {
            if (!written(entries[i])) {
                continue;
            }
            if (run_length > 0 && run_start + run_length != at + i && !drop_run()) {
                *error = errno_text("reset: madvise", errno);
                return false;
            }
            run_start = run_length > 0 ? run_start : at + i;
            run_length++;
        }
    }
    if (!drop_run()) {
        *error = errno_text("reset: madvise", errno);
        return false;
    }
    return true;
}

Outcome Machine::reset(std::string* error, Deadline deadline, uint64_t* pages)
{
    std::lock_guard control(control_mutex_);
    const MachineState state = status().state;
    if (!origin_) {
        *error = "the machine was not restored from a snapshot: there is none to reset it to";
        return Outcome::Refused;
    }
    if (state != MachineState::Running && state != MachineState::Paused) {
        *error = std::string("the machine is ") + to_string(state);
        return Outcome::Refused;
    }
    if (state == MachineState::Running && !park_all(deadline)) {
        *error = "a vcpu did not stop in time";
        return Outcome::Late;
    }
    uint64_t dropped = 0;
    const bool done = drop_written_pages(&dropped, error) && reload_vcpus(error, kNoDeadline) &&
                      restore_devices(*origin_, error);
    if (!done) {
        // Half reloaded, the machine is in no state a guest could be in.
        finish(MachineState::Crashed, 0, "reset failed: " + *error);
    } else if (state == MachineState::Running) {
        unpark_all();
    }
    if (pages) {
        *pages = dropped;
    }
    return done ? Outcome::Done : Outcome::Refused;
}

}  // namespace vmruntime::runtime
