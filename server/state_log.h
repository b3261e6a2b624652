// SPDX-License-Identifier: BSD-2-Clause
//
// The daemon's account of its machines' lives: one line at info for every
// change the registry publishes, saying what an operator needs,
//
//     INFO [machine] web-1: created (16 MiB, 1 vCPU, elf)
//     INFO [machine] web-1: running
//     INFO [machine] web-1: paused
//     INFO [machine] web-1: stopped: guest powered off with status 0
//     INFO [machine] web-1: deleted
//
// but for a crash, which the runtime logs itself, for vmruntime-run too,
// as a warning of the same form ("web-1: crashed: <reason>", the reason
// naming the vCPU, the exit and its RIP): one line for each change.  No
// thread and no state per machine.
#pragma once

#include "server/registry.h"

namespace vmruntime::server {

// Logs the changes of `registry`'s machines from now on, for as long as
// the registry lives.
void log_state_changes(Registry& registry);

}  // namespace vmruntime::server
