// SPDX-License-Identifier: BSD-2-Clause
//
// grpc-bench: what the vmruntimed gRPC API costs over the runtime's C++ API.
// It starts its own vmruntimed on a socket and state directory under a fresh
// temporary directory (killed and removed at the end) and measures
//   boot: Create (with start) and Console until the first console byte,
//         client side, and the same with Create and Start as two calls,
//         against Machine::create+start+console().wait_for(0) in-process,
//         in interleaved rounds with the hello guest;
//   regs: GetRegisters (GPRs of vCPU 0) latency and throughput against one
//         running hello guest, from 1 and from 8 client threads, each with
//         a channel and connection of its own;
//   density N (only when asked): N idle hello guests in the one daemon:
//         the daemon's resident memory and CPU per machine, and how many
//         Create{start} calls it takes a second;
//   vmctl N (only when asked): machines created and started a second by
//         vmctl processes (run -d, one at a time and two at a time, and
//         create then start), against Create{start} calls from this process.
#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <stdexcept>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "vmruntime/runtime/device_layer.h"
#include "vmruntime/runtime/machine.h"
#include "vmruntime/v1/vmruntime.grpc.pb.h"

namespace {

namespace v1 = vmruntime::v1;
namespace rt = vmruntime::runtime;
using Clock = std::chrono::steady_clock;

constexpr int kBootRounds = 20;
constexpr auto kRegsWindow = std::chrono::seconds(3);
constexpr unsigned kRegsClients = 8;
constexpr char kCmdline[] = "hz=100";
constexpr char kBanner[] = "vmruntime hello guest";
constexpr auto kBootTimeout = std::chrono::seconds(10);
// The idle guests of `density` tick at the PIT's slowest useful rate and
// print a line a second.
constexpr char kIdleCmdline[] = "hz=20";
constexpr uint64_t kIdleMemoryMib = 8;  // thousands fit the daemon's --max-memory
constexpr auto kSettle = std::chrono::seconds(3);
constexpr auto kCpuWindow = std::chrono::seconds(5);

[[noreturn]] void fail(const std::string& what)
{
    throw std::runtime_error(what);
}

void check(const grpc::Status& status, const std::string& what)
{
    if (!status.ok()) {
        fail(what + ": " + status.error_message() + " (code " + std::to_string(status.error_code()) + ")");
    }
}

double ms(Clock::duration d)
{
    return std::chrono::duration<double, std::milli>(d).count();
}

double us(Clock::duration d)
{
    return std::chrono::duration<double, std::micro>(d).count();
}

// Nearest-rank percentile of an unsorted sample, p in (0, 1].
double percentile(std::vector<double> v, double p)
{
    std::sort(v.begin(), v.end());
    size_t rank = static_cast<size_t>(std::ceil(p * static_cast<double>(v.size())));
    return v[std::max<size_t>(rank, 1) - 1];
}

// The first bytes of the guest's output must be the start of its banner:
// a timing taken on anything else did not time the hello guest booting.
void check_banner(const std::string& first, const char* who)
{
    size_t n = std::min(first.size(), std::strlen(kBanner));
    if (n == 0 || first.compare(0, n, kBanner, n) != 0) {
        fail(std::string(who) + ": first console output is not the hello banner: \"" + first.substr(0, 40) + "\"");
    }
}

// vmruntimed under a temporary directory; stopped and removed on scope exit.
class Daemon {
public:
    Daemon()
    {
        char tmpl[] = "/tmp/grpc-bench.XXXXXX";
        if (::mkdtemp(tmpl) == nullptr) {
            fail(std::string("mkdtemp: ") + std::strerror(errno));
        }
        dir_ = tmpl;
        socket_ = dir_ + "/sock";
        try {
            start();
        } catch (...) {
            std::ifstream log(dir_ + "/daemon.log");
            std::fprintf(stderr, "vmruntimed log:\n%s\n",
                         std::string(std::istreambuf_iterator<char>(log), {}).c_str());
            clean_up();
            throw;
        }
    }
    ~Daemon() { clean_up(); }
    Daemon(const Daemon&) = delete;
    Daemon& operator=(const Daemon&) = delete;

    std::string target() const { return "unix:" + socket_; }
    const std::string& socket() const { return socket_; }
    pid_t pid() const { return pid_; }

private:
    void clean_up()
    {
        stop();
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }

    void start()
    {
        std::string state = dir_ + "/state", log = dir_ + "/daemon.log";
        pid_ = ::fork();
        if (pid_ == 0) {
            int null = ::open("/dev/null", O_RDWR);
            int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
            ::dup2(null, 0);
            ::dup2(out, 1);
            ::dup2(out, 2);
            ::execl(VMRUNTIMED_PATH, VMRUNTIMED_PATH, "--socket", socket_.c_str(), "--state-dir",
                    state.c_str(), "--log-level", "warn", static_cast<char*>(nullptr));
            _exit(127);
        }
        auto deadline = Clock::now() + std::chrono::seconds(20);
        while (!accepts()) {
            int status;
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                pid_ = -1;
                fail("vmruntimed (" VMRUNTIMED_PATH ") exited at start");
            }
            if (Clock::now() > deadline) {
                fail("vmruntimed did not accept connections within 20 s");
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
    }

    bool accepts() const
    {
        int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::strncpy(addr.sun_path, socket_.c_str(), sizeof addr.sun_path - 1);
        bool ok = fd != -1 && ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
        if (fd != -1) {
            ::close(fd);
        }
        return ok;
    }

    void stop()
    {
        if (pid_ <= 0) {
            return;
        }
        ::kill(pid_, SIGTERM);
        auto deadline = Clock::now() + std::chrono::seconds(10);
        int status;
        while (::waitpid(pid_, &status, WNOHANG) == 0) {
            if (Clock::now() > deadline) {
                ::kill(pid_, SIGKILL);
                ::waitpid(pid_, &status, 0);
                break;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        pid_ = -1;
    }

    std::string dir_, socket_;
    pid_t pid_ = -1;
};

// A channel with a connection of its own: channels with equal arguments
// otherwise share one subchannel, and so one socket, process-wide.
std::unique_ptr<v1::Machines::Stub> connect(const std::string& target)
{
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    return v1::Machines::NewStub(grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args));
}

// How a client creates and starts a machine: Create saying start, or
// Create and then Start.
enum class Calls { One, Two };

void create_and_start(v1::Machines::Stub& stub, const std::string& name, Calls calls = Calls::One,
                      const char* cmdline = kCmdline, uint64_t memory_mib = 0)
{
    v1::CreateRequest create;
    auto* spec = create.mutable_spec();
    spec->set_name(name);
    spec->set_memory_mib(memory_mib);
    spec->set_image_path(HELLO_ELF);
    spec->set_loader(v1::LOADER_KIND_ELF64);
    spec->set_cmdline(cmdline);
    create.set_start(calls == Calls::One);
    v1::CreateResponse created;
    grpc::ClientContext cc;
    check(stub.Create(&cc, create, &created), "Create " + name);
    if (calls == Calls::One) {
        return;
    }

    v1::StartRequest start;
    start.set_name(name);
    v1::StartResponse started;
    grpc::ClientContext sc;
    check(stub.Start(&sc, start, &started), "Start " + name);
}

// Blocks until the Console stream of `name` delivers its first bytes.
std::string first_console_bytes(v1::Machines::Stub& stub, const std::string& name)
{
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + kBootTimeout);
    auto stream = stub.Console(&ctx);
    v1::ConsoleRequest first;
    first.set_name(name);
    first.set_from_offset(0);
    if (!stream->Write(first)) {
        check(stream->Finish(), "Console " + name);
        fail("Console " + name + ": stream closed at once");
    }
    v1::ConsoleResponse resp;
    while (stream->Read(&resp) && resp.data().empty()) {
    }
    std::string data = resp.data();
    ctx.TryCancel();
    grpc::Status status = stream->Finish();
    if (data.empty()) {
        check(status, "Console " + name);
        fail("Console " + name + ": ended without output");
    }
    return data;
}

void delete_machine(v1::Machines::Stub& stub, const std::string& name)
{
    v1::DeleteRequest req;
    req.set_name(name);
    req.set_force(true);
    v1::DeleteResponse resp;
    grpc::ClientContext ctx;
    check(stub.Delete(&ctx, req, &resp), "Delete " + name);
}

double boot_grpc(v1::Machines::Stub& stub, int round, Calls calls)
{
    std::string name = "boot-" + std::to_string(round);
    auto t0 = Clock::now();
    create_and_start(stub, name, calls);
    std::string first = first_console_bytes(stub, name);
    auto t1 = Clock::now();
    check_banner(first, "gRPC");
    delete_machine(stub, name);
    return ms(t1 - t0);
}

std::vector<uint8_t> read_image()
{
    std::ifstream in(HELLO_ELF, std::ios::binary);
    if (!in) {
        fail("cannot read " HELLO_ELF " (build target guest_hello)");
    }
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Reads the image inside the timed span, as vmruntimed does at Create.
double boot_in_process(rt::DeviceLayer& layer, int round)
{
    auto t0 = Clock::now();
    rt::MachineSpec spec;
    spec.name = "boot-" + std::to_string(round);
    spec.image = read_image();
    spec.cmdline = kCmdline;
    std::string error;
    auto machine = rt::Machine::create(spec, layer, &error);
    if (!machine) {
        fail("Machine::create: " + error);
    }
    if (!machine->start()) {
        fail("Machine::start refused");
    }
    if (!machine->console().wait_for(0, kBootTimeout)) {
        fail("in-process: no console output within 10 s");
    }
    auto t1 = Clock::now();
    auto chunk = machine->console().read(0, sizeof kBanner - 1);
    check_banner(std::string(chunk.bytes.begin(), chunk.bytes.end()), "in-process");
    machine->stop();
    return ms(t1 - t0);
}

void run_boot(const Daemon& daemon)
{
    auto stub = connect(daemon.target());
    rt::DeviceLayer layer;
    std::vector<double> one_ms, two_ms, local_ms;
    // Rotating which goes first keeps warm-cache effects off any one way.
    for (int i = 0; i < kBootRounds; ++i) {
        for (int way = 0; way < 3; ++way) {
            switch ((i + way) % 3) {
            case 0: one_ms.push_back(boot_grpc(*stub, i, Calls::One)); break;
            case 1: two_ms.push_back(boot_grpc(*stub, i, Calls::Two)); break;
            default: local_ms.push_back(boot_in_process(layer, i)); break;
            }
        }
    }
    double one = percentile(one_ms, 0.5), two = percentile(two_ms, 0.5), local = percentile(local_ms, 0.5);
    std::printf("boot: hello guest (%s) until its first console byte, %d interleaved rounds each\n", kCmdline,
                kBootRounds);
    std::printf("  gRPC Create{start}+Console (client clock)   p50 %8.2f ms  p90 %8.2f ms\n", one,
                percentile(one_ms, 0.9));
    std::printf("  gRPC Create+Start+Console (client clock)    p50 %8.2f ms  p90 %8.2f ms\n", two,
                percentile(two_ms, 0.9));
    std::printf("  in-process Machine::create+start+wait_for    p50 %8.2f ms  p90 %8.2f ms\n", local,
                percentile(local_ms, 0.9));
    std::printf("  ratio of medians gRPC / in-process: %.2fx (+%.2f ms) in one call, %.2fx (+%.2f ms) in two\n",
                one / local, one - local, two / local, two - local);
}

struct ClientResult {
    std::vector<double> latency_us;
    std::string error;
};

// One client: its own channel, one call to connect before `begin`, then
// back-to-back calls until `end`.
void regs_client(const std::string& target, Clock::time_point begin, Clock::time_point end,
                 ClientResult* out)
{
    auto stub = connect(target);
    v1::GetRegistersRequest req;
    req.set_name("regs");
    req.set_vcpu(0);
    req.add_classes(v1::STATE_CLASS_GPRS);
    auto call = [&]() -> bool {
        v1::GetRegistersResponse resp;
        grpc::ClientContext ctx;
        grpc::Status status = stub->GetRegisters(&ctx, req, &resp);
        if (!status.ok() || !resp.registers().has_gprs()) {
            out->error = status.ok() ? "GetRegisters: no GPRs in the answer" : "GetRegisters: " + status.error_message();
            return false;
        }
        return true;
    };
    if (!call()) {
        return;
    }
    std::this_thread::sleep_until(begin);
    while (Clock::now() < end) {
        auto t0 = Clock::now();
        if (!call()) {
            return;
        }
        out->latency_us.push_back(us(Clock::now() - t0));
    }
}

void regs_round(const std::string& target, unsigned clients)
{
    auto begin = Clock::now() + std::chrono::milliseconds(500);
    auto end = begin + kRegsWindow;
    std::vector<ClientResult> results(clients);
    std::vector<std::thread> threads;
    for (unsigned i = 0; i < clients; ++i) {
        threads.emplace_back(regs_client, target, begin, end, &results[i]);
    }
    for (auto& t : threads) {
        t.join();
    }
    std::vector<double> all;
    for (const auto& r : results) {
        if (!r.error.empty()) {
            fail(r.error);
        }
        all.insert(all.end(), r.latency_us.begin(), r.latency_us.end());
    }
    if (all.empty()) {
        fail("GetRegisters: no call completed in the window");
    }
    double secs = std::chrono::duration<double>(kRegsWindow).count();
    std::printf("  %u client%s  %8zu calls  %9.0f req/s  p50 %8.1f us  p99 %8.1f us\n", clients,
                clients == 1 ? " " : "s", all.size(), static_cast<double>(all.size()) / secs,
                percentile(all, 0.5), percentile(all, 0.99));
}

void run_regs(const Daemon& daemon)
{
    auto stub = connect(daemon.target());
    create_and_start(*stub, "regs");
    check_banner(first_console_bytes(*stub, "regs"), "regs machine");
    std::printf("regs: GetRegisters(GPRS, vCPU 0) on one running hello guest (%s), %.0f s per run,\n"
                "      each client thread with its own channel and Unix-socket connection\n",
                kCmdline, std::chrono::duration<double>(kRegsWindow).count());
    regs_round(daemon.target(), 1);
    regs_round(daemon.target(), kRegsClients);
    delete_machine(*stub, "regs");
}

// A field of /proc/PID/status, in kB.
uint64_t status_kib(pid_t pid, const std::string& field)
{
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind(field + ":", 0) == 0) {
            return std::stoull(line.substr(field.size() + 1));
        }
    }
    fail("no " + field + " for process " + std::to_string(pid));
}

// User and system CPU time of a process, in seconds.
double cpu_seconds(pid_t pid)
{
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string text(std::istreambuf_iterator<char>(stat), {});
    std::istringstream fields(text.substr(text.rfind(')') + 2));
    std::string skip;
    for (int i = 3; i < 14; i++) {
        fields >> skip;
    }
    uint64_t utime = 0, stime = 0;
    fields >> utime >> stime;
    return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

void run_density(const Daemon& daemon, unsigned machines)
{
    auto stub = connect(daemon.target());
    const uint64_t rss0 = status_kib(daemon.pid(), "VmRSS");
    const auto t0 = Clock::now();
    for (unsigned i = 0; i < machines; i++) {
        create_and_start(*stub, "idle-" + std::to_string(i), Calls::One, kIdleCmdline, kIdleMemoryMib);
    }
    const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    std::this_thread::sleep_for(kSettle);
    const uint64_t rss = status_kib(daemon.pid(), "VmRSS");
    const double cpu0 = cpu_seconds(daemon.pid());
    std::this_thread::sleep_for(kCpuWindow);
    const double cpu = (cpu_seconds(daemon.pid()) - cpu0) / std::chrono::duration<double>(kCpuWindow).count();
    std::printf("density: %u idle hello guests (%s, %" PRIu64 " MiB) in one vmruntimed\n"
                "  resident memory  %" PRIu64 " KiB per machine (daemon %" PRIu64 " -> %" PRIu64 " KiB)\n"
                "  Create{start}    %.0f machines/s over gRPC, one client\n"
                "  CPU              %.1f %% of a core, %.3f %% per machine (ticks included)\n",
                machines, kIdleCmdline, kIdleMemoryMib, (rss - std::min(rss, rss0)) / machines, rss0, rss,
                machines / secs, 100 * cpu, 100 * cpu / machines);
    std::fflush(stdout);  // deleting thousands of busy machines takes minutes
    for (unsigned i = 0; i < machines; i++) {
        delete_machine(*stub, "idle-" + std::to_string(i));
    }
}

// vmctl on the daemon's socket, its output discarded.
pid_t spawn_vmctl(const Daemon& daemon, const std::vector<std::string>& args)
{
    std::vector<std::string> all = {VMCTL_PATH, "--socket", daemon.socket()};
    all.insert(all.end(), args.begin(), args.end());
    pid_t pid = ::fork();
    if (pid == 0) {
        int null = ::open("/dev/null", O_RDWR);
        ::dup2(null, 0);
        ::dup2(null, 1);
        std::vector<char*> argv;
        for (auto& a : all) {
            argv.push_back(a.data());
        }
        argv.push_back(nullptr);
        ::execv(VMCTL_PATH, argv.data());
        _exit(127);
    }
    return pid;
}

void wait_vmctl(pid_t pid)
{
    int status = 0;
    if (pid == -1 || ::waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fail("vmctl failed");
    }
}

// Machines a second that vmctl creates and starts, `parallel` at a time:
// one `run -d` each, or `create` then `start` with `two_steps`.
double vmctl_rate(const Daemon& daemon, const std::string& prefix, unsigned machines, unsigned parallel,
                  bool two_steps)
{
    const auto t0 = Clock::now();
    for (unsigned first = 0; first < machines; first += parallel) {
        std::vector<std::pair<pid_t, std::string>> running;
        for (unsigned i = first; i < std::min(machines, first + parallel); i++) {
            const std::string name = prefix + std::to_string(i);
            const std::vector<std::string> create = {"create", name, HELLO_ELF, "--memory", "8", "--cmdline",
                                                     kIdleCmdline};
            const std::vector<std::string> run = {"run", HELLO_ELF, "--name", name, "-d", "--memory", "8",
                                                  "--cmdline", kIdleCmdline};
            running.emplace_back(spawn_vmctl(daemon, two_steps ? create : run), name);
        }
        for (auto& [pid, name] : running) {
            wait_vmctl(pid);
            if (two_steps) {
                wait_vmctl(spawn_vmctl(daemon, {"start", name}));
            }
        }
    }
    return machines / std::chrono::duration<double>(Clock::now() - t0).count();
}

// Each way starts from an empty daemon: the guests one left behind would
// take the CPU from the next.
void run_vmctl(const Daemon& daemon, unsigned machines)
{
    auto stub = connect(daemon.target());
    auto clear = [&](const std::string& prefix) {
        for (unsigned i = 0; i < machines; i++) {
            delete_machine(*stub, prefix + std::to_string(i));
        }
    };
    const auto t0 = Clock::now();
    for (unsigned i = 0; i < machines; i++) {
        create_and_start(*stub, "grpc-" + std::to_string(i), Calls::One, kIdleCmdline, kIdleMemoryMib);
    }
    const double grpc = machines / std::chrono::duration<double>(Clock::now() - t0).count();
    clear("grpc-");
    const double serial = vmctl_rate(daemon, "run-", machines, 1, false);
    clear("run-");
    const double paired = vmctl_rate(daemon, "run2-", machines, 2, false);
    clear("run2-");
    const double steps = vmctl_rate(daemon, "steps-", machines, 1, true);
    clear("steps-");
    std::printf("vmctl: %u idle hello guests (%s, %" PRIu64 " MiB) each way, machines created and started a second\n"
                "  gRPC Create{start}, one client    %6.1f /s\n"
                "  vmctl run -d, one at a time       %6.1f /s  (%.2f of gRPC)\n"
                "  vmctl run -d, two at a time       %6.1f /s  (%.2f of gRPC)\n"
                "  vmctl create + vmctl start        %6.1f /s  (%.2f of gRPC)\n",
                machines, kIdleCmdline, kIdleMemoryMib, grpc, serial, serial / grpc, paired, paired / grpc, steps,
                steps / grpc);
}

}  // namespace

int main(int argc, char** argv)
{
    std::string which = argc > 1 ? argv[1] : "";
    unsigned long machines = 0;
    const bool counted = (which == "density" || which == "vmctl") && argc == 3 &&
                         (machines = std::strtoul(argv[2], nullptr, 10)) > 0;
    if (!counted && (argc > 2 || (which != "" && which != "boot" && which != "regs"))) {
        std::fprintf(stderr, "usage: grpc-bench [boot|regs|density N|vmctl N]\n");
        return 2;
    }
    int kvm = ::open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm == -1) {
        std::fprintf(stderr, "grpc-bench: cannot open /dev/kvm (%s): it needs KVM to run guests\n",
                     std::strerror(errno));
        return 1;
    }
    ::close(kvm);
    try {
        Daemon daemon;
        if (counted) {
            which == "density" ? run_density(daemon, static_cast<unsigned>(machines))
                               : run_vmctl(daemon, static_cast<unsigned>(machines));
            return 0;
        }
        if (which != "regs") {
            run_boot(daemon);
        }
        if (which != "boot") {
            run_regs(daemon);
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "grpc-bench: %s\n", e.what());
        return 1;
    }
    return 0;
}
