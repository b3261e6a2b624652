// SPDX-License-Identifier: BSD-2-Clause
#include "daemon.h"

#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

namespace vmruntime::testing {
namespace {

bool can_connect(const std::string& path)
{
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    bool ok = fd != -1 && ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    if (fd != -1) {
        ::close(fd);
    }
    return ok;
}

std::string slurp(const std::string& path)
{
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

// `err_fd`, if not -1, is stderr instead of the file `err`.
[[noreturn]] void exec_child(const std::vector<std::string>& argv, const std::string& out,
                             const std::string& err, int err_fd = -1)
{
    int null = ::open("/dev/null", O_RDONLY);
    int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int e = err_fd != -1 ? err_fd : ::open(err.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    ::dup2(null, 0);
    ::dup2(o, 1);
    ::dup2(e, 2);
    std::vector<char*> args;
    for (const auto& a : argv) {
        args.push_back(const_cast<char*>(a.c_str()));
    }
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    _exit(127);
}

int wait_exit(pid_t pid)
{
    int status = 0;
    while (::waitpid(pid, &status, 0) == -1 && errno == EINTR) {
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

Daemon::Daemon()
{
    char tmpl[] = "/tmp/vmruntimed-test.XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    socket_ = dir_ + "/sock";
    state_dir_ = dir_ + "/state";
}

Daemon::~Daemon()
{
    if (pid_ > 0) {
        stop();
    }
    if (stderr_pipe_ != -1) {
        ::close(stderr_pipe_);
    }
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
}

bool Daemon::start(const std::vector<std::string>& extra_args, std::chrono::seconds timeout)
{
    std::vector<std::string> argv = {VMRUNTIMED_PATH, "--socket",    socket_, "--state-dir",
                                     state_dir_,      "--log-level", "debug"};
    argv.insert(argv.end(), extra_args.begin(), extra_args.end());
    int pipe_fds[2] = {-1, -1};
    if (undrained_stderr_ && ::pipe2(pipe_fds, O_CLOEXEC) != 0) {
        return false;
    }
    pid_ = ::fork();
    if (pid_ == 0) {
        for (auto [resource, value] : limits_) {
            const rlimit limit = {value, value};
            if (::setrlimit(resource, &limit) != 0) {
                _exit(126);
            }
        }
        for (const auto& [name, value] : env_) {
            ::setenv(name.c_str(), value.c_str(), 1);
        }
        exec_child(argv, "/dev/null", dir_ + "/daemon.log", pipe_fds[1]);
    }
    if (undrained_stderr_) {
        ::close(pipe_fds[1]);
        if (stderr_pipe_ != -1) {
            ::close(stderr_pipe_);
        }
        stderr_pipe_ = pipe_fds[0];
    }
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        if (!running()) {
            return false;
        }
        if (can_connect(socket_)) {
            return true;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
}

bool Daemon::running()
{
    if (pid_ <= 0) {
        return false;
    }
    int status;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return false;
    }
    return true;
}

int Daemon::stop()
{
    if (pid_ <= 0) {
        return -1;
    }
    ::kill(pid_, SIGTERM);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    int status = 0;
    while (::waitpid(pid_, &status, WNOHANG) == 0) {
        if (std::chrono::steady_clock::now() > deadline) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, &status, 0);
            pid_ = -1;
            return -1;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string Daemon::log() const
{
    return slurp(dir_ + "/daemon.log");
}

ProcessUsage process_usage(pid_t pid)
{
    ProcessUsage usage;
    const std::string proc = "/proc/" + std::to_string(pid);
    std::error_code ec;
    for (auto it = std::filesystem::directory_iterator(proc + "/fd", ec); !ec && it != std::filesystem::directory_iterator();
         it.increment(ec)) {
        usage.fds++;
    }
    std::ifstream status(proc + "/status");
    std::string key;
    while (status >> key) {
        if (key == "Threads:") {
            status >> usage.threads;
        } else if (key == "VmRSS:") {
            status >> usage.rss_kib;
        }
    }
    return usage;
}

std::unique_ptr<v1::Machines::Stub> stalling_client(const std::string& socket)
{
    grpc::ChannelArguments small_window;
    small_window.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
    small_window.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 1024);
    return v1::Machines::NewStub(
        grpc::CreateCustomChannel("unix:" + socket, grpc::InsecureChannelCredentials(), small_window));
}

grpc::Status force_delete(v1::Machines::Stub& stub, const std::string& name)
{
    grpc::ClientContext cc;
    cc.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    v1::DeleteRequest req;
    req.set_name(name);
    req.set_force(true);
    v1::DeleteResponse resp;
    return stub.Delete(&cc, req, &resp);
}

int free_tcp_port()
{
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    int port = 0;
    if (fd != -1 && ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
        port = ntohs(addr.sin_port);
    }
    if (fd != -1) {
        ::close(fd);
    }
    return port;
}

CommandResult run_command(const std::vector<std::string>& argv)
{
    char tmpl[] = "/tmp/vmctl-test.XXXXXX";
    std::string dir = ::mkdtemp(tmpl);
    pid_t pid = ::fork();
    if (pid == 0) {
        exec_child(argv, dir + "/out", dir + "/err");
    }
    CommandResult r;
    r.exit_code = wait_exit(pid);
    r.out = slurp(dir + "/out");
    r.err = slurp(dir + "/err");
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    return r;
}

void DaemonFixture::SetUp()
{
    if (access("/dev/kvm", R_OK | W_OK) != 0) {
        GTEST_SKIP() << "*** /dev/kvm is not usable here: vmruntimed integration tests SKIPPED ***";
    }
    configure_daemon();
    ASSERT_TRUE(daemon_.start()) << daemon_.log();
    connect();
}

// The log's tail: a flood of guest output can make it long.
void DaemonFixture::TearDown()
{
    constexpr size_t kShown = 20000;
    if (HasFailure()) {
        const std::string log = daemon_.log();
        std::cerr << "--- daemon log ---\n" << log.substr(log.size() > kShown ? log.size() - kShown : 0);
    }
}

void DaemonFixture::connect()
{
    stub_ = v1::Machines::NewStub(grpc::CreateChannel("unix:" + daemon_.socket(), grpc::InsecureChannelCredentials()));
}

CommandResult DaemonFixture::vmctl(std::vector<std::string> args) const
{
    args.insert(args.begin(), {VMCTL_PATH, "--socket", daemon_.socket()});
    return run_command(args);
}

std::string DaemonFixture::console(const std::string& name, const std::string& until, const std::string& input,
                                   v1::MachineInfo* ended, const std::string& ready)
{
    grpc::ClientContext cc;
    cc.set_deadline(std::chrono::system_clock::now() + kGuestTimeout);
    auto stream = stub_->Console(&cc);
    v1::ConsoleRequest first;
    first.set_name(name);
    first.set_from_offset(0);
    stream->Write(first);
    std::string out;
    bool sent = false;
    v1::ConsoleResponse resp;
    while (stream->Read(&resp)) {
        out += resp.data();
        if (resp.has_ended() && ended) {
            *ended = resp.ended();
        }
        if (!input.empty() && !sent && out.find(ready) != std::string::npos) {
            v1::ConsoleRequest keys;
            keys.set_input(input);
            stream->Write(keys);
            sent = true;
        }
        if (!until.empty() && out.find(until) != std::string::npos) {
            cc.TryCancel();
        }
    }
    stream->Finish();
    return out;
}

}  // namespace vmruntime::testing
