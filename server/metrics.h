// SPDX-License-Identifier: BSD-2-Clause
//
// The daemon's metrics in Prometheus' text exposition format (version
// 0.0.4): per machine its state, uptime, vCPU time, exits by reason,
// console bytes, memory and vCPUs; for the daemon its machines by state,
// its version, and its process's memory, CPU time, descriptors and start
// time.  Every name starts with vmruntime_, is in base units (seconds,
// bytes) and ends in _total for a counter; each family has its # HELP and
// # TYPE.  The rendering is a pure function of a snapshot, so that it is
// tested without a daemon; machine_figures() and daemon_figures() take
// the snapshot.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "vmruntime/runtime/machine.h"

namespace vmruntime::server {

class Registry;

// One machine.  A machine not built since the daemon started is stopped,
// with its counters at 0.
struct MachineFigures {
    std::string name;
    runtime::MachineState state = runtime::MachineState::Stopped;
    std::chrono::nanoseconds uptime{0};
    std::chrono::nanoseconds vcpu_time{0};
    runtime::ExitCounters exits;
    uint64_t console_bytes = 0;
    uint64_t memory_bytes = 0;
    uint32_t vcpus = 0;
};

// The daemon process.
struct DaemonFigures {
    std::string version;
    uint64_t resident_bytes = 0;
    std::chrono::nanoseconds cpu_time{0};
    uint64_t open_fds = 0;
    std::chrono::system_clock::time_point start_time;
};

// The registry's machines now, each read once (a machine deleted meanwhile
// is left out).  Takes only the registry's and the machines' own short
// locks: never waits for a vCPU or a machine's lane.
std::vector<MachineFigures> machine_figures(const Registry& registry);

// This process's figures from /proc/self; those it cannot read are 0.
DaemonFigures daemon_figures(std::string version);

// The exposition text: machines in the order given.
std::string render_metrics(const std::vector<MachineFigures>& machines, const DaemonFigures& daemon);

// A label value as the exposition format quotes it: \ " and newline
// escaped as \\ \" \n.
std::string escape_label_value(std::string_view value);

}  // namespace vmruntime::server
