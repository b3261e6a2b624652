// SPDX-License-Identifier: BSD-2-Clause
//
// The metrics text without a daemon: every family has its HELP and TYPE
// before its samples and a vmruntime_ name, counters end in _total, label
// values are escaped, and the figures come out in base units.
#include "server/metrics.h"

#include <time.h>

#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace vmruntime::server {
namespace {

using namespace std::chrono_literals;
using runtime::MachineState;

MachineFigures machine(const std::string& name, MachineState state)
{
    MachineFigures m;
    m.name = name;
    m.state = state;
    m.uptime = 1500ms;
    m.vcpu_time = 250ms;
    m.exits = {.io = 1, .mmio = 2, .halted = 3, .interrupts = 4, .stopped = 5, .other = 6};
    m.console_bytes = 22;
    m.memory_bytes = 8ULL << 20;
    m.vcpus = 2;
    return m;
}

DaemonFigures daemon()
{
    DaemonFigures d;
    d.version = "1.2.3";
    d.resident_bytes = 4096;
    d.cpu_time = 3s;
    d.open_fds = 7;
    d.start_time = std::chrono::system_clock::time_point(1700000000s);
    return d;
}

std::vector<std::string> lines_of(const std::string& text)
{
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        lines.push_back(line);
    }
    return lines;
}

bool has_line(const std::string& text, const std::string& line)
{
    return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

std::chrono::nanoseconds process_cpu_time()
{
    timespec t{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return std::chrono::seconds(t.tv_sec) + std::chrono::nanoseconds(t.tv_nsec);
}

TEST(Metrics, LabelValuesAreEscaped)
{
    EXPECT_EQ(escape_label_value("plain-name_1.x"), "plain-name_1.x");
    EXPECT_EQ(escape_label_value("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
    const std::string text = render_metrics({machine("we\"ird\\\nname", MachineState::Running)}, daemon());
    EXPECT_TRUE(has_line(text, "vmruntime_machine_console_bytes_total{name=\"we\\\"ird\\\\\\nname\"} 22")) << text;
}

TEST(Metrics, EveryFamilyHasHelpAndTypeBeforeItsSamples)
{
    const std::string text = render_metrics({machine("a", MachineState::Running)}, daemon());
    ASSERT_FALSE(text.empty());
    EXPECT_EQ(text.back(), '\n');
    const std::regex help("# HELP (vmruntime_[a-z_]+) [^\n]+");
    const std::regex type("# TYPE (vmruntime_[a-z_]+) (counter|gauge)");
    const std::regex sample("(vmruntime_[a-z_]+)(\\{[^}]*\\})? [0-9.e+-]+");
    std::string helped, typed;
    std::set<std::string> families;
    std::smatch m;
    for (const auto& line : lines_of(text)) {
        if (std::regex_match(line, m, help)) {
            helped = m[1];
            EXPECT_TRUE(families.insert(helped).second) << "one block per family: " << line;
        } else if (std::regex_match(line, m, type)) {
            typed = m[1];
            EXPECT_EQ(typed, helped) << "TYPE right after HELP: " << line;
            EXPECT_EQ(typed.ends_with("_total"), m[2] == "counter") << "_total for counters only: " << line;
        } else if (std::regex_match(line, m, sample)) {
            EXPECT_EQ(m[1], typed) << "a sample of the family above: " << line;
        } else {
            ADD_FAILURE() << "not a line of the format: " << line;
        }
    }
    EXPECT_EQ(families.size(), 13u) << text;
}

TEST(Metrics, MachinesAreShownInBaseUnits)
{
    MachineFigures b = machine("b", MachineState::Paused);
    b.vcpu_time = 1ns;
    const std::string text = render_metrics({machine("a", MachineState::Running), b}, daemon());
    for (const char* line : {
             "vmruntime_machine_state{name=\"a\",state=\"running\"} 1",
             "vmruntime_machine_state{name=\"b\",state=\"paused\"} 1",
             "vmruntime_machine_uptime_seconds{name=\"a\"} 1.5",
             "vmruntime_machine_vcpu_seconds_total{name=\"a\"} 0.25",
             "vmruntime_machine_vcpu_seconds_total{name=\"b\"} 0.000000001",
             "vmruntime_machine_exits_total{name=\"a\",reason=\"io\"} 1",
             "vmruntime_machine_exits_total{name=\"a\",reason=\"mmio\"} 2",
             "vmruntime_machine_exits_total{name=\"a\",reason=\"halted\"} 3",
             "vmruntime_machine_exits_total{name=\"a\",reason=\"interrupts\"} 4",
             "vmruntime_machine_exits_total{name=\"a\",reason=\"stopped\"} 5",
             "vmruntime_machine_exits_total{name=\"b\",reason=\"other\"} 6",
             "vmruntime_machine_console_bytes_total{name=\"b\"} 22",
             "vmruntime_machine_memory_bytes{name=\"a\"} 8388608",
             "vmruntime_machine_vcpus{name=\"b\"} 2",
         }) {
        EXPECT_TRUE(has_line(text, line)) << line << " in\n" << text;
    }
    const std::string state_of_b = "vmruntime_machine_state{name=\"b\"";
    EXPECT_EQ(text.find(state_of_b), text.rfind(state_of_b)) << "one state series per machine:\n" << text;
}

TEST(Metrics, DaemonTotalsCountEveryState)
{
    const std::string text = render_metrics({machine("a", MachineState::Running), machine("b", MachineState::Running),
                                             machine("c", MachineState::Crashed)},
                                            daemon());
    for (const char* line : {
             "vmruntime_machines{state=\"created\"} 0",
             "vmruntime_machines{state=\"running\"} 2",
             "vmruntime_machines{state=\"paused\"} 0",
             "vmruntime_machines{state=\"stopped\"} 0",
             "vmruntime_machines{state=\"crashed\"} 1",
             "vmruntime_build_info{version=\"1.2.3\"} 1",
             "vmruntime_daemon_resident_memory_bytes 4096",
             "vmruntime_daemon_cpu_seconds_total 3",
             "vmruntime_daemon_open_fds 7",
             "vmruntime_daemon_start_time_seconds 1700000000",
         }) {
        EXPECT_TRUE(has_line(text, line)) << line << " in\n" << text;
    }
}

TEST(Metrics, NoMachinesStillDescribesEveryFamily)
{
    const std::string text = render_metrics({}, daemon());
    EXPECT_NE(text.find("# TYPE vmruntime_machine_exits_total counter\n"), std::string::npos) << text;
    EXPECT_EQ(text.find("{name="), std::string::npos) << text;
    EXPECT_TRUE(has_line(text, "vmruntime_machines{state=\"running\"} 0")) << text;
}

TEST(Metrics, DaemonFiguresComeFromProc)
{
    const auto before = std::chrono::system_clock::now();
    // /proc counts CPU time in clock ticks (10 ms).
    while (process_cpu_time() < 150ms) {
    }
    const DaemonFigures d = daemon_figures("9.9.9");
    EXPECT_GE(d.cpu_time, 100ms);
    EXPECT_EQ(d.version, "9.9.9");
    EXPECT_GT(d.resident_bytes, 1u << 20);
    EXPECT_GE(d.open_fds, 3u) << "stdin, stdout, stderr";
    // The clock ticks of /proc, and a host clock that may have been set.
    EXPECT_LE(d.start_time, before + 1s);
    EXPECT_GT(d.start_time, before - 1h);
}

}  // namespace
}  // namespace vmruntime::server
