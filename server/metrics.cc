// SPDX-License-Identifier: BSD-2-Clause
#include "server/metrics.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <limits>
#include <sstream>
#include <utility>

#include "server/registry.h"

namespace vmruntime::server {
namespace {

using runtime::MachineState;

constexpr std::array kStates = {MachineState::Created, MachineState::Running, MachineState::Paused,
                                MachineState::Stopped, MachineState::Crashed};

struct Label {
    std::string_view name;
    std::string_view value;
};

double seconds(std::chrono::nanoseconds t)
{
    return std::chrono::duration<double>(t).count();
}

// Writes the text family by family: a family's samples must follow its
// HELP and TYPE lines with no other family's in between.
class Exposition {
public:
    void family(std::string_view name, std::string_view type, std::string_view help)
    {
        name_ = name;
        text_.append("# HELP ").append(name).append(" ").append(help).append("\n");
        text_.append("# TYPE ").append(name).append(" ").append(type).append("\n");
    }

    void sample(std::initializer_list<Label> labels, uint64_t value)
    {
        char digits[24];
        auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
        line(labels, std::string_view(digits, static_cast<size_t>(end - digits)));
    }

    // The shortest text without an exponent that reads back as `value`
    // ("0.25", "1700000000.5").
    void sample(std::initializer_list<Label> labels, double value)
    {
        char digits[std::numeric_limits<double>::max_exponent10 + 32];
        auto end = std::to_chars(digits, digits + sizeof digits, value, std::chars_format::fixed).ptr;
        line(labels, std::string_view(digits, static_cast<size_t>(end - digits)));
    }

    std::string take() { return std::move(text_); }

private:
    void line(std::initializer_list<Label> labels, std::string_view value)
    {
        text_.append(name_);
        const char* separator = "{";
        for (const Label& label : labels) {
            text_.append(separator).append(label.name).append("=\"");
            text_.append(escape_label_value(label.value)).append("\"");
            separator = ",";
        }
        text_.append(labels.size() ? "} " : " ").append(value).append("\n");
    }

    std::string text_;
    std::string_view name_;
};

void render_machines(Exposition& out, const std::vector<MachineFigures>& machines)
{
    out.family("vmruntime_machine_state", "gauge",
               "The machine's state, as the state label: one series per machine, always 1.");
    for (const auto& m : machines) {
        out.sample({{"name", m.name}, {"state", runtime::to_string(m.state)}}, uint64_t{1});
    }
    out.family("vmruntime_machine_uptime_seconds", "gauge",
               "Time since the machine last started; 0 before it did, frozen once it ended.");
    for (const auto& m : machines) {
        out.sample({{"name", m.name}}, seconds(m.uptime));
    }
    out.family("vmruntime_machine_vcpu_seconds_total", "counter",
               "CPU time the machine's vCPU threads used, in the guest and out of it.");
    for (const auto& m : machines) {
        out.sample({{"name", m.name}}, seconds(m.vcpu_time));
    }
    out.family("vmruntime_machine_exits_total", "counter", "VM exits of the machine's vCPUs, by reason.");
    for (const auto& m : machines) {
        const std::pair<const char*, uint64_t> reasons[] = {
            {"io", m.exits.io},
            {"mmio", m.exits.mmio},
            {"halted", m.exits.halted},
            {"interrupts", m.exits.interrupts},
            {"stopped", m.exits.stopped},
            {"other", m.exits.other},
        };
        for (auto [reason, count] : reasons) {
            out.sample({{"name", m.name}, {"reason", reason}}, count);
        }
    }
    out.family("vmruntime_machine_console_bytes_total", "counter", "Bytes the guest wrote to its console.");
    for (const auto& m : machines) {
        out.sample({{"name", m.name}}, m.console_bytes);
    }
    out.family("vmruntime_machine_memory_bytes", "gauge", "Guest RAM the machine is configured with.");
    for (const auto& m : machines) {
        out.sample({{"name", m.name}}, m.memory_bytes);
    }
    out.family("vmruntime_machine_vcpus", "gauge", "vCPUs the machine is configured with.");
    for (const auto& m : machines) {
        out.sample({{"name", m.name}}, uint64_t{m.vcpus});
    }
}

void render_daemon(Exposition& out, const std::vector<MachineFigures>& machines, const DaemonFigures& daemon)
{
    out.family("vmruntime_machines", "gauge", "Machines the daemon holds, by state.");
    for (MachineState state : kStates) {
        const auto n = std::count_if(machines.begin(), machines.end(),
                                     [state](const MachineFigures& m) { return m.state == state; });
        out.sample({{"state", runtime::to_string(state)}}, static_cast<uint64_t>(n));
    }
    out.family("vmruntime_build_info", "gauge", "The daemon's version, as the version label; always 1.");
    out.sample({{"version", daemon.version}}, uint64_t{1});
    out.family("vmruntime_daemon_resident_memory_bytes", "gauge", "The daemon's resident memory.");
    out.sample({}, daemon.resident_bytes);
    out.family("vmruntime_daemon_cpu_seconds_total", "counter",
               "CPU time the daemon used, user and system, its vCPU threads included.");
    out.sample({}, seconds(daemon.cpu_time));
    out.family("vmruntime_daemon_open_fds", "gauge", "File descriptors the daemon holds open.");
    out.sample({}, daemon.open_fds);
    out.family("vmruntime_daemon_start_time_seconds", "gauge", "When the daemon started, since the Unix epoch.");
    out.sample({}, std::chrono::duration<double>(daemon.start_time.time_since_epoch()).count());
}

// Field `n` (counted from 1, as proc(5) does) of /proc/self/stat, 0 if it
// cannot be read.
class ProcStat {
public:
    ProcStat()
    {
        std::ifstream in("/proc/self/stat");
        std::string line;
        std::getline(in, line);
        // Field 2 is the command in parentheses, which may hold both.
        const auto close = line.rfind(')');
        if (close == std::string::npos) {
            return;
        }
        std::istringstream rest(line.substr(close + 1));
        fields_ = {"", ""};
        for (std::string field; rest >> field;) {
            fields_.push_back(field);
        }
    }

    uint64_t operator[](size_t n) const
    {
        uint64_t value = 0;
        if (n >= 1 && n <= fields_.size()) {
            const std::string& text = fields_[n - 1];
            std::from_chars(text.data(), text.data() + text.size(), value);
        }
        return value;
    }

private:
    std::vector<std::string> fields_;
};

// proc(5) numbers of /proc/self/stat fields.
constexpr size_t kStatUtime = 14, kStatStime = 15, kStatStartTime = 22, kStatRss = 24;

// When the host booted (/proc/stat's btime), in seconds since the epoch.
uint64_t boot_time()
{
    std::ifstream in("/proc/stat");
    for (std::string key; in >> key;) {
        if (key == "btime") {
            uint64_t seconds = 0;
            in >> seconds;
            return seconds;
        }
        in.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
    }
    return 0;
}

uint64_t open_fds()
{
    uint64_t n = 0;
    std::error_code ec;
    for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
        n++;
    }
    // The directory being read is open too, only for the count.
    return n > 0 ? n - 1 : 0;
}

}  // namespace

std::string escape_label_value(std::string_view value)
{
    std::string out;
    out.reserve(value.size());
    for (char c : value) {
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '"') {
            out += "\\\"";
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
    return out;
}

std::vector<MachineFigures> machine_figures(const Registry& registry)
{
    std::vector<MachineFigures> out;
    for (const v1::MachineInfo& info : registry.list()) {
        MachineFigures f;
        f.name = info.spec().name();
        f.memory_bytes = info.spec().memory_mib() << 20;
        f.vcpus = info.spec().vcpus();
        auto machine = registry.machine(f.name, "read the metrics of");
        if (absl::IsNotFound(machine.status())) {
            continue;
        }
        if (machine.ok()) {
            runtime::Machine& m = **machine;
            f.state = m.status().state;
            f.uptime = m.uptime();
            f.vcpu_time = m.vcpu_time();
            f.exits = m.exit_counters();
            f.console_bytes = m.console().end_offset();
        }
        out.push_back(std::move(f));
    }
    return out;
}

DaemonFigures daemon_figures(std::string version)
{
    DaemonFigures d;
    d.version = std::move(version);
    const ProcStat stat;
    // proc(5) counts times in clock ticks and the resident set in pages.
    const std::chrono::nanoseconds tick = std::chrono::nanoseconds(std::chrono::seconds(1)) / sysconf(_SC_CLK_TCK);
    auto ticks = [&](uint64_t n) { return tick * static_cast<int64_t>(n); };
    d.resident_bytes = stat[kStatRss] * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
    d.cpu_time = ticks(stat[kStatUtime] + stat[kStatStime]);
    d.start_time = std::chrono::system_clock::time_point(std::chrono::seconds(boot_time())) +
                   std::chrono::duration_cast<std::chrono::system_clock::duration>(ticks(stat[kStatStartTime]));
    d.open_fds = open_fds();
    return d;
}

std::string render_metrics(const std::vector<MachineFigures>& machines, const DaemonFigures& daemon)
{
    Exposition out;
    render_machines(out, machines);
    render_daemon(out, machines, daemon);
    return out.take();
}

}  // namespace vmruntime::server
