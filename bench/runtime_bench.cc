// SPDX-License-Identifier: BSD-2-Clause
//
// runtime-bench: what the runtime's device path costs, each comparison run
// in one process with its baseline, in interleaved rounds (ABBA, so neither
// side always runs right after the other), reporting medians.
//
//   runtime-bench pio    a port read through the vCPU's channel and the
//                        device strand (a Machine) vs the same read answered
//                        on the vCPU thread (RawPioVm): ns per exit
//   runtime-bench spin   the Machine's port read with the vCPU spinning up to
//                        20 us for the answer (the default) vs sleeping at once
//   runtime-bench uart   1 MiB through COM1's THR (rep outsb) with posted
//                        writes vs waited writes: MiB/s
//
// Times are wall time from start() to the guest's power-off, and the CPU
// time of the whole process (every vCPU and device thread) over the same
// span: spinning shows up in the second.  The development hosts have two
// cores shared by several users, so expect noise; the medians and the
// interleaving are there for it.
#include "runtime_bench.h"

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>

#include "raw_pio_vm.h"
#include "stats.h"
#include "vmruntime/runtime/device_layer.h"
#include "vmruntime/runtime/machine.h"

extern "C" const uint8_t pio_loop_begin[], pio_loop_end[];
extern "C" const uint8_t uart_flood_begin[], uart_flood_end[];

namespace vmruntime::runtime_bench {

std::vector<uint8_t> pio_loop_image()
{
    return {pio_loop_begin, pio_loop_end};
}

std::vector<uint8_t> uart_flood_image()
{
    return {uart_flood_begin, uart_flood_end};
}

void die_errno(const char* what)
{
    std::fprintf(stderr, "runtime-bench: %s: %s\n", what, std::strerror(errno));
    std::exit(1);
}

void die(const char* message)
{
    std::fprintf(stderr, "runtime-bench: %s\n", message);
    std::exit(1);
}

namespace {

using bench::median;
using bench::process_cpu_ns;
using runtime::DeviceLayer;
using runtime::Machine;
using runtime::MachineSpec;

constexpr int kRounds = 6;
constexpr uint64_t kPioReads = 20'000;
// On hosts where every OUT of rep outsb is its own exit, a MiB takes
// seconds: two rounds, no warm-up.
constexpr int kUartRounds = 2;
// The most uart_flood may send: its source area, and the console ring.
constexpr uint64_t kMaxUartBytes = 1ULL << 20;

// One timed run: how many units of work (exits, bytes) it did and what it
// cost in wall and process CPU time.
struct Run {
    double units = 0;
    double wall_ns = 0;
    double cpu_ns = 0;
    double exits = 0;  // port-I/O exits
};

template <typename Fn>
Run timed(Fn&& body)
{
    double cpu = process_cpu_ns();
    auto wall = std::chrono::steady_clock::now();
    double units = body();
    std::chrono::duration<double, std::nano> elapsed = std::chrono::steady_clock::now() - wall;
    return {units, elapsed.count(), process_cpu_ns() - cpu};
}

MachineSpec flat_spec(std::vector<uint8_t> image, uint64_t count)
{
    MachineSpec spec;
    spec.name = "bench";
    spec.memory_bytes = kGuestMemory;
    spec.image = std::move(image);
    spec.format = runtime::ImageFormat::FlatLong;
    spec.load_address = kLoadAddress;
    spec.cmdline = std::to_string(count);
    return spec;
}

// Boots `spec`, lets `prepare` set up its RAM, and times it from start()
// to the guest's power-off; `check` then sees the finished machine.
// Units: the machine's port-I/O exits, or what `check` returns.
Run run_machine(DeviceLayer& layer, const MachineSpec& spec,
                const std::function<void(Machine&)>& prepare = {},
                const std::function<double(Machine&)>& check = {})
{
    std::string error;
    auto m = Machine::create(spec, layer, &error);
    if (!m) {
        die(error.c_str());
    }
    if (prepare) {
        prepare(*m);
    }
    Run run = timed([&] {
        m->start();
        while (!m->wait(std::chrono::seconds(1))) {
        }
        return 0.0;
    });
    auto status = m->status();
    if (status.state != runtime::MachineState::Stopped || status.exit_status != 0) {
        die(("machine ended " + std::string(to_string(status.state)) + ": " + status.reason).c_str());
    }
    run.exits = static_cast<double>(m->exit_counters().io);
    run.units = check ? check(*m) : run.exits;
    return run;
}

struct Side {
    const char* name;
    std::function<Run()> run;
};

// Per-unit costs of a side's runs.
struct Samples {
    std::vector<double> wall, cpu;
    double exits_per_unit = 0;

    void add(const Side& side)
    {
        Run r = side.run();
        wall.push_back(r.wall_ns / r.units);
        cpu.push_back(r.cpu_ns / r.units);
        exits_per_unit = r.exits / r.units;
    }
};

struct Medians {
    double a_wall, b_wall;  // ns per unit
};

// Prints per-unit medians of both sides and b/a ratios.  Runs each side
// once first, uncounted, unless a run is long enough to need no warming.
Medians compare(const char* unit, int rounds, const Side& a, const Side& b, bool warm_up = true)
{
    Samples sa, sb;
    if (warm_up) {
        Samples discarded;
        discarded.add(a);
        discarded.add(b);
    }
    for (int round = 0; round < rounds; round++) {
        if (round % 2 == 0) {
            sa.add(a), sb.add(b);
        } else {
            sb.add(b), sa.add(a);
        }
    }
    double aw = median(sa.wall), bw = median(sb.wall), ac = median(sa.cpu), bc = median(sb.cpu);
    std::printf("  %-24s wall %8.0f ns/%s   process CPU %8.0f ns/%s   %.3f exits/%s\n", a.name, aw, unit, ac, unit,
                sa.exits_per_unit, unit);
    std::printf("  %-24s wall %8.0f ns/%s   process CPU %8.0f ns/%s   %.3f exits/%s\n", b.name, bw, unit, bc, unit,
                sb.exits_per_unit, unit);
    std::printf("  ratio %s / %s: wall %.2f, CPU %.2f\n", b.name, a.name, bw / aw, bc / ac);
    std::fflush(stdout);
    return {aw, bw};
}

void bench_pio(DeviceLayer& layer)
{
    std::printf("pio: %llu reads of port 0x80 per run, medians of %d interleaved runs\n",
                static_cast<unsigned long long>(kPioReads), kRounds);
    Side raw{"inline on vCPU thread", [] {
                 RawPioVm vm(pio_loop_image(), std::to_string(kPioReads));
                 Run run = timed([&] { return static_cast<double>(vm.run()); });
                 run.exits = run.units;
                 return run;
             }};
    Side machine{"Machine (queue+strand)", [&] { return run_machine(layer, flat_spec(pio_loop_image(), kPioReads)); }};
    compare("exit", kRounds, raw, machine);
}

void bench_spin(DeviceLayer& layer)
{
    std::printf("spin: Machine port reads, %llu per run, medians of %d interleaved runs\n",
                static_cast<unsigned long long>(kPioReads), kRounds);
    MachineSpec spin = flat_spec(pio_loop_image(), kPioReads);
    MachineSpec sleep = spin;
    sleep.answer_spin = std::chrono::nanoseconds(0);
    Side a{"spin 20 us, then sleep", [&] { return run_machine(layer, spin); }};
    Side b{"sleep at once", [&] { return run_machine(layer, sleep); }};
    compare("exit", kRounds, a, b);
}

uint8_t pattern(uint64_t i)
{
    return static_cast<uint8_t>(i * 131 + (i >> 9));
}

void fill_source(Machine& m, uint64_t bytes)
{
    for (uint64_t i = 0; i < bytes; i++) {
        m.ram()[kUartSource + i] = pattern(i);
    }
}

// Every byte the guest sent, in order, or the benchmark is void.
double check_console(Machine& m, uint64_t bytes)
{
    auto& ring = m.console();
    auto chunk = ring.read(0, bytes + 1);
    if (ring.end_offset() != bytes || chunk.offset != 0 || chunk.bytes.size() != bytes) {
        die("the console ring did not get exactly the bytes sent");
    }
    for (uint64_t i = 0; i < bytes; i++) {
        if (chunk.bytes[i] != pattern(i)) {
            die("the console ring got other bytes than those sent");
        }
    }
    return static_cast<double>(bytes);
}

void bench_uart(DeviceLayer& layer, uint64_t bytes)
{
    std::printf("uart: %llu bytes by rep outsb to COM1 per run, medians of %d interleaved runs\n",
                static_cast<unsigned long long>(bytes), kUartRounds);
    MachineSpec posted = flat_spec(uart_flood_image(), bytes);
    MachineSpec waited = posted;
    waited.posted_writes = false;
    auto fill = [&](Machine& m) { fill_source(m, bytes); };
    auto check = [&](Machine& m) { return check_console(m, bytes); };
    Side a{"posted writes", [&] { return run_machine(layer, posted, fill, check); }};
    Side b{"waited writes", [&] { return run_machine(layer, waited, fill, check); }};
    Medians m = compare("byte", kUartRounds, a, b, false);
    auto mib_s = [](double ns_per_byte) { return 1e9 / ns_per_byte / (1 << 20); };
    std::printf("  posted %.3f MiB/s, waited %.3f MiB/s: posting is %.2fx faster\n", mib_s(m.a_wall),
                mib_s(m.b_wall), m.b_wall / m.a_wall);
}

uint64_t parse_bytes(const char* text)
{
    char* end = nullptr;
    errno = 0;
    unsigned long long n = std::strtoull(text, &end, 10);
    if (text[0] < '0' || text[0] > '9' || errno != 0 || *end != '\0' || n == 0 || n > kMaxUartBytes) {
        die("BYTES must be between 1 and 1048576");
    }
    return n;
}

int usage()
{
    std::fprintf(stderr, "usage: runtime-bench pio | spin | uart [BYTES]\n");
    return 2;
}

}  // namespace
}  // namespace vmruntime::runtime_bench

int main(int argc, char** argv)
{
    using namespace vmruntime::runtime_bench;
    std::string what = argc >= 2 ? argv[1] : "";
    bool known = (argc == 2 && (what == "pio" || what == "spin" || what == "uart")) || (argc == 3 && what == "uart");
    if (!known) {
        return usage();
    }
    if (access("/dev/kvm", F_OK) != 0) {
        die("/dev/kvm is absent: this benchmark needs KVM");
    }
    vmruntime::runtime::DeviceLayer layer;
    if (what == "pio") {
        bench_pio(layer);
    } else if (what == "spin") {
        bench_spin(layer);
    } else {
        bench_uart(layer, argc == 3 ? parse_bytes(argv[2]) : kMaxUartBytes);
    }
    return 0;
}
