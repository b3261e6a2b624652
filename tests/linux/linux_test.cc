// SPDX-License-Identifier: BSD-2-Clause
//
// Linux guests under KVM, end to end through vmruntimed and vmctl: the
// project's small kernel (guests/linux) boots to its busybox shell, which
// answers over the Console stream; it resets and powers off as Linux does
// on a PC; vmctl gives a shell to type into and detaches on Ctrl-]; a stock
// Debian cloud kernel starts on the same platform; malformed kernels and
// initrds are refused before anything runs.  A boot takes tens of seconds
// on hosts where kernel code is emulated (PVM), so each test boots as few
// times as it can.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <ctime>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "daemon.h"
#include "linux_guest.h"
#include "vmruntime/v1/vmruntime.grpc.pb.h"

namespace vmruntime::testing {
namespace {


// One machine, two boots: the shell answers, the machine pauses and shows
// its registers while Linux runs, `reboot -f` resets it and on_reboot
// restart boots it again, where `poweroff -f` powers it off.
TEST_F(LinuxTest, SmallKernelShellRebootAndPowerOff)
{
    v1::MachineSpec spec = small_kernel("linux", kernel_.vmlinux);
    spec.set_on_reboot(v1::ON_REBOOT_RESTART);
    v1::MachineInfo created;
    ASSERT_TRUE(create(spec, &created).ok());
    EXPECT_EQ(created.spec().loader(), v1::LOADER_KIND_PVH) << "found from the vmlinux's note";
    ASSERT_TRUE(call(&v1::Machines::Stub::Start, "linux").ok());

    ConsoleSession console(*stub_, "linux");
    size_t booted = console.wait_for(kMarker + kernel_.release, kBootTimeout);
    ASSERT_NE(booted, std::string::npos) << console.text();
    ASSERT_NE(console.wait_for(kPrompt, kAnswerTimeout, booted), std::string::npos) << console.text();
    const std::string boot_log = console.text();
    EXPECT_NE(boot_log.find("No local APIC present"), std::string::npos);
    EXPECT_NE(boot_log.find("APIC: Keep in PIC mode(8259)"), std::string::npos);
    EXPECT_NE(boot_log.find("is a 16550A"), std::string::npos);

    EXPECT_EQ(console.command("echo $((6*7))"), "42\r\n");
    EXPECT_EQ(console.command("uname -r"), kernel_.release + "\r\n");
    // The timer is the PIT's and the console's interrupts are the 16550's,
    // both through the 8259A; the wall clock comes from the CMOS RTC.
    std::string interrupts = console.command("cat /proc/interrupts");
    EXPECT_NE(interrupts.find("XT-PIC      timer"), std::string::npos) << interrupts;
    EXPECT_NE(interrupts.find("XT-PIC      ttyS0"), std::string::npos) << interrupts;
    EXPECT_EQ(console.command("cat /sys/devices/system/clockevents/clockevent0/current_device"),
              "pit\r\n");
    const std::time_t now = std::time(nullptr);
    char year[8];
    std::strftime(year, sizeof year, "%Y", std::gmtime(&now));
    EXPECT_EQ(console.command("date -u +%Y"), std::string(year) + "\r\n");

    EXPECT_NE(registers("linux").rip(), 0u);
    v1::PauseResponse paused;
    ASSERT_TRUE(call(&v1::Machines::Stub::Pause, "linux", &paused).ok());
    EXPECT_EQ(paused.machine().state(), v1::MACHINE_STATE_PAUSED);
    const uint64_t rip = registers("linux").rip();
    EXPECT_EQ(registers("linux").rip(), rip) << "a paused guest does not move";
    ASSERT_TRUE(call(&v1::Machines::Stub::Resume, "linux").ok());
    EXPECT_EQ(console.command("echo $((6*7))"), "42\r\n") << "the shell answers after the pause";

    console.type("reboot -f\n");
    auto reset = console.wait_end(kAnswerTimeout);
    ASSERT_TRUE(reset) << console.text() << whereabouts("linux");
    EXPECT_EQ(reset->reason(), "guest reset (keyboard controller)");

    // The restarted machine is a new one, with a console of its own.
    ASSERT_TRUE(wait_until_running("linux")) << daemon_.log();
    ConsoleSession second(*stub_, "linux");
    size_t rebooted = second.wait_for(kMarker, kBootTimeout);
    ASSERT_NE(rebooted, std::string::npos) << second.text();
    EXPECT_NE(daemon_.log().find("restarted machine linux after a guest reset"), std::string::npos);
    ASSERT_NE(second.wait_for(kPrompt, kAnswerTimeout, rebooted), std::string::npos);

    second.type("poweroff -f\n");
    auto end = second.wait_end(kAnswerTimeout);
    ASSERT_TRUE(end) << second.text() << whereabouts("linux");
    EXPECT_EQ(end->state(), v1::MACHINE_STATE_STOPPED);
    EXPECT_EQ(end->reason(), "guest powered off (halted with interrupts disabled)");
}

// Without a restart policy a guest reset ends the machine, with the reason.
TEST_F(LinuxTest, RebootWithoutRestartStopsTheMachine)
{
    ASSERT_TRUE(create(small_kernel("once", kernel_.vmlinux)).ok());
    ASSERT_TRUE(call(&v1::Machines::Stub::Start, "once").ok());
    ConsoleSession console(*stub_, "once");
    ASSERT_NE(console.wait_for(kPrompt, kBootTimeout), std::string::npos) << console.text();
    console.type("reboot -f\n");
    auto end = console.wait_end(kAnswerTimeout);
    ASSERT_TRUE(end) << console.text();
    EXPECT_EQ(end->state(), v1::MACHINE_STATE_STOPPED);
    EXPECT_EQ(end->reason(), "guest reset (keyboard controller)");
}

// Stop asks first: Ctrl-Alt-Del on the i8042 makes the kernel restart
// (reboot=k), and that reset ends the machine although its policy would
// restart it.
TEST_F(LinuxTest, StopShutsLinuxDownWithCtrlAltDel)
{
    v1::MachineSpec spec = small_kernel("cad", kernel_.vmlinux);
    spec.set_on_reboot(v1::ON_REBOOT_RESTART);
    ASSERT_TRUE(create(spec).ok());
    ASSERT_TRUE(call(&v1::Machines::Stub::Start, "cad").ok());
    ConsoleSession console(*stub_, "cad");
    ASSERT_NE(console.wait_for(kPrompt, kBootTimeout), std::string::npos) << console.text();
    EXPECT_NE(console.text().find("AT Translated Set 2 keyboard"), std::string::npos) << console.text();

    grpc::ClientContext cc;
    cc.set_deadline(std::chrono::system_clock::now() + kAnswerTimeout);
    v1::StopRequest stop;
    stop.set_name("cad");
    stop.set_timeout_ms(30000);
    v1::StopResponse stopped;
    ASSERT_TRUE(stub_->Stop(&cc, stop, &stopped).ok());
    EXPECT_FALSE(stopped.forced()) << console.text() << whereabouts("cad");
    EXPECT_EQ(stopped.machine().state(), v1::MACHINE_STATE_STOPPED);
    // The small Linux's init takes Ctrl-Alt-Del and powers off, having
    // synced the disks: no reset, so nothing to restart.
    EXPECT_EQ(stopped.machine().reason(), "guest powered off (halted with interrupts disabled)");
    std::this_thread::sleep_for(500ms);
    v1::GetResponse got;
    ASSERT_TRUE(call(&v1::Machines::Stub::Get, "cad", &got).ok());
    EXPECT_EQ(got.machine().state(), v1::MACHINE_STATE_STOPPED) << "not restarted";
    EXPECT_EQ(daemon_.log().find("restarted machine cad"), std::string::npos) << daemon_.log();
}

// vmctl as a person uses it, on a pipe instead of a terminal.
class Vmctl {
public:
    explicit Vmctl(const std::vector<std::string>& args)
    {
        int in[2], out[2];
        EXPECT_EQ(pipe2(in, O_CLOEXEC), 0);
        EXPECT_EQ(pipe2(out, O_CLOEXEC), 0);
        pid_ = fork();
        if (pid_ == 0) {
            dup2(in[0], 0);
            dup2(out[1], 1);
            dup2(out[1], 2);
            std::vector<char*> argv;
            for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
            argv.push_back(nullptr);
            execv(argv[0], argv.data());
            _exit(127);
        }
        close(in[0]);
        close(out[1]);
        keys_ = in[1];
        reader_ = std::thread([this, fd = out[0]] {
            char buf[4096];
            ssize_t n;
            while ((n = read(fd, buf, sizeof buf)) > 0) {
                std::lock_guard lock(mutex_);
                out_.append(buf, static_cast<size_t>(n));
                cv_.notify_all();
            }
            close(fd);
        });
    }
    ~Vmctl()
    {
        if (pid_ > 0) kill(pid_, SIGKILL), wait();
        if (keys_ != -1) close(keys_);
        reader_.join();
    }

    bool wait_for(const std::string& text, std::chrono::seconds timeout)
    {
        std::unique_lock lock(mutex_);
        return cv_.wait_for(lock, timeout, [&] { return out_.find(text) != std::string::npos; });
    }
    void type(const std::string& keys) { EXPECT_EQ(write(keys_, keys.data(), keys.size()), ssize_t(keys.size())); }
    // The exit code, or -1 if it did not exit within `timeout`.
    int wait(std::chrono::seconds timeout = 30s)
    {
        auto deadline = std::chrono::steady_clock::now() + timeout;
        int status = 0;
        while (waitpid(pid_, &status, WNOHANG) == 0) {
            if (std::chrono::steady_clock::now() > deadline) return -1;
            std::this_thread::sleep_for(20ms);
        }
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    std::string output()
    {
        std::lock_guard lock(mutex_);
        return out_;
    }

private:
    pid_t pid_ = -1;
    int keys_ = -1;
    std::thread reader_;
    std::mutex mutex_;
    std::condition_variable cv_;
    std::string out_;
};

// `vmctl run --kernel` on the bzImage of the same kernel (the boot
// protocol's path), kernel and initrd sent with --upload as a remote client
// would: a shell to type into; Ctrl-] detaches and leaves the machine
// running; `vmctl console` attaches again.
TEST_F(LinuxTest, VmctlRunGivesAShellAndDetaches)
{
    std::vector<std::string> run = {VMCTL_PATH, "--socket", daemon_.socket(), "run", "--kernel",
                                    kernel_.bzimage, "--initrd", kernel_.initrd, "--memory", "64",
                                    "--cmdline", kernel_.cmdline, "--name", "bz", "--upload"};
    Vmctl vmctl(run);
    ASSERT_TRUE(vmctl.wait_for(kPrompt, kBootTimeout)) << vmctl.output();
    vmctl.type("echo $((6*7))\n");
    ASSERT_TRUE(vmctl.wait_for("\r\n42\r\n", kAnswerTimeout)) << vmctl.output();
    vmctl.type("\x1d");
    EXPECT_EQ(vmctl.wait(), 0) << vmctl.output();
    v1::GetResponse got;
    ASSERT_TRUE(call(&v1::Machines::Stub::Get, "bz", &got).ok());
    EXPECT_EQ(got.machine().state(), v1::MACHINE_STATE_RUNNING) << "detaching leaves it running";
    EXPECT_EQ(got.machine().spec().loader(), v1::LOADER_KIND_BZIMAGE);
    EXPECT_EQ(got.machine().image_size(), std::filesystem::file_size(kernel_.bzimage));
    EXPECT_EQ(got.machine().initrd_size(), std::filesystem::file_size(kernel_.initrd));

    Vmctl console({VMCTL_PATH, "--socket", daemon_.socket(), "console", "bz"});
    console.type("poweroff -f\n");
    EXPECT_EQ(console.wait(kAnswerTimeout), 0) << console.output();
    ASSERT_TRUE(call(&v1::Machines::Stub::Get, "bz", &got).ok());
    EXPECT_EQ(got.machine().state(), v1::MACHINE_STATE_STOPPED) << got.machine().reason();
}

// Debian's cloud kernel through the boot protocol: it takes our command
// line and our memory map (as given: no PVH fix-ups on this path).  On PVM
// hosts it gets no further than its early boot in a test's time
// (linux-guest.md); the test stops it there.
TEST_F(LinuxTest, StockDebianKernelTakesCommandLineAndMemoryMap)
{
    const std::string vmlinuz = std::string(DEBIAN_KERNEL_DIR) + "/vmlinuz";
    ASSERT_EQ(access(vmlinuz.c_str(), R_OK), 0)
        << "no " << vmlinuz << ": build target guest_debian_kernel";
    v1::MachineSpec spec;
    spec.set_name("debian");
    spec.set_memory_mib(256);
    spec.set_image_path(vmlinuz);
    spec.set_cmdline(kernel_.cmdline + " vmruntime.test=stock");
    v1::MachineInfo created;
    ASSERT_TRUE(create(spec, &created).ok());
    EXPECT_EQ(created.spec().loader(), v1::LOADER_KIND_BZIMAGE);
    ASSERT_TRUE(call(&v1::Machines::Stub::Start, "debian").ok());

    // Its decompressor alone runs for minutes where kernel code is emulated.
    ConsoleSession console(*stub_, "debian");
    EXPECT_NE(console.wait_for("Linux version ", 3 * kBootTimeout), std::string::npos) << console.text();
    EXPECT_NE(console.wait_for("Command line: " + spec.cmdline() + "\r\n", kAnswerTimeout),
              std::string::npos)
        << console.text();
    for (const char* region : {"BIOS-e820: [mem 0x0000000000000000-0x000000000009fbff] usable",
                               "BIOS-e820: [mem 0x000000000009fc00-0x000000000009ffff] reserved",
                               "BIOS-e820: [mem 0x00000000000f0000-0x00000000000fffff] reserved",
                               "BIOS-e820: [mem 0x0000000000100000-0x000000000fffffff] usable"}) {
        EXPECT_NE(console.wait_for(region, kAnswerTimeout), std::string::npos) << region << "\n"
                                                                               << console.text();
    }
    v1::StopResponse stopped;
    ASSERT_TRUE(call(&v1::Machines::Stub::Stop, "debian", &stopped).ok());
    EXPECT_EQ(stopped.machine().state(), v1::MACHINE_STATE_STOPPED);
}

// A copy of `from` with `edit` applied, in the daemon's directory.
std::string edited_copy(const Daemon& daemon, const std::string& from, const std::string& name,
                        const std::function<void(std::string&)>& edit)
{
    std::string bytes = slurp(from);
    edit(bytes);
    std::string path = daemon.dir() + "/" + name;
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
}

// Each refused at Create with INVALID_ARGUMENT and a message naming what is
// wrong; the daemon and a running neighbour carry on.
TEST_F(LinuxTest, MalformedKernelsAndInitrdsAreRefused)
{
    const std::string bz = kernel_.bzimage;
    auto put16 = [](std::string& b, size_t at, uint16_t v) { b[at] = char(v & 0xFF), b[at + 1] = char(v >> 8); };
    struct Case {
        std::string what, kernel, initrd;
        uint64_t memory_mib;
        std::string message;
    } cases[] = {
        {"truncated bzImage", edited_copy(daemon_, bz, "short", [](std::string& b) { b.resize(0x300); }), "", 64,
         "leave no kernel"},
        {"wrong boot flag", edited_copy(daemon_, bz, "flag", [&](std::string& b) { put16(b, 0x1FE, 0x1234); }), "",
         64, "boot flag at 0x1fe is 0x1234"},
        {"old protocol", edited_copy(daemon_, bz, "old", [&](std::string& b) { put16(b, 0x206, 0x020B); }), "", 64,
         "boot protocol 2.11 is older than 2.12"},
        {"no magic", edited_copy(daemon_, bz, "magic", [](std::string& b) { b[0x202] = 'X'; }), "", 64,
         "neither an ELF file nor a Linux bzImage"},
        {"truncated vmlinux", edited_copy(daemon_, kernel_.vmlinux, "vmshort", [](std::string& b) { b.resize(4096); }),
         "", 64, "ELF: program header"},
        {"initrd larger than RAM", kernel_.vmlinux,
         edited_copy(daemon_, kernel_.initrd, "big", [](std::string& b) { b.resize(80u << 20); }), 64,
         "more than the 67108864 bytes of the machine's memory"},
        {"initrd not fitting above the kernel", kernel_.vmlinux,
         edited_copy(daemon_, kernel_.initrd, "wide", [](std::string& b) { b.resize(50u << 20); }), 64,
         "does not fit"},
        {"kernel beyond RAM", kernel_.vmlinux, "", 16, "past the end of RAM"},
        {"directory as kernel", daemon_.dir(), "", 64, "is not a regular file"},
        {"missing initrd", kernel_.vmlinux, daemon_.dir() + "/none", 64, "No such file"},
    };
    for (const Case& c : cases) {
        v1::MachineSpec spec = small_kernel("bad", c.kernel);
        spec.set_memory_mib(c.memory_mib);
        if (c.initrd.empty()) spec.clear_initrd_path(); else spec.set_initrd_path(c.initrd);
        grpc::Status status = create(spec);
        const auto code = c.what == "missing initrd" ? grpc::StatusCode::NOT_FOUND : grpc::StatusCode::INVALID_ARGUMENT;
        EXPECT_EQ(status.error_code(), code) << c.what << ": " << status.error_message();
        EXPECT_NE(status.error_message().find(c.message), std::string::npos)
            << c.what << ": " << status.error_message();
    }
    v1::ListResponse list;
    grpc::ClientContext cc;
    ASSERT_TRUE(stub_->List(&cc, v1::ListRequest(), &list).ok());
    EXPECT_EQ(list.machines_size(), 0) << "nothing refused was kept";
    EXPECT_TRUE(daemon_.running());
}

}  // namespace
}  // namespace vmruntime::testing
