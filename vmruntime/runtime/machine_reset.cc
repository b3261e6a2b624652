// SPDX-License-Identifier: BSD-2-Clause
//
// Reset in place: a machine restored from a snapshot maps the snapshot's
// memory copy-on-write, so the pages written since are exactly those that
// are no longer the file's.  The host's page tables say which: no dirty log
// is kept, so a machine that never resets pays nothing, and pages written
// by devices or the daemon (which KVM's dirty log would not see) are found
// too.
#include <sys/mman.h>

#include <cerrno>
#include <future>
#include <vector>

#include "vmruntime/base/errno_text.h"
#include "vmruntime/runtime/machine.h"
#include "vmruntime/runtime/written_pages.h"

namespace vmruntime::runtime {

namespace {

constexpr uint64_t kPageSize = 4096;

}  // namespace

// Dropping a written page of the private mapping brings the file's page
// back at the next touch, and KVM's MMU notifier drops the guest's mapping
// of it now.  Only written pages are dropped: the rest stay mapped.
bool Machine::drop_pages(const std::vector<PageRun>& runs, std::string* error)
{
    for (const PageRun& run : runs) {
        if (madvise(ram_ + run.first * kPageSize, run.count * kPageSize, MADV_DONTNEED) == -1) {
            *error = base::errno_text("reset: madvise", errno);
            return false;
        }
    }
    return true;
}

// The devices reload on their strand while this thread drops the memory
// and each vCPU thread reloads its vCPU.  Until the written pages are
// known nothing has changed, so a failure there only refuses.
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
    std::vector<PageRun> written;
    if (!find_written_pages(ram_, spec_.memory_bytes / kPageSize, &written)) {
        *error = base::errno_text("reset: the page map", errno);
        if (state == MachineState::Running) {
            unpark_all();
        }
        return Outcome::Refused;
    }
    auto device_error = std::make_shared<std::string>();
    std::future<bool> devices = restore_devices(*origin_, device_error);
    bool done = drop_pages(written, error) && reload_vcpus(error, kNoDeadline);
    if (!devices.get() && done) {
        done = false;
        *error = *device_error;
    }
    if (!done) {
        // Half reloaded, the machine is in no state a guest could be in.
        finish(MachineState::Crashed, 0, "reset failed: " + *error);
    } else if (state == MachineState::Running) {
        unpark_all();
    }
    if (pages) {
        *pages = 0;
        for (const PageRun& run : written) {
            *pages += run.count;
        }
    }
    return done ? Outcome::Done : Outcome::Refused;
}

}  // namespace vmruntime::runtime
