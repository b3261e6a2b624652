// SPDX-License-Identifier: BSD-2-Clause
//
// linux-boot: the project's small Linux guest (target guest_linux) run by
// vmruntime in-process against Debian's QEMU, and what a timer tick costs.
//
//   linux-boot boot   vmlinux by PVH with initramfs.cpio, 64 MiB, 1 vCPU,
//                     from launch (Machine::create, or fork) to init's
//                     marker line; the two alternate, medians and ratio
//   linux-boot idle   one guest of each at its shell prompt: host CPU per
//                     second of idle guest (the kernel stops its tick while
//                     idle: what is left is the cost of idling itself)
//   linux-boot tick   guests/hello ticking at 100 and 1000 Hz: host CPU of
//                     the whole run per tick
//   linux-boot disk   one guest of each with the same 64 MiB raw disk
//                     (virtio-blk over virtio-mmio): sequential 256 KiB and
//                     random 4 KiB O_DIRECT reads by the guest's blkread,
//                     the two alternating; throughput, reads/s and ratios
//   linux-boot net    one guest of each on a tap of its own, in a network
//                     namespace of the benchmark's (root only): the host
//                     pings the guest, and times 1-byte TCP round trips
//                     with the guest's tcpecho; medians and ratios
//   linux-boot all    boot, idle and tick (the default)
//
// The hosts are small and shared, and the cost of anything drifts by tens of
// percent within seconds: boots alternate, the idle guests are measured over
// the same window side by side, and medians are reported.  Without
// qemu-system-x86_64 the QEMU side is skipped.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "stats.h"
#include "vmruntime/base/unique_fd.h"
#include "vmruntime/runtime/device_layer.h"
#include "vmruntime/runtime/machine.h"
#include "vmruntime/runtime/tap.h"

namespace {

namespace rt = vmruntime::runtime;
using Clock = std::chrono::steady_clock;
using Seconds = std::chrono::duration<double>;
using vmruntime::bench::median;

constexpr uint64_t kLinuxMemory = 64ULL << 20;
constexpr uint64_t kHelloMemory = 2ULL << 20;
constexpr char kMarker[] = "vmruntime-linux: init started on Linux ";
constexpr char kQemu[] = "qemu-system-x86_64";
// /init execs the shell right after the marker; this is ample for its prompt.
constexpr auto kShellSettle = std::chrono::seconds(3);
constexpr unsigned kHelloRates[] = {100, 1000};
constexpr unsigned kHelloSeconds = 10;
// Console polls wake this often at most, to notice a dead guest or a deadline.
constexpr auto kPollSlice = std::chrono::milliseconds(100);
constexpr size_t kFailureTail = 2000;

struct Failure : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct Options {
    std::string mode = "all";
    int runs = 3;
    std::string linux_dir = VMRUNTIME_LINUX_DIR;
    std::chrono::seconds timeout{120};
    std::chrono::seconds idle{10};
};

std::optional<std::vector<uint8_t>> read_file(const std::string& path)
{
    std::ifstream file(path, std::ios::binary);
    if (!file) {
        return std::nullopt;
    }
    return std::vector<uint8_t>(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
}

std::string trimmed(const std::vector<uint8_t>& bytes)
{
    std::string text(bytes.begin(), bytes.end());
    text.erase(text.find_last_not_of(" \t\r\n") + 1);
    return text;
}

struct LinuxGuest {
    std::string vmlinux_path, initrd_path;
    std::vector<uint8_t> vmlinux, initrd;
    std::string cmdline, release;
};

LinuxGuest load_linux(const std::string& dir)
{
    LinuxGuest guest{dir + "/vmlinux", dir + "/initramfs.cpio", {}, {}, {}, {}};
    auto need = [&](const std::string& name) {
        auto bytes = read_file(dir + "/" + name);
        if (!bytes) {
            throw Failure("cannot read " + dir + "/" + name +
                          ": build the kernel with `cmake --build --preset default --target guest_linux`"
                          " (or give its directory with --dir)");
        }
        return std::move(*bytes);
    };
    guest.vmlinux = need("vmlinux");
    guest.initrd = need("initramfs.cpio");
    guest.cmdline = trimmed(need("cmdline"));
    guest.release = trimmed(need("kernel.release"));
    return guest;
}

std::vector<uint8_t> load_hello()
{
    auto bytes = read_file(VMRUNTIME_HELLO_ELF);
    if (!bytes) {
        throw Failure(std::string("cannot read ") + VMRUNTIME_HELLO_ELF +
                      ": build it with `cmake --build --preset default --target guest_hello`");
    }
    return std::move(*bytes);
}

// Console output as it arrives in pieces, watched for one line: the line
// counts once its end has come too, as a reader of lines would see it.
class LineWatch {
public:
    explicit LineWatch(std::string line) : line_(std::move(line)) {}

    // Adds output; true once the line is complete.
    bool feed(std::string_view output)
    {
        text_.append(output);
        while (!end_) {
            size_t at = text_.find(line_, from_);
            if (at == std::string::npos) {
                from_ = text_.size() >= line_.size() ? text_.size() - line_.size() + 1 : 0;
                return false;
            }
            size_t next = at + line_.size();
            if (next == text_.size()) {
                from_ = at;
                return false;
            }
            if (text_[next] == '\r' || text_[next] == '\n') {
                end_ = next;
            } else {
                from_ = at + 1;
            }
        }
        return true;
    }

    bool complete() const { return end_.has_value(); }
    size_t size() const { return text_.size(); }
    // The first complete line at or after `from` that starts with `prefix`,
    // without its end.
    std::optional<std::string> line_from(size_t from, std::string_view prefix) const
    {
        for (size_t at = text_.find(prefix, from); at != std::string::npos; at = text_.find(prefix, at + 1)) {
            if (at != 0 && text_[at - 1] != '\n') continue;
            size_t end = text_.find_first_of("\r\n", at);
            if (end == std::string::npos) return std::nullopt;
            return text_.substr(at, end - at);
        }
        return std::nullopt;
    }
    // The shell's prompt ends in "# "; anything after the marker would do
    // to show the shell started, but the prompt shows it is waiting.
    bool prompt_shown() const { return end_ && text_.find("# ", *end_) != std::string::npos; }
    std::string tail() const
    {
        return text_.size() > kFailureTail ? text_.substr(text_.size() - kFailureTail) : text_;
    }

private:
    std::string line_, text_;
    size_t from_ = 0;
    std::optional<size_t> end_;
};

[[noreturn]] void fail_with_console(const std::string& what, const LineWatch& watch)
{
    throw Failure(what + "; the console's last output:\n" + watch.tail());
}

double process_cpu_s()
{
    return vmruntime::bench::process_cpu_ns() * 1e-9;
}

// utime + stime of every thread of `pid`, from /proc/PID/stat.
double child_cpu_s(pid_t pid)
{
    std::ifstream file("/proc/" + std::to_string(pid) + "/stat");
    std::string stat((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    // The command name, in parentheses, may hold spaces: fields count from
    // the last ')', where field 3 (state) begins; utime and stime are 14, 15.
    size_t paren = stat.rfind(')');
    if (paren == std::string::npos) {
        throw Failure("cannot read /proc/" + std::to_string(pid) + "/stat");
    }
    std::istringstream fields(stat.substr(paren + 1));
    std::string skipped;
    for (int field = 3; field < 14; field++) {
        fields >> skipped;
    }
    unsigned long long utime = 0, stime = 0;
    if (!(fields >> utime >> stime)) {
        throw Failure("cannot parse /proc/" + std::to_string(pid) + "/stat");
    }
    return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

struct Boot {
    double wall_s = 0;
    double cpu_s = 0;
};

// A Linux guest run in this process by vmruntime, booted to its marker by
// the constructor; stopped and destroyed with this object.
class RuntimeGuest {
public:
    RuntimeGuest(rt::DeviceLayer& layer, const rt::MachineSpec& spec, const std::string& marker,
                 std::chrono::seconds timeout)
        : watch_(marker)
    {
        auto start = Clock::now();
        double cpu = process_cpu_s();
        std::string error;
        machine_ = rt::Machine::create(spec, layer, &error);
        if (!machine_) {
            throw Failure("vmruntime: " + error);
        }
        machine_->start();
        if (!follow_console(start + timeout, [this] { return watch_.complete(); })) {
            fail_with_console("vmruntime: no marker line within " + std::to_string(timeout.count()) + " s", watch_);
        }
        boot_ = {Seconds(Clock::now() - start).count(), process_cpu_s() - cpu};
    }
    ~RuntimeGuest() { machine_->stop("benchmark done"); }
    RuntimeGuest(const RuntimeGuest&) = delete;
    RuntimeGuest& operator=(const RuntimeGuest&) = delete;

    const Boot& boot() const { return boot_; }
    // Follows the console for `time` more; true if the shell prompt showed.
    bool settle(Clock::duration time)
    {
        follow_console(Clock::now() + time, [] { return false; });
        return watch_.prompt_shown();
    }
    // Types `line` at the shell and returns the first output line that
    // starts with `prefix`.
    std::string command(const std::string& line, const std::string& prefix, Clock::duration timeout)
    {
        const size_t from = watch_.size();
        const std::string keys = line + "\n";
        machine_->console_input({reinterpret_cast<const uint8_t*>(keys.data()), keys.size()});
        if (!follow_console(Clock::now() + timeout, [&] { return watch_.line_from(from, prefix).has_value(); })) {
            fail_with_console("vmruntime: no '" + prefix + "' line after '" + line + "'", watch_);
        }
        return *watch_.line_from(from, prefix);
    }

private:
    // Reads console output until `done` or the deadline; false at the
    // deadline.  The waits are blocking, so none of this thread's time goes
    // to polling.
    bool follow_console(Clock::time_point deadline, const std::function<bool()>& done)
    {
        auto& ring = machine_->console();
        while (!done()) {
            auto left = deadline - Clock::now();
            if (left <= Clock::duration::zero()) {
                return false;
            }
            if (!ring.wait_for(offset_, std::min<Clock::duration>(left, kPollSlice))) {
                check_running();
                continue;
            }
            auto chunk = ring.read(offset_, 1 << 16);
            watch_.feed({reinterpret_cast<const char*>(chunk.bytes.data()), chunk.bytes.size()});
            offset_ = chunk.offset + chunk.bytes.size();
        }
        return true;
    }

    void check_running()
    {
        auto status = machine_->status();
        if (status.state == rt::MachineState::Stopped || status.state == rt::MachineState::Crashed) {
            fail_with_console("vmruntime: the machine ended (" + std::string(to_string(status.state)) + ": " +
                                  status.reason + ")",
                              watch_);
        }
    }

    LineWatch watch_;
    std::unique_ptr<rt::Machine> machine_;
    uint64_t offset_ = 0;
    Boot boot_;
};

// A process whose stdout and stderr come back on a pipe and whose stdin is
// a pipe left open and silent, as an idle terminal would be; killed with
// SIGKILL and reaped when this goes.
class Child {
public:
    explicit Child(const std::vector<std::string>& argv)
    {
        int in[2], out[2];
        if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) {
            throw Failure(std::string("pipe: ") + std::strerror(errno));
        }
        // Built before fork: the child of a threaded process may only make
        // async-signal-safe calls.
        std::vector<char*> args;
        for (const auto& arg : argv) {
            args.push_back(const_cast<char*>(arg.c_str()));
        }
        args.push_back(nullptr);
        pid_ = fork();
        if (pid_ < 0) {
            throw Failure(std::string("fork: ") + std::strerror(errno));
        }
        if (pid_ == 0) {
            dup2(in[0], STDIN_FILENO);
            dup2(out[1], STDOUT_FILENO);
            dup2(out[1], STDERR_FILENO);
            // Not every descriptor of this process is close-on-exec (the
            // runtime's KVM ones need not be): QEMU must not hold them.
            close_range(3, ~0U, 0);
            execv(args[0], args.data());
            _exit(127);
        }
        close(in[0]);
        close(out[1]);
        input_ = in[1];
        output_ = out[0];
    }
    ~Child()
    {
        kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
        close(input_);
        close(output_);
    }
    Child(const Child&) = delete;
    Child& operator=(const Child&) = delete;

    pid_t pid() const { return pid_; }
    void write(const std::string& bytes)
    {
        if (::write(input_, bytes.data(), bytes.size()) != static_cast<ssize_t>(bytes.size())) {
            throw Failure(std::string("writing to the child: ") + std::strerror(errno));
        }
    }
    // What the child printed next, waiting at most `timeout`: empty if it
    // printed nothing; nullopt once its output has ended.
    std::optional<std::string> read(Clock::duration timeout)
    {
        pollfd fd{output_, POLLIN, 0};
        auto ms = std::chrono::ceil<std::chrono::milliseconds>(timeout).count();
        if (poll(&fd, 1, static_cast<int>(ms)) <= 0) {
            return std::string();
        }
        char buf[1 << 16];
        ssize_t n = ::read(output_, buf, sizeof buf);
        if (n <= 0) {
            return std::nullopt;
        }
        return std::string(buf, static_cast<size_t>(n));
    }

private:
    pid_t pid_ = -1;
    int input_ = -1, output_ = -1;
};

std::optional<std::string> find_in_path(const std::string& program)
{
    const char* path = std::getenv("PATH");
    std::istringstream dirs(path ? path : "/usr/bin:/bin");
    std::string dir;
    while (std::getline(dirs, dir, ':')) {
        std::string candidate = (dir.empty() ? "." : dir) + "/" + program;
        if (access(candidate.c_str(), X_OK) == 0) {
            return candidate;
        }
    }
    return std::nullopt;
}

// QEMU's first --version line.  Running it first also brings QEMU and its
// libraries into the page cache, so the first timed boot starts warm.
std::string qemu_version(const std::string& qemu)
{
    Child child({qemu, "--version"});
    std::string text;
    auto deadline = Clock::now() + std::chrono::seconds(10);
    while (Clock::now() < deadline) {
        auto piece = child.read(kPollSlice);
        if (!piece) {
            break;
        }
        text += *piece;
    }
    return text.substr(0, text.find('\n'));
}

std::vector<std::string> qemu_argv(const std::string& qemu, const LinuxGuest& guest)
{
    // The KVM paravirtual features are off because QEMU aborts setting
    // their MSRs on this host; microvm with the legacy PIC, PIT and RTC and
    // no local APIC gives the kernel the same platform as vmruntime's (with
    // an APIC that `nolapic` leaves masked, QEMU routes no PIC interrupt).
    return {qemu,
            "-accel", "kvm,kernel-irqchip=off",
            "-M", "microvm,acpi=off,pic=on,pit=on,rtc=on,isa-serial=on",
            "-cpu", "host,-apic,-x2apic,-kvm-poll-control,-kvm-pv-unhalt,-kvm-asyncpf,-kvm-steal-time,-kvm-pv-eoi,"
                    "-kvmclock,-kvmclock-stable-bit,-kvm-pv-ipi,-kvm-pv-tlb-flush,-kvm-pv-sched-yield,"
                    "-kvm-asyncpf-int,-kvm-msi-ext-dest-id",
            "-m", std::to_string(kLinuxMemory >> 20),
            "-nodefaults", "-no-user-config", "-nographic", "-serial", "stdio",
            "-kernel", guest.vmlinux_path,
            "-initrd", guest.initrd_path,
            "-append", guest.cmdline};
}

// The same guest run by QEMU, booted to its marker by the constructor.
class QemuGuest {
public:
    QemuGuest(const std::vector<std::string>& argv, const std::string& marker, std::chrono::seconds timeout)
        : start_(Clock::now()), child_(argv), watch_(marker)
    {
        if (!follow_output(start_ + timeout, [this] { return watch_.complete(); })) {
            fail_with_console("QEMU: no marker line within " + std::to_string(timeout.count()) + " s", watch_);
        }
        boot_ = {Seconds(Clock::now() - start_).count(), cpu_s()};
    }

    const Boot& boot() const { return boot_; }
    double cpu_s() const { return child_cpu_s(child_.pid()); }
    // Follows the output for `time` more; true if the shell prompt showed.
    bool settle(Clock::duration time)
    {
        follow_output(Clock::now() + time, [] { return false; });
        return watch_.prompt_shown();
    }
    // As RuntimeGuest::command.
    std::string command(const std::string& line, const std::string& prefix, Clock::duration timeout)
    {
        const size_t from = watch_.size();
        child_.write(line + "\n");
        if (!follow_output(Clock::now() + timeout, [&] { return watch_.line_from(from, prefix).has_value(); })) {
            fail_with_console("QEMU: no '" + prefix + "' line after '" + line + "'", watch_);
        }
        return *watch_.line_from(from, prefix);
    }

private:
    bool follow_output(Clock::time_point deadline, const std::function<bool()>& done)
    {
        while (!done()) {
            auto left = deadline - Clock::now();
            if (left <= Clock::duration::zero()) {
                return false;
            }
            auto piece = child_.read(std::min<Clock::duration>(left, kPollSlice));
            if (!piece) {
                fail_with_console("QEMU exited", watch_);
            }
            watch_.feed(*piece);
        }
        return true;
    }

    Clock::time_point start_;
    Child child_;
    LineWatch watch_;
    Boot boot_;
};

// The disk both guests read: a file of kDiskBytes with no holes (a hole
// reads faster than data), removed when this goes.
class BenchDisk {
public:
    static constexpr uint64_t kBytes = 64ULL << 20;

    BenchDisk()
    {
        char path[] = "/tmp/linux-boot-disk.XXXXXX";
        int fd = mkstemp(path);
        if (fd == -1) {
            throw Failure(std::string("mkstemp: ") + std::strerror(errno));
        }
        path_ = path;
        file_ = std::make_shared<const vmruntime::base::UniqueFd>(fd);
        std::vector<uint8_t> chunk(1 << 20);
        for (uint64_t at = 0; at < kBytes; at += chunk.size()) {
            for (size_t i = 0; i < chunk.size(); i += 4096) chunk[i] = static_cast<uint8_t>(at >> 20);
            if (pwrite(fd, chunk.data(), chunk.size(), static_cast<off_t>(at)) != static_cast<ssize_t>(chunk.size())) {
                throw Failure(std::string("writing the disk: ") + std::strerror(errno));
            }
        }
    }
    ~BenchDisk() { unlink(path_.c_str()); }
    BenchDisk(const BenchDisk&) = delete;
    BenchDisk& operator=(const BenchDisk&) = delete;

    const std::string& path() const { return path_; }
    rt::DiskSpec spec() const { return {file_, true, {}}; }

private:
    std::string path_;
    std::shared_ptr<const vmruntime::base::UniqueFd> file_;
};

rt::MachineSpec linux_spec(const LinuxGuest& guest)
{
    rt::MachineSpec spec;
    spec.name = "linux-boot";
    spec.memory_bytes = kLinuxMemory;
    spec.image = guest.vmlinux;
    spec.initrd = guest.initrd;
    spec.cmdline = guest.cmdline;
    return spec;
}

// What the benchmarks share: the guest, the device layer, QEMU if found.
struct Bench {
    const Options& options;
    rt::DeviceLayer& layer;
    std::optional<LinuxGuest> linux_guest;
    std::optional<std::string> qemu;

    std::string marker() const { return kMarker + linux_guest->release; }
    RuntimeGuest boot_runtime() const
    {
        return RuntimeGuest(layer, linux_spec(*linux_guest), marker(), options.timeout);
    }
    QemuGuest boot_qemu() const { return QemuGuest(qemu_argv(*qemu, *linux_guest), marker(), options.timeout); }
};

void print_boot(const char* side, int run, const Boot& boot)
{
    std::printf("  %-9s run %d: %6.2f s to the marker, %6.2f s of host CPU\n", side, run, boot.wall_s,
                boot.cpu_s);
    std::fflush(stdout);
}

void bench_boot(const Bench& bench)
{
    std::printf("boot: vmlinux by PVH + initramfs.cpio, %llu MiB, 1 vCPU, launch to \"%s\"; %d runs each, "
                "alternating\n",
                static_cast<unsigned long long>(kLinuxMemory >> 20), bench.marker().c_str(), bench.options.runs);
    std::vector<double> rt_wall, rt_cpu, qemu_wall, qemu_cpu;
    for (int run = 1; run <= bench.options.runs; run++) {
        Boot r = bench.boot_runtime().boot();
        rt_wall.push_back(r.wall_s), rt_cpu.push_back(r.cpu_s);
        print_boot("vmruntime", run, r);
        if (bench.qemu) {
            Boot q = bench.boot_qemu().boot();
            qemu_wall.push_back(q.wall_s), qemu_cpu.push_back(q.cpu_s);
            print_boot("QEMU", run, q);
        }
    }
    std::printf("  median vmruntime: %.2f s (CPU %.2f s)\n", median(rt_wall), median(rt_cpu));
    if (bench.qemu) {
        std::printf("  median QEMU:      %.2f s (CPU %.2f s)\n", median(qemu_wall), median(qemu_cpu));
        std::printf("  ratio vmruntime/QEMU: boot time %.2f (target < 0.8), CPU %.2f\n",
                    median(rt_wall) / median(qemu_wall), median(rt_cpu) / median(qemu_cpu));
    }
    std::fflush(stdout);
}

template <typename Guest>
void settle(Guest& guest, const char* side)
{
    if (!guest.settle(kShellSettle)) {
        std::printf("  (%s: no shell prompt %lld s after the marker; measuring anyway)\n", side,
                    static_cast<long long>(kShellSettle.count()));
    }
}

// One guest of each up at its prompt at once: vmruntime's from `spec`,
// QEMU's (if installed) with `qemu_devices` added to its arguments.
struct GuestPair {
    GuestPair(const Bench& bench, const rt::MachineSpec& spec, const std::vector<std::string>& qemu_devices)
        : runtime(bench.layer, spec, bench.marker(), bench.options.timeout)
    {
        settle(runtime, "vmruntime");
        if (bench.qemu) {
            auto argv = qemu_argv(*bench.qemu, *bench.linux_guest);
            argv.insert(argv.end(), qemu_devices.begin(), qemu_devices.end());
            qemu.emplace(argv, bench.marker(), bench.options.timeout);
            settle(*qemu, "QEMU");
        }
    }
    RuntimeGuest runtime;
    std::optional<QemuGuest> qemu;
};

struct DiskLoad {
    const char* name;
    std::string args;  // blkread's, after the device
    uint64_t reads, bytes;
};

// What blkread printed: "blkread: N us".
double blkread_seconds(const std::string& line, const char* side)
{
    char* end = nullptr;
    const unsigned long long us = std::strtoull(line.c_str() + std::strlen("blkread: "), &end, 10);
    if (us == 0 || std::string_view(end) != " us") {
        throw Failure(std::string(side) + ": blkread said '" + line + "'");
    }
    return static_cast<double>(us) * 1e-6;
}

// Both guests up at once with the same read-only disk; each load runs on
// one, then on the other, `runs` times, so that the host's drift falls on
// both alike.
void bench_disk(const Bench& bench)
{
    const BenchDisk disk;
    const DiskLoad loads[] = {
        {"sequential 256 KiB", "seq 256 262144", 256, 256ULL * 262144},
        {"random 4 KiB", "rand 2000 4096", 2000, 2000ULL * 4096},
    };
    std::printf("disk: one guest of each, a %llu MiB raw read-only disk as /dev/vda (virtio-blk over "
                "virtio-mmio), O_DIRECT reads by blkread in the guest; %d runs each, alternating\n",
                static_cast<unsigned long long>(BenchDisk::kBytes >> 20), bench.options.runs);
    std::fflush(stdout);
    rt::MachineSpec spec = linux_spec(*bench.linux_guest);
    spec.disks.push_back(disk.spec());
    GuestPair guests(bench, spec,
                     {"-drive", "id=vda,file=" + disk.path() + ",format=raw,if=none,readonly=on", "-device",
                      "virtio-blk-device,drive=vda"});
    RuntimeGuest& runtime = guests.runtime;
    std::optional<QemuGuest>& qemu = guests.qemu;
    const auto timeout = bench.options.timeout;
    for (const DiskLoad& load : loads) {
        std::vector<double> rt_s, qemu_s;
        const std::string line = "blkread /dev/vda " + load.args;
        for (int run = 1; run <= bench.options.runs; run++) {
            rt_s.push_back(blkread_seconds(runtime.command(line, "blkread: ", timeout), "vmruntime"));
            if (qemu) {
                qemu_s.push_back(blkread_seconds(qemu->command(line, "blkread: ", timeout), "QEMU"));
            }
            std::printf("  %-18s run %d: vmruntime %7.3f s", load.name, run, rt_s.back());
            if (qemu) {
                std::printf(", QEMU %7.3f s", qemu_s.back());
            }
            std::printf("\n");
            std::fflush(stdout);
        }
        auto report = [&](const char* side, double seconds) {
            std::printf("  median %-18s %-9s %8.1f MB/s %8.0f reads/s\n", load.name, side,
                        static_cast<double>(load.bytes) / seconds / 1e6, static_cast<double>(load.reads) / seconds);
        };
        report("vmruntime", median(rt_s));
        if (qemu) {
            report("QEMU", median(qemu_s));
            std::printf("  ratio vmruntime/QEMU %-18s throughput %.2f\n", load.name, median(qemu_s) / median(rt_s));
        }
        std::fflush(stdout);
    }
}

// A host network of the benchmark's own: this process moves to a fresh
// network namespace (QEMU, forked later, follows), where each guest gets a
// tap and a /24; nothing of the host's networks is touched.
class BenchNetwork {
public:
    BenchNetwork()
    {
        if (geteuid() != 0 || unshare(CLONE_NEWNET) != 0) {
            throw Failure("net needs root: it makes a network namespace and taps");
        }
        std::string error;
        runtime_tap_ = std::make_shared<const vmruntime::base::UniqueFd>(rt::open_tap(kRuntimeTap, &error));
        if (!*runtime_tap_) {
            throw Failure("tap " + std::string(kRuntimeTap) + ": " + error);
        }
        shell(std::string("ip tuntap add dev ") + kQemuTap + " mode tap");
        shell(std::string("ip addr add 10.0.3.1/24 dev ") + kRuntimeTap + " && ip link set " + kRuntimeTap + " up");
        shell(std::string("ip addr add 10.0.4.1/24 dev ") + kQemuTap + " && ip link set " + kQemuTap + " up");
    }

    static constexpr char kRuntimeTap[] = "vmrt-bench0", kQemuTap[] = "vmrt-bench1";
    static constexpr char kRuntimeGuest[] = "10.0.3.2", kQemuGuest[] = "10.0.4.2";
    rt::NetSpec runtime_card() const { return {runtime_tap_, {}}; }

    static void shell(const std::string& command)
    {
        if (std::system((command + " >/dev/null 2>&1").c_str()) != 0) {
            throw Failure("'" + command + "' failed");
        }
    }

private:
    std::shared_ptr<const vmruntime::base::UniqueFd> runtime_tap_;
};

// The host's ping of `address`: the median round trip, in microseconds, of
// `count` echoes.
double ping_us(const char* address, int count)
{
    const std::string command = "ping -n -q -c " + std::to_string(count) + " -i 0.2 -W 5 " + address + " 2>&1";
    std::unique_ptr<FILE, int (*)(FILE*)> out(popen(command.c_str(), "r"), pclose);
    std::string text;
    char line[512];
    while (out && fgets(line, sizeof line, out.get())) text += line;
    // "rtt min/avg/max/mdev = 0.512/0.633/0.872/0.101 ms": iputils prints
    // no median, so the average stands for it.
    const size_t at = text.find(" = ");
    if (text.find("rtt ") == std::string::npos || at == std::string::npos) {
        throw Failure("ping " + std::string(address) + ": " + text);
    }
    const size_t avg = text.find('/', at) + 1;
    return std::strtod(text.c_str() + avg, nullptr) * 1e3;
}

// The median of `count` 1-byte round trips through the guest's tcpecho on
// port 7000, each written with TCP_NODELAY and read back in full.
double tcp_round_trip_us(const char* address, int count)
{
    vmruntime::base::UniqueFd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in at{};
    at.sin_family = AF_INET;
    at.sin_port = htons(7000);
    inet_pton(AF_INET, address, &at.sin_addr);
    const timeval patience{10, 0};
    setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &patience, sizeof patience);
    int on = 1;
    setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    if (connect(fd.get(), reinterpret_cast<sockaddr*>(&at), sizeof at) != 0) {
        throw Failure("connecting to " + std::string(address) + ":7000: " + std::strerror(errno));
    }
    std::vector<double> us;
    for (int i = 0; i < count; i++) {
        char byte = static_cast<char>(i);
        const auto start = Clock::now();
        if (write(fd.get(), &byte, 1) != 1 || read(fd.get(), &byte, 1) != 1) {
            throw Failure("TCP round trip with " + std::string(address) + ": " + std::strerror(errno));
        }
        us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
    }
    return median(us);
}

// Both guests up at once, each on its own tap; the loads alternate between
// them `runs` times.
void bench_net(const Bench& bench)
{
    constexpr int kPings = 20, kRoundTrips = 200;
    const BenchNetwork network;
    std::printf("net: one guest of each on a tap of its own (virtio-net over virtio-mmio), in a network namespace; "
                "host ping (%d echoes, average) and %d 1-byte TCP round trips with the guest's tcpecho (median); "
                "%d runs each, alternating\n",
                kPings, kRoundTrips, bench.options.runs);
    std::fflush(stdout);
    rt::MachineSpec spec = linux_spec(*bench.linux_guest);
    spec.nets.push_back(network.runtime_card());
    GuestPair guests(bench, spec,
                     {"-netdev", std::string("tap,id=n0,script=no,downscript=no,ifname=") + BenchNetwork::kQemuTap,
                      "-device", "virtio-net-device,netdev=n0"});
    RuntimeGuest& runtime = guests.runtime;
    std::optional<QemuGuest>& qemu = guests.qemu;
    const auto timeout = bench.options.timeout;
    auto bring_up = [&](auto& guest, const char* address) {
        guest.command(std::string("ip addr add ") + address + "/24 dev eth0 && ip link set eth0 up && echo net-up",
                      "net-up", timeout);
        // Its own "listening" line would land after the prompt, where no
        // line starts; two seconds are ample for it to get there.
        guest.command("tcpecho 7000 >/dev/null & sleep 2; echo echo-up", "echo-up", timeout);
    };
    bring_up(runtime, BenchNetwork::kRuntimeGuest);
    if (qemu) {
        bring_up(*qemu, BenchNetwork::kQemuGuest);
    }
    std::vector<double> rt_ping, rt_tcp, qemu_ping, qemu_tcp;
    for (int run = 1; run <= bench.options.runs; run++) {
        rt_ping.push_back(ping_us(BenchNetwork::kRuntimeGuest, kPings));
        rt_tcp.push_back(tcp_round_trip_us(BenchNetwork::kRuntimeGuest, kRoundTrips));
        std::printf("  run %d: vmruntime ping %7.0f us, TCP %7.0f us", run, rt_ping.back(), rt_tcp.back());
        if (qemu) {
            qemu_ping.push_back(ping_us(BenchNetwork::kQemuGuest, kPings));
            qemu_tcp.push_back(tcp_round_trip_us(BenchNetwork::kQemuGuest, kRoundTrips));
            std::printf("; QEMU ping %7.0f us, TCP %7.0f us", qemu_ping.back(), qemu_tcp.back());
        }
        std::printf("\n");
        std::fflush(stdout);
    }
    std::printf("  median vmruntime: ping %.0f us, TCP round trip %.0f us\n", median(rt_ping), median(rt_tcp));
    if (qemu) {
        std::printf("  median QEMU:      ping %.0f us, TCP round trip %.0f us\n", median(qemu_ping), median(qemu_tcp));
        std::printf("  ratio vmruntime/QEMU: ping %.2f, TCP round trip %.2f\n", median(rt_ping) / median(qemu_ping),
                    median(rt_tcp) / median(qemu_tcp));
    }
    std::fflush(stdout);
}

void print_idle(const char* side, double cpu_s, double window_s)
{
    std::printf("  %-9s %7.2f ms of host CPU per second\n", side, cpu_s * 1e3 / window_s);
}

// Both guests idle at once and are measured over the same window, which
// takes the host's drift out of the comparison; neither touches the other's
// CPU accounting.  This thread only sleeps meanwhile, so the process's CPU
// time is the machine's.
void bench_idle(const Bench& bench)
{
    std::printf("idle: one guest of each at its shell prompt, host CPU over the same %lld s window "
                "(no tick while idle)\n",
                static_cast<long long>(bench.options.idle.count()));
    std::fflush(stdout);
    GuestPair guests(bench, linux_spec(*bench.linux_guest), {});
    std::optional<QemuGuest>& qemu = guests.qemu;
    auto start = Clock::now();
    double rt_cpu = process_cpu_s();
    double qemu_cpu = qemu ? qemu->cpu_s() : 0;
    std::this_thread::sleep_for(bench.options.idle);
    rt_cpu = process_cpu_s() - rt_cpu;
    qemu_cpu = qemu ? qemu->cpu_s() - qemu_cpu : 0;
    double window = Seconds(Clock::now() - start).count();
    print_idle("vmruntime", rt_cpu, window);
    if (qemu) {
        print_idle("QEMU", qemu_cpu, window);
        std::printf("  ratio vmruntime/QEMU: %.2f\n", rt_cpu / qemu_cpu);
    }
    std::fflush(stdout);
}

struct TickRun {
    double wall_s = 0;
    double cpu_s = 0;
};

// One hello run of `ticks` ticks at `hz`, from create to its power-off.
TickRun run_hello(const Bench& bench, const std::vector<uint8_t>& hello, unsigned hz, unsigned ticks)
{
    rt::MachineSpec spec;
    spec.name = "hello-tick";
    spec.memory_bytes = kHelloMemory;
    spec.image = hello;
    spec.format = rt::ImageFormat::Elf64;
    spec.cmdline = "hz=" + std::to_string(hz) + " ticks=" + std::to_string(ticks) + " exit=0";
    auto start = Clock::now();
    double cpu = process_cpu_s();
    std::string error;
    auto machine = rt::Machine::create(spec, bench.layer, &error);
    if (!machine) {
        throw Failure("hello: " + error);
    }
    machine->start();
    if (!machine->wait(bench.options.timeout)) {
        throw Failure("hello: " + spec.cmdline + " still running after " +
                      std::to_string(bench.options.timeout.count()) + " s");
    }
    TickRun run{Seconds(Clock::now() - start).count(), process_cpu_s() - cpu};
    auto status = machine->status();
    if (status.state != rt::MachineState::Stopped || status.exit_status != 0) {
        throw Failure("hello: " + spec.cmdline + " ended " + to_string(status.state) + ": " + status.reason);
    }
    return run;
}

void bench_tick(const Bench& bench, const std::vector<uint8_t>& hello)
{
    std::printf("tick: guests/hello, %llu MiB, %u s of ticks per run, host CPU of the whole run per tick; "
                "%d runs each, alternating\n",
                static_cast<unsigned long long>(kHelloMemory >> 20), kHelloSeconds, bench.options.runs);
    std::vector<std::vector<double>> per_tick(std::size(kHelloRates));
    // The extra CPU of the fast rate over the slow one, per extra tick: a
    // tick's cost without the run's start-up and power-off.
    std::vector<double> marginal;
    const unsigned slow_ticks = kHelloRates[0] * kHelloSeconds;
    const unsigned fast_ticks = kHelloRates[std::size(kHelloRates) - 1] * kHelloSeconds;
    for (int run = 1; run <= bench.options.runs; run++) {
        double slow_cpu = 0;
        for (size_t i = 0; i < std::size(kHelloRates); i++) {
            unsigned hz = kHelloRates[i], ticks = hz * kHelloSeconds;
            TickRun r = run_hello(bench, hello, hz, ticks);
            if (i == 0) {
                slow_cpu = r.cpu_s;
            } else if (i == std::size(kHelloRates) - 1) {
                marginal.push_back((r.cpu_s - slow_cpu) * 1e6 / (fast_ticks - slow_ticks));
            }
            per_tick[i].push_back(r.cpu_s * 1e6 / ticks);
            std::printf("  hz=%-4u ticks=%-5u run %d: %6.2f s, %7.1f ms of host CPU, %6.1f us per tick\n", hz,
                        ticks, run, r.wall_s, r.cpu_s * 1e3, per_tick[i].back());
            std::fflush(stdout);
        }
    }
    for (size_t i = 0; i < std::size(kHelloRates); i++) {
        std::printf("  median hz=%-4u %6.1f us of host CPU per tick\n", kHelloRates[i], median(per_tick[i]));
    }
    std::printf("  median marginal %6.1f us of host CPU per extra tick, start-up excluded (target <= 25 us)\n",
                median(marginal));
    std::fflush(stdout);
}

int usage()
{
    std::fprintf(stderr,
                 "usage: linux-boot [boot|idle|tick|disk|net|all] [--runs N] [--dir DIR] [--timeout SECONDS] "
                 "[--idle SECONDS]\n"
                 "  --runs N          boots (or hello runs) of each side, alternating (default 3)\n"
                 "  --dir DIR         where guest_linux put vmlinux, initramfs.cpio, cmdline and\n"
                 "                    kernel.release (default %s)\n"
                 "  --timeout SECONDS the most one boot or hello run may take (default 120)\n"
                 "  --idle SECONDS    the idle window (default 10)\n",
                 VMRUNTIME_LINUX_DIR);
    return 2;
}

std::optional<int> positive(const char* text)
{
    char* end = nullptr;
    errno = 0;
    long n = std::strtol(text, &end, 10);
    if (text[0] < '0' || text[0] > '9' || errno != 0 || *end != '\0' || n < 1 || n > 1'000'000) {
        return std::nullopt;
    }
    return static_cast<int>(n);
}

bool parse_args(int argc, char** argv, Options* options)
{
    int i = 1;
    if (i < argc && argv[i][0] != '-') {
        options->mode = argv[i++];
    }
    if (options->mode != "boot" && options->mode != "idle" && options->mode != "tick" && options->mode != "disk" &&
        options->mode != "net" && options->mode != "all") {
        return false;
    }
    for (; i + 1 < argc; i += 2) {
        std::string flag = argv[i];
        if (flag == "--dir") {
            options->linux_dir = argv[i + 1];
            continue;
        }
        auto n = positive(argv[i + 1]);
        if (!n) {
            return false;
        }
        if (flag == "--runs") {
            options->runs = *n;
        } else if (flag == "--timeout") {
            options->timeout = std::chrono::seconds(*n);
        } else if (flag == "--idle") {
            options->idle = std::chrono::seconds(*n);
        } else {
            return false;
        }
    }
    return i == argc;
}

void run(const Options& options)
{
    bool wants_linux = options.mode != "tick", wants_tick = options.mode == "tick" || options.mode == "all";
    rt::DeviceLayer layer;
    Bench bench{options, layer, {}, {}};
    // Everything is read and looked up first: a missing file should not
    // end the benchmark minutes into it.
    std::vector<uint8_t> hello;
    if (wants_tick) {
        hello = load_hello();
    }
    if (wants_linux) {
        bench.linux_guest = load_linux(options.linux_dir);
        bench.qemu = find_in_path(kQemu);
        if (bench.qemu) {
            std::printf("QEMU: %s (%s)\n", bench.qemu->c_str(), qemu_version(*bench.qemu).c_str());
        } else {
            std::printf("QEMU: %s is not installed (Debian: apt-get install qemu-system-x86); "
                        "skipping the QEMU side\n",
                        kQemu);
        }
        std::printf("kernel: %s, Linux %s, command line: %s\n", bench.linux_guest->vmlinux_path.c_str(),
                    bench.linux_guest->release.c_str(), bench.linux_guest->cmdline.c_str());
        std::fflush(stdout);
    }
    if (options.mode == "boot" || options.mode == "all") {
        bench_boot(bench);
    }
    if (options.mode == "idle" || options.mode == "all") {
        bench_idle(bench);
    }
    if (wants_tick) {
        bench_tick(bench, hello);
    }
    if (options.mode == "disk") {
        bench_disk(bench);
    }
    if (options.mode == "net") {
        bench_net(bench);
    }
}

}  // namespace

int main(int argc, char** argv)
{
    Options options;
    if (!parse_args(argc, argv, &options)) {
        return usage();
    }
    if (access("/dev/kvm", F_OK) != 0) {
        std::fprintf(stderr, "linux-boot: /dev/kvm is absent: this benchmark needs KVM\n");
        return 1;
    }
    try {
        run(options);
    } catch (const Failure& failure) {
        std::fflush(stdout);
        std::fprintf(stderr, "linux-boot: %s\n", failure.what());
        return 1;
    }
    return 0;
}
