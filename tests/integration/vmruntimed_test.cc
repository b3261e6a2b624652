// SPDX-License-Identifier: BSD-2-Clause
//
// vmruntimed end to end: each test forks its own daemon on a temporary
// socket and state directory, drives it with the generated gRPC client (or
// the vmctl binary) and boots guests/hello, whose console says
// "vmruntime hello guest", echoes input, powers off on 'q' and after
// ticks=N with status exit=V.
#include <sys/stat.h>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <iterator>
#include <thread>

#include "daemon.h"
#include "vmruntime/v1/vmruntime.grpc.pb.h"

namespace vmruntime::testing {
namespace {

using std::chrono::seconds;
namespace v1 = vmruntime::v1;


class DaemonTest : public DaemonFixture {
protected:
    static v1::MachineSpec hello(const std::string& name, const std::string& cmdline = "")
    {
        v1::MachineSpec spec;
        spec.set_name(name);
        spec.set_memory_mib(16);
        spec.set_image_path(HELLO_ELF);
        spec.set_loader(v1::LOADER_KIND_ELF64);
        spec.set_cmdline(cmdline);
        return spec;
    }

    grpc::Status create(const v1::MachineSpec& spec)
    {
        grpc::ClientContext cc;
        v1::CreateRequest req;
        *req.mutable_spec() = spec;
        v1::CreateResponse resp;
        return stub_->Create(&cc, req, &resp);
    }

    template <typename Request, typename Response>
    grpc::Status call(grpc::Status (v1::Machines::Stub::*rpc)(grpc::ClientContext*, const Request&, Response*),
                      const std::string& name, Response* resp = nullptr)
    {
        return call_by_name(*stub_, rpc, name, resp, kGuestTimeout);
    }

    v1::ListResponse list_machines()
    {
        grpc::ClientContext cc;
        v1::ListResponse resp;
        grpc::Status status = stub_->List(&cc, v1::ListRequest(), &resp);
        EXPECT_TRUE(status.ok()) << status.error_message();
        return resp;
    }

    v1::MachineInfo get(const std::string& name)
    {
        v1::GetResponse resp;
        EXPECT_TRUE(call(&v1::Machines::Stub::Get, name, &resp).ok());
        return resp.machine();
    }
};

TEST_F(DaemonTest, HelloLifeCycle)
{
    ASSERT_TRUE(create(hello("h1")).ok());
    EXPECT_EQ(get("h1").state(), v1::MACHINE_STATE_CREATED);
    ASSERT_TRUE(call(&v1::Machines::Stub::Start, "h1").ok());
    EXPECT_NE(console("h1", kBanner).find(kBanner), std::string::npos);

    v1::PauseResponse paused;
    ASSERT_TRUE(call(&v1::Machines::Stub::Pause, "h1", &paused).ok());
    EXPECT_EQ(paused.machine().state(), v1::MACHINE_STATE_PAUSED);

    grpc::ClientContext cc;
    v1::GetRegistersRequest req;
    req.set_name("h1");
    req.add_classes(v1::STATE_CLASS_GPRS);
    req.add_classes(v1::STATE_CLASS_SEGMENTS);
    req.add_classes(v1::STATE_CLASS_MSRS);
    v1::GetRegistersResponse regs;
    ASSERT_TRUE(stub_->GetRegisters(&cc, req, &regs).ok());
    EXPECT_TRUE(regs.registers().has_gprs());
    EXPECT_FALSE(regs.registers().has_fpu());
    EXPECT_NE(regs.registers().gprs().rip(), 0u);
    EXPECT_TRUE(regs.registers().segments().cs().l()) << "hello runs in 64-bit mode";
    EXPECT_NE(regs.registers().msrs().efer() & (1u << 10), 0u) << "EFER.LMA";

    v1::ResumeResponse resumed;
    ASSERT_TRUE(call(&v1::Machines::Stub::Resume, "h1", &resumed).ok());
    EXPECT_EQ(resumed.machine().state(), v1::MACHINE_STATE_RUNNING);

    v1::StatsResponse stats;
    ASSERT_TRUE(call(&v1::Machines::Stub::Stats, "h1", &stats).ok());
    EXPECT_GT(stats.exits().io(), 0u);
    EXPECT_GT(stats.console_bytes(), 0u);

    grpc::ClientContext sc;
    v1::StopRequest stop;
    stop.set_name("h1");
    stop.set_timeout_ms(0);
    v1::StopResponse stopped;
    ASSERT_TRUE(stub_->Stop(&sc, stop, &stopped).ok());
    EXPECT_TRUE(stopped.forced()) << "no time to power off by itself";
    EXPECT_EQ(stopped.machine().state(), v1::MACHINE_STATE_STOPPED);

    ASSERT_TRUE(call(&v1::Machines::Stub::Delete, "h1").ok());
    EXPECT_EQ(call(&v1::Machines::Stub::Get, "h1").error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(DaemonTest, GuestPowerOffEndsConsoleWithItsStatus)
{
    ASSERT_TRUE(create(hello("ticks", "hz=100 ticks=20 exit=7")).ok());
    ASSERT_TRUE(call(&v1::Machines::Stub::Start, "ticks").ok());
    v1::MachineInfo ended;
    std::string out = console("ticks", "", "", &ended);
    EXPECT_NE(out.find("done 20 ticks"), std::string::npos) << out;
    EXPECT_EQ(ended.state(), v1::MACHINE_STATE_STOPPED);
    EXPECT_EQ(ended.exit_status(), 7u);
    EXPECT_EQ(get("ticks").state(), v1::MACHINE_STATE_STOPPED);
    // A stopped machine starts afresh, re-created from its spec.
    ASSERT_TRUE(call(&v1::Machines::Stub::Start, "ticks").ok());
    EXPECT_NE(console("ticks", kBanner).find(kBanner), std::string::npos);
}

TEST_F(DaemonTest, StopWaitsForAGuestThatPowersOffByItself)
{
    ASSERT_TRUE(create(hello("slow", "hz=100 ticks=30 exit=9")).ok());
    ASSERT_TRUE(call(&v1::Machines::Stub::Start, "slow").ok());
    grpc::ClientContext cc;
    v1::StopRequest stop;
    stop.set_name("slow");
    stop.set_timeout_ms(30000);
    v1::StopResponse stopped;
    ASSERT_TRUE(stub_->Stop(&cc, stop, &stopped).ok());
    EXPECT_FALSE(stopped.forced());
    EXPECT_EQ(stopped.machine().state(), v1::MACHINE_STATE_STOPPED);
    EXPECT_EQ(stopped.machine().exit_status(), 9u);
}

TEST_F(DaemonTest, ConsoleInputReachesTheGuest)
{
    ASSERT_TRUE(create(hello("echo", "exit=3")).ok());
    ASSERT_TRUE(call(&v1::Machines::Stub::Start, "echo").ok());
    v1::MachineInfo ended;
    // The first tick shows the guest's UART interrupt is enabled.
    std::string out = console("echo", "", "xyq", &ended, "tick 100");
    EXPECT_NE(out.find("xyq"), std::string::npos) << out;
    EXPECT_NE(out.find("bye"), std::string::npos) << out;
    EXPECT_EQ(ended.exit_status(), 3u);
}

TEST_F(DaemonTest, WatchSeesStateChanges)
{
    ASSERT_TRUE(create(hello("w")).ok());
    ASSERT_TRUE(create(hello("other")).ok());
    grpc::ClientContext cc;
    cc.set_deadline(std::chrono::system_clock::now() + kGuestTimeout);
    v1::WatchRequest req;
    req.set_name("w");
    auto reader = stub_->Watch(&cc, req);
    // The first event is the current state: the watch is in place after it.
    std::vector<std::string> seen;
    v1::WatchEvent event;
    ASSERT_TRUE(reader->Read(&event));
    seen.push_back(v1::MachineState_Name(event.state()));
    ASSERT_TRUE(call(&v1::Machines::Stub::Start, "other").ok());
    ASSERT_TRUE(call(&v1::Machines::Stub::Start, "w").ok());
    ASSERT_TRUE(force_delete(*stub_, "w").ok());
    while (reader->Read(&event)) {
        seen.push_back(event.deleted() ? "deleted" : v1::MachineState_Name(event.state()));
        if (event.deleted()) {
            break;
        }
    }
    cc.TryCancel();
    reader->Finish();
    std::vector<std::string> want = {"MACHINE_STATE_CREATED", "MACHINE_STATE_RUNNING", "MACHINE_STATE_STOPPED",
                                     "deleted"};
    EXPECT_EQ(seen, want);
}

// A watcher that stops reading is dropped with RESOURCE_EXHAUSTED once
// thousands of events wait for it, instead of queueing without bound;
// another watcher that reads keeps its stream.
TEST_F(DaemonTest, AWatcherThatStopsReadingIsDroppedNotQueuedForEver)
{
    auto stalled_stub = stalling_client(daemon_.socket());
    grpc::ClientContext stalled_cc, reading_cc;
    auto stalled = stalled_stub->Watch(&stalled_cc, v1::WatchRequest());
    v1::WatchRequest only_kept;
    only_kept.set_name("kept");
    auto reading = stub_->Watch(&reading_cc, only_kept);
    // Create and delete publish an event each.
    bool dropped = false;
    for (int i = 0; i < 10000 && !dropped; ++i) {
        ASSERT_TRUE(create(hello("churn")).ok());
        ASSERT_TRUE(call(&v1::Machines::Stub::Delete, "churn").ok());
        if (i % 200 == 199) {
            dropped = daemon_.log().find("Watch: dropped a watcher") != std::string::npos;
        }
    }
    v1::WatchEvent event;
    while (stalled->Read(&event)) {
    }
    grpc::Status status = stalled->Finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << status.error_message();
    EXPECT_NE(status.error_message().find("events behind"), std::string::npos) << status.error_message();

    ASSERT_TRUE(create(hello("kept")).ok());
    ASSERT_TRUE(reading->Read(&event));
    EXPECT_EQ(event.name(), "kept");
    reading_cc.TryCancel();
    reading->Finish();
}

TEST_F(DaemonTest, TwoClientsWatchOneMachine)
{
    ASSERT_TRUE(create(hello("ww")).ok());
    grpc::ClientContext cc[2];
    std::unique_ptr<grpc::ClientReader<v1::WatchEvent>> readers[2];
    v1::WatchEvent event;
    for (int i = 0; i < 2; i++) {
        cc[i].set_deadline(std::chrono::system_clock::now() + kGuestTimeout);
        v1::WatchRequest req;
        req.set_name("ww");
        readers[i] = stub_->Watch(&cc[i], req);
        ASSERT_TRUE(readers[i]->Read(&event));  // the current state: the watch is in place
        EXPECT_EQ(event.state(), v1::MACHINE_STATE_CREATED);
    }
    ASSERT_TRUE(call(&v1::Machines::Stub::Start, "ww").ok());
    ASSERT_TRUE(call(&v1::Machines::Stub::Pause, "ww").ok());
    for (int i = 0; i < 2; i++) {
        ASSERT_TRUE(readers[i]->Read(&event));
        EXPECT_EQ(event.state(), v1::MACHINE_STATE_RUNNING) << "watcher " << i;
        ASSERT_TRUE(readers[i]->Read(&event));
        EXPECT_EQ(event.state(), v1::MACHINE_STATE_PAUSED) << "watcher " << i;
        cc[i].TryCancel();
        readers[i]->Finish();
    }
}

// R15 is a register hello never touches: what the client writes stays.
// A write of all GPRs while running puts back what an earlier read saw, so
// it is only harmless while the guest stands still: hello with "idle" halts
// for good once it is up (no timer), and the test waits until reads agree.
TEST_F(DaemonTest, RegistersReadAndWrittenWhileRunningAndPaused)
{
    ASSERT_TRUE(create(hello("rw", "idle")).ok());
    ASSERT_TRUE(call(&v1::Machines::Stub::Start, "rw").ok());
    EXPECT_NE(console("rw", kBanner).find(kBanner), std::string::npos);
    auto read_gprs = [&](v1::GeneralRegisters* out) {
        grpc::ClientContext cc;
        v1::GetRegistersRequest req;
        req.set_name("rw");
        req.add_classes(v1::STATE_CLASS_GPRS);
        v1::GetRegistersResponse resp;
        grpc::Status status = stub_->GetRegisters(&cc, req, &resp);
        *out = resp.registers().gprs();
        return status;
    };
    auto write_r15 = [&](uint64_t value) {
        v1::GeneralRegisters gprs;
        grpc::Status status = read_gprs(&gprs);
        if (!status.ok()) {
            return status;
        }
        gprs.set_r15(value);
        grpc::ClientContext cc;
        v1::SetRegistersRequest req;
        req.set_name("rw");
        *req.mutable_registers()->mutable_gprs() = gprs;
        v1::SetRegistersResponse resp;
        return stub_->SetRegisters(&cc, req, &resp);
    };
    v1::GeneralRegisters gprs;
    ASSERT_TRUE(read_gprs(&gprs).ok()) << "while running";
    EXPECT_NE(gprs.rip(), 0u);
    int same = 0;
    for (int i = 0; i < 200 && same < 3; i++) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        v1::GeneralRegisters now;
        ASSERT_TRUE(read_gprs(&now).ok()) << "while running";
        same = now.rip() == gprs.rip() && now.rsp() == gprs.rsp() ? same + 1 : 0;
        gprs = now;
    }
    ASSERT_EQ(same, 3) << "the idle guest never came to rest";
    ASSERT_TRUE(write_r15(0x5EEDF00D).ok()) << "while running";
    ASSERT_TRUE(read_gprs(&gprs).ok());
    EXPECT_EQ(gprs.r15(), 0x5EEDF00Du) << "written while running";

    ASSERT_TRUE(call(&v1::Machines::Stub::Pause, "rw").ok());
    ASSERT_TRUE(write_r15(0xC0FFEE).ok()) << "while paused";
    ASSERT_TRUE(read_gprs(&gprs).ok());
    EXPECT_EQ(gprs.r15(), 0xC0FFEEu) << "written while paused";
    ASSERT_TRUE(call(&v1::Machines::Stub::Resume, "rw").ok());
    ASSERT_TRUE(read_gprs(&gprs).ok());
    EXPECT_EQ(gprs.r15(), 0xC0FFEEu) << "kept across resume";
}

TEST_F(DaemonTest, BadRequestsGetTheRightCodesAndTheDaemonStaysUp)
{
    using grpc::StatusCode;
    EXPECT_EQ(call(&v1::Machines::Stub::Get, "nosuch").error_code(), StatusCode::NOT_FOUND);
    EXPECT_EQ(call(&v1::Machines::Stub::Start, "nosuch").error_code(), StatusCode::NOT_FOUND);
    EXPECT_EQ(call(&v1::Machines::Stub::Delete, "nosuch").error_code(), StatusCode::NOT_FOUND);

    v1::MachineSpec junk = hello("junk");
    junk.set_image_bytes("this is not an ELF file");
    grpc::Status bad = create(junk);
    EXPECT_EQ(bad.error_code(), StatusCode::INVALID_ARGUMENT);
    EXPECT_FALSE(bad.error_message().empty());
    EXPECT_EQ(call(&v1::Machines::Stub::Get, "junk").error_code(), StatusCode::NOT_FOUND);

    v1::MachineSpec huge = hello("huge");
    huge.set_memory_mib(1 << 20);
    EXPECT_EQ(create(huge).error_code(), StatusCode::RESOURCE_EXHAUSTED);
    v1::MachineSpec wide = hello("wide");
    wide.set_vcpus(1000);
    EXPECT_EQ(create(wide).error_code(), StatusCode::RESOURCE_EXHAUSTED);
    EXPECT_EQ(create(hello("../etc")).error_code(), StatusCode::INVALID_ARGUMENT);
    v1::MachineSpec relative = hello("rel");
    relative.set_image_path("hello.elf");
    EXPECT_EQ(create(relative).error_code(), StatusCode::INVALID_ARGUMENT);

    // Names of any length keep their status: the message quotes 64 bytes.
    const std::string long_name(100000, 'x');
    grpc::Status unknown = call(&v1::Machines::Stub::Get, long_name);
    EXPECT_EQ(unknown.error_code(), StatusCode::NOT_FOUND) << unknown.error_message().substr(0, 200);
    EXPECT_LT(unknown.error_message().size(), 256u);
    EXPECT_EQ(create(hello(long_name)).error_code(), StatusCode::INVALID_ARGUMENT);
    v1::MachineSpec pinned = hello("pinned");
    pinned.add_cpus(1023);
    grpc::Status unusable = create(pinned);
    EXPECT_EQ(unusable.error_code(), StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(unusable.error_message().find("host CPU 1023 is not one this daemon may use"), std::string::npos)
        << unusable.error_message();

    ASSERT_TRUE(create(hello("m")).ok());
    EXPECT_EQ(create(hello("m")).error_code(), StatusCode::ALREADY_EXISTS);
    EXPECT_EQ(call(&v1::Machines::Stub::Pause, "m").error_code(), StatusCode::FAILED_PRECONDITION);
    ASSERT_TRUE(call(&v1::Machines::Stub::Start, "m").ok());
    EXPECT_EQ(call(&v1::Machines::Stub::Start, "m").error_code(), StatusCode::FAILED_PRECONDITION);
    EXPECT_EQ(call(&v1::Machines::Stub::Resume, "m").error_code(), StatusCode::FAILED_PRECONDITION);

    auto read = [&](uint64_t address, uint32_t length) {
        grpc::ClientContext cc;
        v1::ReadMemoryRequest req;
        req.set_name("m");
        req.set_address(address);
        req.set_length(length);
        v1::ReadMemoryResponse resp;
        return stub_->ReadMemory(&cc, req, &resp).error_code();
    };
    EXPECT_EQ(read(0x100000, 16), StatusCode::OK);
    EXPECT_EQ(read(16ULL << 20, 1), StatusCode::OUT_OF_RANGE);
    EXPECT_EQ(read(~0ULL - 4, 16), StatusCode::OUT_OF_RANGE);
    EXPECT_EQ(read(0, 2u << 20), StatusCode::INVALID_ARGUMENT);

    grpc::ClientContext rc;
    v1::GetRegistersRequest regs;
    regs.set_name("m");
    regs.set_vcpu(5);
    v1::GetRegistersResponse ignored;
    EXPECT_EQ(stub_->GetRegisters(&rc, regs, &ignored).error_code(), StatusCode::INVALID_ARGUMENT);

    // Registers KVM would not run from: refused, the field named, and the
    // guest runs on.
    grpc::ClientContext gc;
    regs.set_vcpu(0);
    v1::GetRegistersResponse current;
    ASSERT_TRUE(stub_->GetRegisters(&gc, regs, &current).ok());
    grpc::ClientContext sc;
    v1::SetRegistersRequest spoiled;
    spoiled.set_name("m");
    *spoiled.mutable_registers()->mutable_control() = current.registers().control();
    spoiled.mutable_registers()->mutable_control()->set_cr0(current.registers().control().cr0() & ~1ULL);
    v1::SetRegistersResponse unused;
    grpc::Status refused = stub_->SetRegisters(&sc, spoiled, &unused);
    EXPECT_EQ(refused.error_code(), StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(refused.error_message().find("cr0 sets PG without PE"), std::string::npos) << refused.error_message();
    EXPECT_EQ(get("m").state(), v1::MACHINE_STATE_RUNNING);

    EXPECT_TRUE(daemon_.running());
    v1::ListResponse list = list_machines();
    ASSERT_EQ(list.machines_size(), 1);
    EXPECT_EQ(list.machines(0).spec().name(), "m");
}

TEST_F(DaemonTest, WriteMemoryThenReadItBack)
{
    ASSERT_TRUE(create(hello("mem")).ok());
    grpc::ClientContext wc;
    v1::WriteMemoryRequest w;
    w.set_name("mem");
    w.set_address(0x3000);
    w.set_data("\x01\x02\x03\xff", 4);
    v1::WriteMemoryResponse wr;
    ASSERT_TRUE(stub_->WriteMemory(&wc, w, &wr).ok());
    grpc::ClientContext rc;
    v1::ReadMemoryRequest r;
    r.set_name("mem");
    r.set_address(0x3000);
    r.set_length(4);
    v1::ReadMemoryResponse rr;
    ASSERT_TRUE(stub_->ReadMemory(&rc, r, &rr).ok());
    EXPECT_EQ(rr.data(), std::string("\x01\x02\x03\xff", 4));
}

TEST_F(DaemonTest, RestartKeepsTheMachineList)
{
    ASSERT_TRUE(create(hello("a")).ok());
    v1::MachineSpec b = hello("b", "hz=50");
    std::ifstream elf(HELLO_ELF, std::ios::binary);
    b.set_image_bytes(std::string(std::istreambuf_iterator<char>(elf), {}));
    ASSERT_TRUE(create(b).ok());
    ASSERT_TRUE(call(&v1::Machines::Stub::Start, "a").ok());
    EXPECT_EQ(daemon_.stop(), 0) << "SIGTERM stops the guests and exits cleanly";

    ASSERT_TRUE(daemon_.start()) << daemon_.log();
    connect();
    v1::ListResponse list = list_machines();
    ASSERT_EQ(list.machines_size(), 2);
    EXPECT_EQ(list.machines(0).spec().name(), "a");
    EXPECT_EQ(list.machines(1).spec().name(), "b");
    EXPECT_EQ(list.machines(1).spec().cmdline(), "hz=50");
    for (const auto& m : list.machines()) {
        EXPECT_EQ(m.state(), v1::MACHINE_STATE_STOPPED);
    }
    EXPECT_EQ(call(&v1::Machines::Stub::Stats, "b").error_code(), grpc::StatusCode::FAILED_PRECONDITION);
    ASSERT_TRUE(call(&v1::Machines::Stub::Start, "b").ok());
    EXPECT_NE(console("b", kBanner).find(kBanner), std::string::npos);
}

// Past --max-machines or --max-memory a Create is RESOURCE_EXHAUSTED and
// changes nothing; deleting a machine makes room again, and the budget
// counts the machines a restart finds stored.
TEST_F(DaemonTest, CreatesPastTheBudgetsAreResourceExhausted)
{
    using grpc::StatusCode;
    ASSERT_EQ(daemon_.stop(), 0);
    for (const char* bad : {"0", "-1", "1Q", "", "99999999999999999999"}) {
        auto refused = run_command({VMRUNTIMED_PATH, "--socket", daemon_.socket(), "--max-memory", bad});
        EXPECT_EQ(refused.exit_code, 2) << "--max-memory '" << bad << "'";
        refused = run_command({VMRUNTIMED_PATH, "--socket", daemon_.socket(), "--max-machines", bad});
        EXPECT_EQ(refused.exit_code, 2) << "--max-machines '" << bad << "'";
    }
    const std::vector<std::string> budgets = {"--max-machines", "3", "--max-memory", "40M"};
    ASSERT_TRUE(daemon_.start(budgets)) << daemon_.log();
    connect();
    ASSERT_TRUE(create(hello("a")).ok());
    ASSERT_TRUE(create(hello("b")).ok());
    grpc::Status over = create(hello("c"));
    EXPECT_EQ(over.error_code(), StatusCode::RESOURCE_EXHAUSTED);
    EXPECT_NE(over.error_message().find("asks for 16 MiB, but the daemon's machines have 32 of the 40 MiB"),
              std::string::npos)
        << over.error_message();
    v1::MachineSpec small = hello("c");
    small.set_memory_mib(8);
    ASSERT_TRUE(create(small).ok());
    over = create(hello("d"));
    EXPECT_EQ(over.error_code(), StatusCode::RESOURCE_EXHAUSTED);
    EXPECT_NE(over.error_message().find("holds 3 machines, its limit (--max-machines)"), std::string::npos)
        << over.error_message();
    EXPECT_EQ(call(&v1::Machines::Stub::Get, "d").error_code(), StatusCode::NOT_FOUND);

    ASSERT_EQ(daemon_.stop(), 0);
    ASSERT_TRUE(daemon_.start(budgets)) << daemon_.log();
    connect();
    EXPECT_EQ(create(hello("d")).error_code(), StatusCode::RESOURCE_EXHAUSTED) << "stored machines count";
    ASSERT_TRUE(call(&v1::Machines::Stub::Delete, "a").ok());
    small.set_name("d");
    EXPECT_TRUE(create(small).ok());
    EXPECT_EQ(list_machines().machines_size(), 3);
}

// The loader leaves bss pages alone, so a machine never started costs about
// its image, whatever its bss: three machines of 3 GiB of bss each.
TEST_F(DaemonTest, ANeverStartedMachineCostsAboutItsImage)
{
    constexpr int kMachines = 3;
    const ProcessUsage before = process_usage(daemon_.pid());
    for (int i = 0; i < kMachines; i++) {
        v1::MachineSpec big;
        big.set_name("big" + std::to_string(i));
        big.set_memory_mib(3072);
        big.set_image_path(BIG_BSS_ELF);
        grpc::Status created = create(big);
        ASSERT_TRUE(created.ok()) << created.error_message();
    }
    const ProcessUsage after = process_usage(daemon_.pid());
    const uint64_t each_kib = (after.rss_kib - std::min(after.rss_kib, before.rss_kib)) / kMachines;
    std::cout << "a never-started machine of 3 GiB, nearly all of it bss: " << each_kib
              << " KiB of daemon RSS (" << before.rss_kib << " KiB before, " << after.rss_kib << " after)\n";
    EXPECT_LT(each_kib, 8u << 10);
    ASSERT_TRUE(call(&v1::Machines::Stub::Start, "big0").ok());
    ASSERT_TRUE(call(&v1::Machines::Stub::Stop, "big0").ok());
}

TEST_F(DaemonTest, SocketIsPrivateAndNotStolen)
{
    struct stat st;
    ASSERT_EQ(stat(daemon_.socket().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0660u);
    auto second = run_command({VMRUNTIMED_PATH, "--socket", daemon_.socket(), "--state-dir",
                               daemon_.state_dir()});
    EXPECT_EQ(second.exit_code, 1);
    EXPECT_NE(second.err.find("another daemon"), std::string::npos) << second.err;
    EXPECT_TRUE(daemon_.running());
}

TEST_F(DaemonTest, StateDirectoryIsNotShared)
{
    ASSERT_TRUE(create(hello("kept")).ok());
    // `timeout`: a daemon that wrongly starts is ended (status 124).
    auto second = run_command({"/usr/bin/timeout", "10", VMRUNTIMED_PATH, "--socket", daemon_.dir() + "/second.sock",
                               "--state-dir", daemon_.state_dir()});
    EXPECT_EQ(second.exit_code, 1);
    EXPECT_NE(second.err.find("another vmruntimed uses the state directory"), std::string::npos) << second.err;
    EXPECT_TRUE(daemon_.running());
    v1::ListResponse list = list_machines();
    EXPECT_EQ(list.machines_size(), 1);
}

TEST_F(DaemonTest, InterruptedWritesLeaveNothingBehind)
{
    ASSERT_TRUE(create(hello("kept")).ok());
    EXPECT_EQ(daemon_.stop(), 0);
    const std::string machines = daemon_.state_dir() + "/machines/";
    std::ofstream(machines + "kept.json.tmp") << "{\"name\": \"kep";  // a rewrite cut short
    std::ofstream(machines + "new.json.tmp") << "{";                    // a create cut short
    ASSERT_TRUE(daemon_.start()) << daemon_.log();
    connect();
    struct stat st;
    EXPECT_NE(stat((machines + "kept.json.tmp").c_str(), &st), 0);
    EXPECT_NE(stat((machines + "new.json.tmp").c_str(), &st), 0);
    v1::ListResponse list = list_machines();
    ASSERT_EQ(list.machines_size(), 1);
    EXPECT_EQ(list.machines(0).spec().name(), "kept");
}

// Machines come and go for ever on a host: what each one took must come
// back.  Measured after a warm-up that fills the daemon's pools and caches.
TEST_F(DaemonTest, ChurnLeavesDescriptorsThreadsAndMemoryFlat)
{
    constexpr int kWarmUp = 100, kCycles = 1000;
    auto cycle = [&](int i) {
        const std::string name = "churn" + std::to_string(i % 8);
        grpc::Status created = create(hello(name, "hz=1000"));
        ASSERT_TRUE(created.ok()) << created.error_message();
        ASSERT_TRUE(call(&v1::Machines::Stub::Start, name).ok());
        grpc::Status stopped = call(&v1::Machines::Stub::Stop, name);
        ASSERT_TRUE(stopped.ok()) << stopped.error_message();
        ASSERT_TRUE(call(&v1::Machines::Stub::Delete, name).ok());
    };
    for (int i = 0; i < kWarmUp; i++) {
        ASSERT_NO_FATAL_FAILURE(cycle(i));
    }
    ProcessUsage before = process_usage(daemon_.pid());
    for (int i = kWarmUp; i < kCycles; i++) {
        ASSERT_NO_FATAL_FAILURE(cycle(i));
    }
    ProcessUsage after = process_usage(daemon_.pid());
    ASSERT_GT(before.fds, 0u);
    ASSERT_GT(before.threads, 0u);
    ASSERT_GT(before.rss_kib, 0u);
    EXPECT_EQ(after.fds, before.fds);
    EXPECT_EQ(after.threads, before.threads);
#ifndef __SANITIZE_ADDRESS__  // ASan's quarantine keeps freed memory on purpose
    constexpr uint64_t kRssSlackKib = 16 << 10;
    EXPECT_LT(after.rss_kib, before.rss_kib + kRssSlackKib)
        << "RSS grew from " << before.rss_kib << " KiB to " << after.rss_kib << " KiB";
#endif
    EXPECT_TRUE(daemon_.running());
}

TEST_F(DaemonTest, Vmctl)
{
    auto run = vmctl({"run", HELLO_ELF, "--name", "r", "--cmdline", "hz=100 ticks=10 exit=5", "--rm"});
    EXPECT_EQ(run.exit_code, 5) << run.err;
    EXPECT_NE(run.out.find(kBanner), std::string::npos) << run.out;
    EXPECT_NE(run.out.find("done 10 ticks"), std::string::npos) << run.out;

    auto created = vmctl({"create", "c", HELLO_ELF, "--memory", "8"});
    EXPECT_EQ(created.exit_code, 0) << created.err;
    auto list = vmctl({"list", "--json"});
    EXPECT_EQ(list.exit_code, 0) << list.err;
    EXPECT_NE(list.out.find("\"name\":\"c\""), std::string::npos) << list.out;
    EXPECT_NE(list.out.find("\"state\":\"created\""), std::string::npos) << list.out;
    EXPECT_EQ(list.out.find("\"name\":\"r\""), std::string::npos) << "--rm deleted it";

    auto missing = vmctl({"get", "nosuch"});
    EXPECT_EQ(missing.exit_code, 1);
    EXPECT_NE(missing.err.find("NOT_FOUND"), std::string::npos) << missing.err;
    EXPECT_EQ(vmctl({"frobnicate"}).exit_code, 2);
    EXPECT_EQ(vmctl({"start"}).exit_code, 2);
    EXPECT_EQ(vmctl({"help", "regs"}).exit_code, 0);

    auto dump = vmctl({"mem", "c", "0", "32"});
    EXPECT_EQ(dump.exit_code, 0) << dump.err;
    EXPECT_EQ(std::count(dump.out.begin(), dump.out.end(), '\n'), 2) << dump.out;
}

}  // namespace
}  // namespace vmruntime::testing
