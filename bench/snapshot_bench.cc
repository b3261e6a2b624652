// SPDX-License-Identifier: BSD-2-Clause
//
// snapshot-bench: what restoring guests/hello from a snapshot buys over
// booting it, in one process, on the hello guest in `idle` mode (asleep in
// HLT until COM1 input, so a machine costs no CPU once it sleeps).  The
// snapshot is of a machine that printed its banner ("rtc ..." line) and went
// to sleep; a restored machine starts there.
//
//   latency  Machine::restore + start, against Machine::create + start and
//            against create until the banner's "rtc " line is complete (the
//            point the snapshot holds), in interleaved iterations (ABBA);
//            p50/p99.  A restored vCPU sleeps in HLT without entering the
//            guest, so restore+start runs no guest code: the first echo of a
//            byte typed on COM1 (console_input until the byte is in the
//            console ring) times its first guest entry, against its second
//            echo, the first on a machine booted to the same point, and one
//            on the snapshot's original, which has echoed before.  The
//            first echo pays for what start() leaves to the new vCPU thread
//            (getting onto its host CPU) and for mapping, in the host and in
//            KVM, every page the guest touches: none is mapped yet.  A
//            second clone, typed to only 20 ms after its start, shows the
//            latter alone.
//   clones   N machines restored from one snapshot and started, all alive
//            at once, against N created and booted to their banner (all
//            started, then waited for): machines per second, then the
//            host memory each adds once every one of them has echoed a
//            byte (so has run): Rss and Pss (/proc/self/smaps_rollup; a
//            page of the snapshot file mapped by k clones counts k times in
//            Rss, once in total in Pss) and private anonymous memory
//            (pages a clone wrote, and the host's own per-machine heap and
//            stacks).  Kernel memory (KVM's) is not counted.
//   reset    Machine::reset of a machine restored from a snapshot of
//            guests/dirty_pages.S (16 MiB, 1 vCPU), taken before its first
//            instruction, for N = 1, 64 and 1024: each time, the guest has
//            written one byte into each of N pages (N is its command line)
//            and sleeps in HLT; reset drops those pages and the guest does it
//            again.  p50/p99 of the reset call, and resets per second per
//            core as 1 / the mean reset: a reset is serial, on the caller's
//            thread and the vCPU thread it hands to in turn.  Against what
//            a reset spares, interleaved: restoring a fresh machine from the
//            same snapshot and starting it, and destroying it once its guest
//            has written its N pages.
//
// The host is small and shared: expect noise in the tails.
#include <fcntl.h>
#include <malloc.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <numeric>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "guest_images.h"
#include "stats.h"
#include "vmruntime/runtime/device_layer.h"
#include "vmruntime/runtime/machine.h"

GUEST_IMAGE(dirty_pages);

namespace {

namespace rt = vmruntime::runtime;
using Clock = std::chrono::steady_clock;
using MachinePtr = std::unique_ptr<rt::Machine>;
using vmruntime::bench::quantile;
using vmruntime::runtime_test::flat_spec;
using vmruntime::runtime_test::hello_spec;

constexpr char kCmdline[] = "idle";
constexpr unsigned kDefaultIterations = 200;
constexpr unsigned kDefaultClones = 100;
constexpr auto kTimeout = std::chrono::seconds(10);
constexpr uint8_t kProbe = 'A';  // echoed by the guest; not 'q', which powers it off
constexpr auto kHaltPoll = std::chrono::microseconds(100);
// Ample for a new vCPU thread to reach its CPU and sleep, even on a host
// whose cores are busy with other work.
constexpr auto kThreadSettle = std::chrono::milliseconds(20);
constexpr unsigned kDefaultResets = 300;
constexpr unsigned kDirtyCounts[] = {1, 64, 1024};
// The guest's code at 1 MiB and its 1024 pages at 2-6 MiB, with room over.
constexpr uint64_t kDirtyMemory = 16ULL << 20;
constexpr double kResetTargetUs = 100;  // p50 at 64 pages, the target

[[noreturn]] void fail(const std::string& what)
{
    throw std::runtime_error(what);
}

double ms(Clock::duration d)
{
    return std::chrono::duration<double, std::milli>(d).count();
}

double us(Clock::duration d)
{
    return std::chrono::duration<double, std::micro>(d).count();
}

// A fresh directory under /tmp, removed with everything in it.
class TempDir {
public:
    TempDir()
    {
        char tmpl[] = "/tmp/snapshot-bench.XXXXXX";
        if (::mkdtemp(tmpl) == nullptr) {
            fail(std::string("mkdtemp: ") + std::strerror(errno));
        }
        path_ = tmpl;
    }
    ~TempDir()
    {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::string& path() const { return path_; }

private:
    std::string path_;
};

std::string describe(const rt::Machine& m)
{
    const rt::MachineStatus s = m.status();
    return m.spec().name + " is " + rt::to_string(s.state) + (s.reason.empty() ? "" : " (" + s.reason + ")");
}

std::string console_text(rt::Machine& m)
{
    auto& ring = m.console();
    auto chunk = ring.read(0, ring.capacity());
    return {chunk.bytes.begin(), chunk.bytes.end()};
}

bool has_banner(const std::string& text)
{
    size_t rtc = text.find("rtc ");
    return rtc != std::string::npos && text.find("\r\n", rtc) != std::string::npos;
}

// Until the console holds the whole "rtc ..." line.
void wait_for_banner(rt::Machine& m)
{
    const auto deadline = Clock::now() + kTimeout;
    for (;;) {
        const uint64_t end = m.console().end_offset();
        if (has_banner(console_text(m))) {
            return;
        }
        if (Clock::now() > deadline) {
            fail("no banner within 10 s: " + describe(m) + ", console \"" + console_text(m) + "\"");
        }
        m.console().wait_for(end, deadline - Clock::now());
    }
}

// Until the guest sleeps in HLT (where the snapshot's hello guest was, and
// where the dirty_pages guest ends) once more than `halts` times: the vCPU
// counts the exit, and nothing wakes either guest but input.
void wait_for_halt(rt::Machine& m, uint64_t halts = 0)
{
    const auto deadline = Clock::now() + kTimeout;
    while (m.exit_counters().halted <= halts) {
        if (Clock::now() > deadline) {
            fail("the guest did not halt within 10 s: " + describe(m));
        }
        std::this_thread::sleep_for(kHaltPoll);
    }
}

// Types one byte and times it until the guest's echo is in the console.
Clock::duration echo(rt::Machine& m)
{
    auto& ring = m.console();
    const uint64_t end = ring.end_offset();
    const auto t0 = Clock::now();
    if (m.console_input({&kProbe, 1}) != 1) {
        fail("the UART did not take a byte: " + describe(m));
    }
    if (!ring.wait_for(end, kTimeout)) {
        fail("no echo within 10 s: " + describe(m));
    }
    const auto elapsed = Clock::now() - t0;
    auto chunk = ring.read(end, 1);
    if (chunk.offset != end || chunk.bytes.empty() || chunk.bytes[0] != kProbe) {
        fail("the guest printed something else than the echo: " + describe(m));
    }
    return elapsed;
}

// `m` started; fails with `error` if there is no machine.
MachinePtr started(MachinePtr m, const std::string& error)
{
    if (!m) {
        fail(error);
    }
    if (!m->start()) {
        fail("start refused: " + describe(*m));
    }
    return m;
}

class Bench {
public:
    explicit Bench(const std::string& dir) : dir_(dir) {}

    MachinePtr boot(const std::string& name)
    {
        std::string error;
        return started(rt::Machine::create(hello_spec(name, kCmdline), layer_, &error), error);
    }

    MachinePtr restore(const std::string& name) { return restore(hello_spec(name, kCmdline), dir_); }

    MachinePtr restore(rt::MachineSpec spec, const std::string& dir)
    {
        // A restore reads no image: a clone need not hold a copy of it.
        spec.image.clear();
        std::string error;
        return started(rt::Machine::restore(spec, dir, layer_, &error), error);
    }

    // Snapshots a dirty_pages guest of `pages` parked before its first
    // instruction, so that every reset replays all its writes; returns
    // the snapshot's directory.
    std::string snapshot_dirty(unsigned pages)
    {
        const std::string dir = dir_ + "/dirty-" + std::to_string(pages);
        std::string error;
        MachinePtr m = rt::Machine::create(dirty_spec("dirty-original", pages), layer_, &error);
        if (!m || !m->start(true) || m->snapshot(dir, &error) != rt::Outcome::Done) {
            fail("dirty_pages snapshot: " + error + (m ? "; " + describe(*m) : ""));
        }
        return dir;
    }

    static rt::MachineSpec dirty_spec(const std::string& name, unsigned pages)
    {
        rt::MachineSpec spec = flat_spec(name, GUEST_BYTES(dirty_pages));
        spec.memory_bytes = kDirtyMemory;
        spec.cmdline = std::to_string(pages);
        return spec;
    }

    // Boots the original, snapshots it asleep after its banner and lets it
    // sleep on.
    MachinePtr take_snapshot()
    {
        MachinePtr m = boot("original");
        wait_for_banner(*m);
        wait_for_halt(*m);
        std::string error;
        if (m->pause(Clock::now() + kTimeout) != rt::Outcome::Done ||
            m->snapshot(dir_, &error) != rt::Outcome::Done || !m->resume()) {
            fail("snapshot: " + error + "; " + describe(*m));
        }
        return m;
    }

private:
    std::string dir_;
    rt::DeviceLayer layer_;
};

struct Samples {
    std::vector<double> restore_start, restore_echo, restore_echo_settled, restore_echo_again, restore_total;
    std::vector<double> create_start, create_banner, boot_echo, original_echo;
};

void restore_once(Bench& bench, Samples& s)
{
    const auto t0 = Clock::now();
    MachinePtr m = bench.restore("restored");
    const auto t1 = Clock::now();
    const auto first = echo(*m);
    s.restore_start.push_back(ms(t1 - t0));
    s.restore_echo.push_back(ms(first));
    s.restore_total.push_back(ms(t1 - t0 + first));
    s.restore_echo_again.push_back(ms(echo(*m)));
}

void restore_settled_once(Bench& bench, Samples& s)
{
    MachinePtr m = bench.restore("settled");
    std::this_thread::sleep_for(kThreadSettle);
    s.restore_echo_settled.push_back(ms(echo(*m)));
}

void boot_once(Bench& bench, Samples& s)
{
    const auto t0 = Clock::now();
    MachinePtr m = bench.boot("booted");
    const auto t1 = Clock::now();
    wait_for_banner(*m);
    const auto t2 = Clock::now();
    wait_for_halt(*m);
    s.create_start.push_back(ms(t1 - t0));
    s.create_banner.push_back(ms(t2 - t0));
    s.boot_echo.push_back(ms(echo(*m)));
}

void print_row(const char* what, const std::vector<double>& v)
{
    std::printf("  %-46s %9.3f ms %9.3f ms\n", what, quantile(v, 0.5), quantile(v, 0.99));
}

void print_latency(const Samples& s, unsigned iterations)
{
    std::printf("\nlatency, %u interleaved iterations                     p50          p99\n", iterations);
    print_row("restore + start", s.restore_start);
    print_row("create + start", s.create_start);
    print_row("create + start until banner (\"rtc \" line)", s.create_banner);
    std::printf("  ratio restore+start / create..banner: p50 %.4f (%.0fx faster)\n",
                quantile(s.restore_start, 0.5) / quantile(s.create_banner, 0.5),
                quantile(s.create_banner, 0.5) / quantile(s.restore_start, 0.5));
    std::printf("first guest entry: one byte typed until its echo is in the console ring\n");
    print_row("restored, just started (its first entry)", s.restore_echo);
    print_row("restored, vCPU thread started 20 ms before", s.restore_echo_settled);
    print_row("restored, its second echo", s.restore_echo_again);
    print_row("booted to the same point, first echo", s.boot_echo);
    print_row("the snapshot's original (has echoed before)", s.original_echo);
    print_row("restore + start + first echo", s.restore_total);
    std::printf("  ratio restore..echo / create..banner: p50 %.4f\n",
                quantile(s.restore_total, 0.5) / quantile(s.create_banner, 0.5));
}

void bench_latency(Bench& bench, rt::Machine& original, unsigned iterations)
{
    Samples s;
    for (unsigned i = 0; i < iterations; i++) {
        if (i % 2 == 0) {
            restore_once(bench, s);
            boot_once(bench, s);
        } else {
            boot_once(bench, s);
            restore_once(bench, s);
        }
        restore_settled_once(bench, s);
        s.original_echo.push_back(ms(echo(original)));
    }
    print_latency(s, iterations);
}

// What /proc/self/smaps_rollup says of the process, in KiB.
struct Memory {
    double rss = 0, pss = 0, anon = 0;
};

Memory memory_now()
{
    // Heap the previous phase freed would otherwise be reused unseen.
    malloc_trim(0);
    std::ifstream rollup("/proc/self/smaps_rollup");
    Memory m;
    std::string line, field;
    std::getline(rollup, line);  // the address range it sums
    while (std::getline(rollup, line)) {
        double kib = 0;
        std::istringstream(line) >> field >> kib;
        m.rss = field == "Rss:" ? kib : m.rss;
        m.pss = field == "Pss:" ? kib : m.pss;
        m.anon = field == "Anonymous:" ? kib : m.anon;
    }
    if (m.rss == 0) {
        fail("cannot read /proc/self/smaps_rollup");
    }
    return m;
}

struct Fleet {
    double seconds = 0;
    Memory per_machine;
};

// Makes n machines by `make` and times it; once each has echoed a byte,
// the memory they added, per machine.
Fleet measure_fleet(unsigned n, const std::function<void(std::vector<MachinePtr>&)>& make,
                    const std::function<Clock::duration(rt::Machine&)>& settle)
{
    std::vector<MachinePtr> machines;
    const Memory before = memory_now();
    const auto t0 = Clock::now();
    make(machines);
    Fleet f{std::chrono::duration<double>(Clock::now() - t0).count(), {}};
    for (auto& m : machines) {
        settle(*m);
    }
    const Memory after = memory_now();
    f.per_machine = {(after.rss - before.rss) / n, (after.pss - before.pss) / n, (after.anon - before.anon) / n};
    return f;
}

void print_fleet(const char* what, unsigned n, const Fleet& f)
{
    std::printf("  %-16s %8.3f s %9.0f /s %9.0f %9.0f %9.0f\n", what, f.seconds, n / f.seconds, f.per_machine.rss,
                f.per_machine.pss, f.per_machine.anon);
}

void bench_clones(Bench& bench, unsigned n)
{
    Fleet clones = measure_fleet(
        n,
        [&](std::vector<MachinePtr>& v) {
            for (unsigned i = 0; i < n; i++) {
                v.push_back(bench.restore("clone-" + std::to_string(i)));
            }
        },
        echo);
    Fleet booted = measure_fleet(
        n,
        [&](std::vector<MachinePtr>& v) {
            for (unsigned i = 0; i < n; i++) {
                v.push_back(bench.boot("booted-" + std::to_string(i)));
            }
            for (auto& m : v) {
                wait_for_banner(*m);
            }
        },
        [](rt::Machine& m) {
            wait_for_halt(m);
            return echo(m);
        });
    std::printf("\n%u machines alive at once          time      rate   Rss KiB   Pss KiB  anon KiB (per machine)\n",
                n);
    print_fleet("restored+started", n, clones);
    print_fleet("booted to banner", n, booted);
    const Memory& b = booted.per_machine;
    const Memory& c = clones.per_machine;
    std::printf("  ratio booted/restored: time %.1fx, Rss %.1fx, Pss %.1fx, anon %.1fx\n",
                booted.seconds / clones.seconds, b.rss / c.rss, b.pss / c.pss, b.anon / c.anon);
}

struct ResetSamples {
    std::vector<double> reset, restore_start, destroy;  // us
    uint64_t pages = 0;                                 // restored by all resets
};

// Times the reset of `m`, asleep after writing its pages, then waits until
// it has written them again and sleeps.
void reset_once(rt::Machine& m, unsigned pages, ResetSamples& s)
{
    const uint64_t halts = m.exit_counters().halted;
    std::string error;
    uint64_t restored = 0;
    const auto t0 = Clock::now();
    const rt::Outcome outcome = m.reset(&error, t0 + kTimeout, &restored);
    const auto elapsed = Clock::now() - t0;
    if (outcome != rt::Outcome::Done) {
        fail("reset: " + error + "; " + describe(m));
    }
    // Fewer would mean the guest had not finished its writes: not the
    // reset this measures.
    if (restored < pages) {
        fail("reset restored " + std::to_string(restored) + " pages, the guest wrote " + std::to_string(pages));
    }
    s.reset.push_back(us(elapsed));
    s.pages += restored;
    wait_for_halt(m, halts);
}

// What a reset spares: a fresh machine from the same snapshot, and
// destroying it once its guest has written its pages as the reset one had.
void fresh_once(Bench& bench, const std::string& dir, unsigned pages, ResetSamples& s)
{
    const auto t0 = Clock::now();
    MachinePtr m = bench.restore(Bench::dirty_spec("fresh", pages), dir);
    const auto t1 = Clock::now();
    wait_for_halt(*m);
    const auto t2 = Clock::now();
    m = nullptr;
    s.restore_start.push_back(us(t1 - t0));
    s.destroy.push_back(us(Clock::now() - t2));
}

double mean(const std::vector<double>& v)
{
    return std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}

void print_resets(unsigned pages, const ResetSamples& s)
{
    const double reset = quantile(s.reset, 0.5), fresh = quantile(s.restore_start, 0.5);
    std::printf("  %4u  reset                       %9.1f us %9.1f us %7.1f %9.0f\n", pages, reset,
                quantile(s.reset, 0.99), static_cast<double>(s.pages) / static_cast<double>(s.reset.size()),
                1e6 / mean(s.reset));
    std::printf("        fresh: restore + start      %9.1f us %9.1f us\n", fresh, quantile(s.restore_start, 0.99));
    std::printf("        fresh: destroy after writes %9.1f us %9.1f us\n", quantile(s.destroy, 0.5),
                quantile(s.destroy, 0.99));
    std::printf("        ratio reset / restore+start: p50 %.3f\n", reset / fresh);
}

// Returns the p50 reset time.
double bench_reset(Bench& bench, unsigned pages, unsigned resets)
{
    const std::string dir = bench.snapshot_dirty(pages);
    MachinePtr m = bench.restore(Bench::dirty_spec("reset", pages), dir);
    wait_for_halt(*m);
    ResetSamples s;
    for (unsigned i = 0; i < resets; i++) {
        reset_once(*m, pages, s);
        fresh_once(bench, dir, pages, s);
    }
    print_resets(pages, s);
    return quantile(s.reset, 0.5);
}

void bench_resets(Bench& bench, unsigned resets)
{
    std::printf("\nreset: guests/dirty_pages.S, 16 MiB, 1 vCPU, %u resets per N interleaved with fresh machines\n",
                resets);
    std::printf("     N                                    p50          p99   pages  resets/s/core\n");
    double at_64 = 0;
    for (unsigned pages : kDirtyCounts) {
        const double p50 = bench_reset(bench, pages, resets);
        at_64 = pages == 64 ? p50 : at_64;
    }
    std::printf("  pages: mean restored per reset; resets/s/core: 1 / mean reset time\n");
    std::printf("  target p50 <= %.0f us at 64 pages: %s (%.1f us)\n", kResetTargetUs,
                at_64 <= kResetTargetUs ? "met" : "MISSED", at_64);
}

unsigned positive(const char* text, const char* flag)
{
    char* end = nullptr;
    unsigned long n = std::strtoul(text, &end, 10);
    if (*text < '0' || *text > '9' || *end != '\0' || n == 0 || n > 10000) {
        fail(std::string(flag) + " takes a number from 1 to 10000");
    }
    return static_cast<unsigned>(n);
}

bool kvm_available()
{
    int kvm = ::open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm == -1) {
        std::fprintf(stderr, "\n*** snapshot-bench SKIPPED: cannot open /dev/kvm (%s); it needs KVM ***\n\n",
                     std::strerror(errno));
        return false;
    }
    ::close(kvm);
    return true;
}

void run(unsigned iterations, unsigned clones, unsigned resets)
{
    TempDir dir;
    Bench bench(dir.path());
    MachinePtr original = bench.take_snapshot();
    std::printf("snapshot-bench: guests/hello \"%s\", 2 MiB, 1 vCPU, snapshot taken asleep in HLT after its banner\n",
                kCmdline);
    bench_latency(bench, *original, iterations);
    original.reset();
    bench_clones(bench, clones);
    bench_resets(bench, resets);
}

}  // namespace

int main(int argc, char** argv)
{
    unsigned iterations = kDefaultIterations;
    unsigned clones = kDefaultClones;
    unsigned resets = kDefaultResets;
    try {
        for (int i = 1; i < argc; i += 2) {
            const std::string flag = argv[i];
            unsigned* value = flag == "--clones"       ? &clones
                              : flag == "--iterations" ? &iterations
                              : flag == "--resets"     ? &resets
                                                       : nullptr;
            if (i + 1 >= argc || value == nullptr) {
                std::fprintf(stderr, "usage: snapshot-bench [--iterations N] [--clones N] [--resets N]\n");
                return 2;
            }
            *value = positive(argv[i + 1], argv[i]);
        }
        if (!kvm_available()) {
            return 0;
        }
        run(iterations, clones, resets);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "snapshot-bench: %s\n", e.what());
        return 1;
    }
    return 0;
}
