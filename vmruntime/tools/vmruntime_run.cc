// SPDX-License-Identifier: BSD-2-Clause
//
// vmruntime-run: boots one guest image in-process with the runtime, its
// console on this terminal, until the guest powers off.  Keys go to the
// guest's UART; Ctrl-] ends the machine.  Exits with the guest's power-off
// status (1 if it crashed or was stopped).
#include <termios.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "vmruntime/runtime/device_layer.h"
#include "vmruntime/runtime/machine.h"

namespace {

using vmruntime::runtime::ImageFormat;
using vmruntime::runtime::Machine;
using vmruntime::runtime::MachineSpec;
using vmruntime::runtime::MachineState;

constexpr uint8_t kDetachKey = 0x1D;  // Ctrl-]

int usage()
{
    std::cerr << "usage: vmruntime-run [--memory MiB] [--vcpus N] [--cmdline TEXT] [--initrd FILE]\n"
                 "                     [--format elf|bzimage|pvh|flat-real|flat-protected|flat-long]\n"
                 "                     [--profile FILE] IMAGE\n"
                 "The format of an ELF file or a Linux kernel is found from the image by default.\n"
                 "--profile samples vCPU 0's RIP every millisecond and writes \"ms rip\" lines.\n";
    return 2;
}

bool parse_format(const std::string& text, ImageFormat* format)
{
    if (text == "elf") *format = ImageFormat::Elf64;
    else if (text == "bzimage") *format = ImageFormat::Bzimage;
    else if (text == "pvh") *format = ImageFormat::Pvh;
    else if (text == "flat-real") *format = ImageFormat::FlatReal;
    else if (text == "flat-protected") *format = ImageFormat::FlatProtected;
    else if (text == "flat-long") *format = ImageFormat::FlatLong;
    else return false;
    return true;
}

bool read_file(const std::string& path, std::vector<uint8_t>* bytes)
{
    std::ifstream file(path, std::ios::binary);
    if (!file) {
        std::cerr << "vmruntime-run: cannot read " << path << "\n";
        return false;
    }
    bytes->assign(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
    return true;
}

struct Paths {
    std::string image, initrd, profile;
};

bool parse_args(int argc, char** argv, MachineSpec* spec, Paths* paths)
{
    for (int i = 1; i < argc; i++) {
        std::string arg = argv[i];
        bool has_value = i + 1 < argc;
        if (arg == "--memory" && has_value) {
            spec->memory_bytes = std::stoull(argv[++i]) << 20;
        } else if (arg == "--vcpus" && has_value) {
            spec->vcpus = static_cast<unsigned>(std::stoul(argv[++i]));
        } else if (arg == "--cmdline" && has_value) {
            spec->cmdline = argv[++i];
        } else if (arg == "--initrd" && has_value) {
            paths->initrd = argv[++i];
        } else if (arg == "--profile" && has_value) {
            paths->profile = argv[++i];
        } else if (arg == "--format" && has_value) {
            if (!parse_format(argv[++i], &spec->format)) return false;
        } else if (arg.rfind("--", 0) == 0 || !paths->image.empty()) {
            return false;
        } else {
            paths->image = arg;
        }
    }
    return !paths->image.empty();
}

// Raw keyboard while the guest owns the terminal; restored on the way out.
class RawTerminal {
public:
    RawTerminal()
    {
        active_ = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved_) == 0;
        if (active_) {
            termios raw = saved_;
            cfmakeraw(&raw);
            raw.c_oflag |= OPOST | ONLCR;
            tcsetattr(STDIN_FILENO, TCSANOW, &raw);
        }
    }
    ~RawTerminal()
    {
        if (active_) tcsetattr(STDIN_FILENO, TCSANOW, &saved_);
    }

private:
    termios saved_{};
    bool active_ = false;
};

void pump_console(Machine& machine, std::atomic<bool>& done)
{
    auto& ring = machine.console();
    uint64_t offset = 0;
    while (!done.load() || ring.end_offset() > offset) {
        if (!ring.wait_for(offset, std::chrono::milliseconds(100))) continue;
        auto chunk = ring.read(offset, 4096);
        fwrite(chunk.bytes.data(), 1, chunk.bytes.size(), stdout);
        fflush(stdout);
        offset = chunk.offset + chunk.bytes.size();
    }
}

void pump_keyboard(Machine& machine, std::atomic<bool>& done)
{
    while (!done.load()) {
        fd_set fds;
        FD_ZERO(&fds);
        FD_SET(STDIN_FILENO, &fds);
        timeval tv{0, 100000};
        if (select(STDIN_FILENO + 1, &fds, nullptr, nullptr, &tv) <= 0) continue;
        uint8_t buf[256];
        ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
        if (n <= 0) return;  // no more input: the guest runs on
        if (std::memchr(buf, kDetachKey, static_cast<size_t>(n))) {
            machine.stop("detached from the terminal");
            return;
        }
        machine.console_input(std::span<const uint8_t>(buf, static_cast<size_t>(n)));
    }
}

// Where a guest spends its time, for guest-side tuning: RIP samples with
// the milliseconds since the start.
void sample_rip(Machine& machine, std::atomic<bool>& done, const std::string& path)
{
    std::vector<std::pair<uint64_t, uint64_t>> samples;
    nvmm_x64_state state;
    std::string error;
    const auto start = std::chrono::steady_clock::now();
    while (!done.load()) {
        if (machine.get_state(0, NVMM_X64_STATE_GPRS, &state, &error) == vmruntime::runtime::Outcome::Done) {
            auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::steady_clock::now() - start);
            samples.emplace_back(ms.count(), state.gprs[NVMM_X64_GPR_RIP]);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    std::ofstream out(path);
    for (const auto& [ms, rip] : samples) out << ms << " " << std::hex << rip << std::dec << "\n";
}

}  // namespace

int main(int argc, char** argv)
{
    MachineSpec spec;
    spec.name = "run";
    Paths paths;
    try {
        if (!parse_args(argc, argv, &spec, &paths)) return usage();
    } catch (const std::exception&) {
        return usage();
    }
    if (!read_file(paths.image, &spec.image) ||
        (!paths.initrd.empty() && !read_file(paths.initrd, &spec.initrd))) {
        return 1;
    }

    vmruntime::runtime::DeviceLayer layer(1);
    std::string error;
    auto machine = Machine::create(spec, layer, &error);
    if (!machine) {
        std::cerr << "vmruntime-run: " << error << "\n";
        return 1;
    }
    std::atomic<bool> done{false};
    int status = 1;
    {
        RawTerminal terminal;
        machine->start();
        std::thread console([&] { pump_console(*machine, done); });
        std::thread keyboard([&] { pump_keyboard(*machine, done); });
        std::thread profiler;
        if (!paths.profile.empty()) profiler = std::thread([&] { sample_rip(*machine, done, paths.profile); });
        while (!machine->wait(std::chrono::milliseconds(200))) {
        }
        done = true;
        console.join();
        keyboard.join();
        if (profiler.joinable()) profiler.join();
        auto end = machine->status();
        std::fprintf(stderr, "\r\nvmruntime-run: machine %s: %s\r\n", to_string(end.state), end.reason.c_str());
        status = end.state == MachineState::Stopped && end.reason.rfind("guest powered off", 0) == 0
                     ? static_cast<int>(end.exit_status)
                     : 1;
    }
    machine.reset();
    return status;
}
