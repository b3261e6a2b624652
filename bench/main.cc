// SPDX-License-Identifier: BSD-2-Clause
//
// nvmm-bench: what libnvmm adds to a port-I/O exit on KVM.
//
//   nvmm-bench           raw KVM vs libnvmm in one process, interleaved:
//                        bare exits, exits that rewrite RAX, MMIO exits,
//                        cached getstate; the floor: what KVM itself
//                        charges for storing the registers an IO exit
//                        needs (GPRs, sregs, events) into kvm_run; and the
//                        noise: the same raw loop on both sides
//   nvmm-bench exit N    N exits through <nvmm.h>, prints "ns/exit: <value>"
//   nvmm-bench regs N    N exits with getstate/setstate(GPRS) each, same output
//   nvmm-bench mmio N    N MMIO write exits, each answered by nvmm_assist_mem
//
// The two sides of a comparison alternate round by round in one process so
// that host noise (frequency changes, cache state) lands on both.  Each side
// reports the median of its per-round ns/exit; the ratio is the median of
// the per-round ratios, with their quartiles: on the development hosts the
// cost of an exit drifts by 10-20 % within seconds, and only rounds run side
// by side see the same host.  Rounds are timed in the
// thread's CPU time, which on KVM includes the time spent in the guest but
// not the time the thread waits for a CPU: the development machines have two
// cores shared by several users, and wall time there mostly measures them.
// The comparison also prints the wall-time figures for reference.
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <functional>
#include <vector>

#include "nvmm_vm.h"
#include "raw_kvm.h"
#include "stats.h"

namespace vmruntime::bench {
namespace {

constexpr int kRounds = 30;
constexpr uint64_t kExitsPerRound = 10'000;
constexpr uint64_t kWarmupExits = 2'000;
constexpr uint64_t kGetstateCalls = 10'000'000;

using Loop = std::function<void(uint64_t)>;

struct Sample {
    double cpu_ns;   // per exit, thread CPU time
    double wall_ns;  // per exit, monotonic clock
};

double thread_cpu_ns()
{
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

Sample time_loop(const Loop& loop, uint64_t n)
{
    double cpu_start = thread_cpu_ns();
    auto wall_start = std::chrono::steady_clock::now();
    loop(n);
    std::chrono::duration<double, std::nano> wall = std::chrono::steady_clock::now() - wall_start;
    double count = static_cast<double>(n);
    return {(thread_cpu_ns() - cpu_start) / count, wall.count() / count};
}

std::vector<double> ratios(const std::vector<double>& num, const std::vector<double>& den)
{
    std::vector<double> r;
    for (size_t i = 0; i < num.size(); i++) {
        r.push_back(num[i] / den[i]);
    }
    return r;
}

struct Series {
    std::vector<double> cpu, wall;
    void add(Sample s)
    {
        cpu.push_back(s.cpu_ns);
        wall.push_back(s.wall_ns);
    }
};

// Which side goes first flips every round (ABBA), so neither side always
// runs right after the other.
void compare(const char* name, const Loop& raw, const Loop& nvmm)
{
    raw(kWarmupExits);
    nvmm(kWarmupExits);
    Series r, n;
    for (int round = 0; round < kRounds; round++) {
        if (round % 2 == 0) {
            r.add(time_loop(raw, kExitsPerRound));
            n.add(time_loop(nvmm, kExitsPerRound));
        } else {
            n.add(time_loop(nvmm, kExitsPerRound));
            r.add(time_loop(raw, kExitsPerRound));
        }
    }
    std::vector<double> cpu = ratios(n.cpu, r.cpu);
    std::printf("%s: raw %.0f ns, nvmm %.0f ns, ratio %.3f [%.3f-%.3f]  (wall: raw %.0f ns, nvmm %.0f ns, ratio %.3f)\n",
                name, median(r.cpu), median(n.cpu), median(cpu), quantile(cpu, 0.25), quantile(cpu, 0.75),
                median(r.wall), median(n.wall), median(ratios(n.wall, r.wall)));
    std::fflush(stdout);
}

void run_comparison()
{
    RawKvmVm raw;
    NvmmVm nvmm;
    std::printf("real-mode OUT and MMIO loops; medians of %d interleaved rounds x %llu exits, thread CPU time;\n"
                "ratio: median [quartiles] of the per-round ratios\n",
                kRounds, static_cast<unsigned long long>(kExitsPerRound));
    compare("exit", [&](uint64_t n) { raw.run_exits(n); }, [&](uint64_t n) { nvmm.run_exits(n); });
    compare("exit vs raw with nvmm's sync regs", [&](uint64_t n) { raw.run_mirrored_exits(n); },
            [&](uint64_t n) { nvmm.run_exits(n); });
    compare("floor: raw with nvmm's sync regs vs raw", [&](uint64_t n) { raw.run_exits(n); },
            [&](uint64_t n) { raw.run_mirrored_exits(n); });
    compare("noise: raw vs raw", [&](uint64_t n) { raw.run_exits(n); }, [&](uint64_t n) { raw.run_exits(n); });
    compare("regs", [&](uint64_t n) { raw.run_sync_regs(n); }, [&](uint64_t n) { nvmm.run_regs(n); });
    {
        RawKvmVm raw_mmio(kMmioEntry);
        NvmmVm nvmm_mmio(kMmioEntry);
        compare("mmio", [&](uint64_t n) { raw_mmio.run_mmio(n); }, [&](uint64_t n) { nvmm_mmio.run_mmio(n); });
    }
    nvmm.exit_and_fetch_gprs();
    Sample getstate = time_loop([&](uint64_t n) { nvmm.getstate_gprs(n); }, kGetstateCalls);
    std::printf("getstate cached: %.1f ns\n", getstate.cpu_ns);
}

uint64_t parse_count(const char* text)
{
    char* end = nullptr;
    errno = 0;
    unsigned long long n = std::strtoull(text, &end, 10);
    // strtoull would accept "-1" as a huge count.
    if (text[0] < '0' || text[0] > '9' || errno != 0 || *end != '\0' || n == 0) {
        die("N must be a positive integer");
    }
    return n;
}

// Times the N exits alone, not the machine set-up, in thread CPU time.
void run_subcommand(const char* what, uint64_t n)
{
    bool mmio = std::strcmp(what, "mmio") == 0;
    NvmmVm nvmm(mmio ? kMmioEntry : kGuestEntry);
    Loop loop = [&](uint64_t k) { nvmm.run_exits(k); };
    if (std::strcmp(what, "regs") == 0) {
        loop = [&](uint64_t k) { nvmm.run_regs(k); };
    } else if (mmio) {
        loop = [&](uint64_t k) { nvmm.run_mmio(k); };
    }
    std::printf("ns/exit: %.0f\n", time_loop(loop, n).cpu_ns);
}

}  // namespace
}  // namespace vmruntime::bench

int main(int argc, char** argv)
{
    using namespace vmruntime::bench;
    bool sub = argc == 3 && (std::strcmp(argv[1], "exit") == 0 || std::strcmp(argv[1], "regs") == 0 ||
                             std::strcmp(argv[1], "mmio") == 0);
    if (argc != 1 && !sub) {
        std::fprintf(stderr, "usage: nvmm-bench [exit N | regs N | mmio N]\n");
        return 2;
    }
    if (access("/dev/kvm", F_OK) != 0) {
        die("/dev/kvm is absent: this benchmark needs KVM");
    }
    if (sub) {
        run_subcommand(argv[1], parse_count(argv[2]));
    } else {
        run_comparison();
    }
    return 0;
}
