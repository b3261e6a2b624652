// SPDX-License-Identifier: BSD-2-Clause
//
// What the Linux guest tests share: the small kernel's build, a console
// session to type into, and a fixture with a daemon to run machines on.
#pragma once

#include <unistd.h>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>

#include "daemon.h"
#include "vmruntime/v1/vmruntime.grpc.pb.h"

namespace vmruntime::testing {

using namespace std::chrono_literals;
namespace v1 = vmruntime::v1;

inline constexpr const char* kMarker = "vmruntime-linux: init started on Linux ";
inline constexpr const char* kPrompt = "vmruntime:/root# ";
inline constexpr auto kBootTimeout = 240s;
inline constexpr auto kAnswerTimeout = 60s;

inline std::string slurp(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

inline std::string trimmed(std::string text)
{
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    return text;
}

// guests/linux's build: kernel, initrd, command line and release.
struct SmallKernel {
    std::string dir = VMRUNTIME_LINUX_DIR;
    std::string vmlinux = dir + "/vmlinux";
    std::string bzimage = dir + "/bzImage";
    std::string initrd = dir + "/initramfs.cpio";
    std::string cmdline = trimmed(slurp(dir + "/cmdline"));
    std::string release = trimmed(slurp(dir + "/kernel.release"));

    bool built() const { return access(vmlinux.c_str(), R_OK) == 0 && !cmdline.empty(); }
};

// A Console stream read on a thread of its own, so that a test can wait
// for text and type at once.
class ConsoleSession {
public:
    ConsoleSession(v1::Machines::Stub& stub, const std::string& name)
    {
        stream_ = stub.Console(&cc_);
        v1::ConsoleRequest first;
        first.set_name(name);
        first.set_from_offset(0);
        stream_->Write(first);
        reader_ = std::thread([this] { read_all(); });
    }
    ~ConsoleSession()
    {
        cc_.TryCancel();
        reader_.join();
        stream_->Finish();
    }

    // Waits for `text` after the first `from` bytes; returns where it ends,
    // or std::string::npos.
    size_t wait_for(const std::string& text, std::chrono::seconds timeout, size_t from = 0)
    {
        std::unique_lock lock(mutex_);
        size_t at = std::string::npos;
        cv_.wait_for(lock, timeout, [&] {
            at = out_.find(text, from);
            return at != std::string::npos || ended_;
        });
        return at == std::string::npos ? at : at + text.size();
    }

    void type(const std::string& keys)
    {
        v1::ConsoleRequest req;
        req.set_input(keys);
        stream_->Write(req);
    }

    // Types a command at the prompt and returns what it printed before the
    // next prompt, without the echo of the command itself.
    std::string command(const std::string& line)
    {
        size_t start = size();
        type(line + "\n");
        size_t echoed = wait_for(line + "\r\n", kAnswerTimeout, start);
        if (echoed == std::string::npos) return "<no echo of '" + line + "'>";
        size_t prompt = wait_for(kPrompt, kAnswerTimeout, echoed);
        if (prompt == std::string::npos) return "<no prompt after '" + line + "'>";
        std::lock_guard lock(mutex_);
        return out_.substr(echoed, prompt - std::string(kPrompt).size() - echoed);
    }

    // The machine as the stream's last message gave it, once it ended.
    std::optional<v1::MachineInfo> wait_end(std::chrono::seconds timeout)
    {
        std::unique_lock lock(mutex_);
        cv_.wait_for(lock, timeout, [&] { return ended_; });
        return end_;
    }

    size_t size()
    {
        std::lock_guard lock(mutex_);
        return out_.size();
    }
    std::string text()
    {
        std::lock_guard lock(mutex_);
        return out_;
    }

private:
    void read_all()
    {
        v1::ConsoleResponse resp;
        while (stream_->Read(&resp)) {
            std::lock_guard lock(mutex_);
            out_ += resp.data();
            if (resp.has_ended()) end_ = resp.ended();
            cv_.notify_all();
        }
        std::lock_guard lock(mutex_);
        ended_ = true;
        cv_.notify_all();
    }

    grpc::ClientContext cc_;
    std::unique_ptr<grpc::ClientReaderWriter<v1::ConsoleRequest, v1::ConsoleResponse>> stream_;
    std::thread reader_;
    std::mutex mutex_;
    std::condition_variable cv_;
    std::string out_;
    bool ended_ = false;
    std::optional<v1::MachineInfo> end_;
};

class LinuxTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        if (access("/dev/kvm", R_OK | W_OK) != 0) {
            GTEST_SKIP() << "*** /dev/kvm is not usable here: Linux guest tests SKIPPED ***";
        }
        ASSERT_TRUE(kernel_.built()) << "no kernel in " << kernel_.dir
                                     << ": build it with cmake --build --preset default --target guest_linux";
        ASSERT_TRUE(daemon_.start()) << daemon_.log();
        stub_ = v1::Machines::NewStub(grpc::CreateChannel("unix:" + daemon_.socket(),
                                                          grpc::InsecureChannelCredentials()));
    }

    void TearDown() override
    {
        if (HasFailure()) std::cerr << "--- daemon log ---\n" << daemon_.log();
    }

    v1::MachineSpec small_kernel(const std::string& name, const std::string& kernel)
    {
        v1::MachineSpec spec;
        spec.set_name(name);
        spec.set_memory_mib(64);
        spec.set_image_path(kernel);
        spec.set_initrd_path(kernel_.initrd);
        spec.set_cmdline(kernel_.cmdline);
        return spec;
    }

    grpc::Status create(const v1::MachineSpec& spec, v1::MachineInfo* info = nullptr)
    {
        grpc::ClientContext cc;
        v1::CreateRequest req;
        *req.mutable_spec() = spec;
        v1::CreateResponse resp;
        grpc::Status status = stub_->Create(&cc, req, &resp);
        if (info) *info = resp.machine();
        return status;
    }

    template <typename Request, typename Response = v1::GetResponse>
    grpc::Status call(grpc::Status (v1::Machines::Stub::*rpc)(grpc::ClientContext*, const Request&,
                                                              Response*),
                      const std::string& name, Response* resp = nullptr)
    {
        return call_by_name(*stub_, rpc, name, resp, kAnswerTimeout);
    }

    v1::GeneralRegisters registers(const std::string& name)
    {
        grpc::ClientContext cc;
        cc.set_deadline(std::chrono::system_clock::now() + kAnswerTimeout);
        v1::GetRegistersRequest req;
        req.set_name(name);
        req.add_classes(v1::STATE_CLASS_GPRS);
        v1::GetRegistersResponse resp;
        grpc::Status status = stub_->GetRegisters(&cc, req, &resp);
        EXPECT_TRUE(status.ok()) << status.error_message();
        return resp.registers().gprs();
    }

    // Where vCPU 0 of a guest that stopped answering is, for a failure's
    // message: two looks a second apart tell a halted guest from a busy one.
    std::string whereabouts(const std::string& name)
    {
        std::ostringstream out;
        for (int look = 0; look < 2; look++) {
            if (look) std::this_thread::sleep_for(1s);
            v1::GeneralRegisters gprs = registers(name);
            grpc::ClientContext cc;
            cc.set_deadline(std::chrono::system_clock::now() + kAnswerTimeout);
            v1::StatsRequest req;
            req.set_name(name);
            v1::StatsResponse stats;
            (void)stub_->Stats(&cc, req, &stats);
            out << "vCPU 0: rip 0x" << std::hex << gprs.rip() << " rflags 0x" << gprs.rflags() << std::dec
                << "; exits: io " << stats.exits().io() << ", hlt " << stats.exits().halted() << ", interrupts "
                << stats.exits().interrupts() << ", other " << stats.exits().other() << "\n";
        }
        return out.str();
    }

    bool wait_until_running(const std::string& name)
    {
        auto deadline = std::chrono::steady_clock::now() + kAnswerTimeout;
        while (std::chrono::steady_clock::now() < deadline) {
            v1::GetResponse got;
            if (call(&v1::Machines::Stub::Get, name, &got).ok() &&
                got.machine().state() == v1::MACHINE_STATE_RUNNING) {
                return true;
            }
            std::this_thread::sleep_for(50ms);
        }
        return false;
    }

    SmallKernel kernel_;
    Daemon daemon_;
    std::unique_ptr<v1::Machines::Stub> stub_;
};

}  // namespace vmruntime::testing
