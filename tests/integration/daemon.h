// SPDX-License-Identifier: BSD-2-Clause
//
// A real vmruntimed for integration tests: forked from the built binary on
// a socket and state directory of its own under a fresh temporary
// directory, its log kept in a file there.  Also runs vmctl.
#pragma once

#include <sys/resource.h>
#include <sys/types.h>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "vmruntime/v1/vmruntime.grpc.pb.h"

namespace vmruntime::testing {

class Daemon {
public:
    Daemon();
    // Stops the daemon if it runs and removes the directory.
    ~Daemon();
    Daemon(const Daemon&) = delete;
    Daemon& operator=(const Daemon&) = delete;

    // Starts vmruntimed (with `extra_args` after the socket, state and log
    // options) and waits until its socket accepts connections.  False if
    // it exited or did not answer within `timeout`.
    bool start(const std::vector<std::string>& extra_args = {},
               std::chrono::seconds timeout = std::chrono::seconds(20));
    // SIGTERM, then waits; returns the exit status, or -1 if it had to be
    // killed or did not exit normally.
    int stop();
    bool running();
    // Runs the next start()ed daemon under this resource limit (soft and
    // hard), as `prlimit` would.
    void limit(int resource, rlim_t value) { limits_.emplace_back(resource, value); }
    // Gives the next start()ed daemon a pipe for stderr that nobody reads
    // (log() is then empty).
    void undrained_stderr() { undrained_stderr_ = true; }
    // Gives the next start()ed daemons this environment variable.
    void set_env(std::string name, std::string value) { env_.emplace_back(std::move(name), std::move(value)); }
    // Serves the next start()ed daemons on `path`, instead of "sock" in dir().
    void set_socket(std::string path) { socket_ = std::move(path); }

    // The temporary directory, removed with the daemon.
    const std::string& dir() const { return dir_; }
    const std::string& socket() const { return socket_; }
    const std::string& state_dir() const { return state_dir_; }
    pid_t pid() const { return pid_; }
    std::string log() const;

private:
    std::string dir_, socket_, state_dir_;
    pid_t pid_ = -1;
    std::vector<std::pair<int, rlim_t>> limits_;
    std::vector<std::pair<std::string, std::string>> env_;
    bool undrained_stderr_ = false;
    int stderr_pipe_ = -1;  // its read end, held open, never read
};

struct CommandResult {
    int exit_code = -1;  // -1: killed by a signal
    std::string out, err;
};

// What a process holds: open descriptors, threads, resident memory.
struct ProcessUsage {
    size_t fds = 0;
    unsigned threads = 0;
    uint64_t rss_kib = 0;
};
ProcessUsage process_usage(pid_t pid);

// The fixture of a test with a vmruntimed of its own, started (after
// configure_daemon()) before the test and a client connected to it;
// skipped, loudly, where /dev/kvm is not usable.  The daemon's log is shown
// when the test fails.
// What guests/hello prints first.
inline constexpr const char* kBanner = "vmruntime hello guest";
// How long a test waits for a guest.
inline constexpr auto kGuestTimeout = std::chrono::seconds(60);

class DaemonFixture : public ::testing::Test {
protected:
    void SetUp() override;
    void TearDown() override;
    // Console output of machine `name` from offset 0 until `until` shows up
    // or the stream ends; `input` is sent once `ready` is seen.
    std::string console(const std::string& name, const std::string& until, const std::string& input = "",
                        v1::MachineInfo* ended = nullptr, const std::string& ready = kBanner);
    // Called before the daemon starts: resource limits, stderr.
    virtual void configure_daemon() {}
    // A new client, for a restarted daemon.
    void connect();
    // vmctl on the daemon's socket.
    CommandResult vmctl(std::vector<std::string> args) const;
    // A path in the daemon's temporary directory.
    std::string file(const std::string& name) const { return daemon_.dir() + "/" + name; }

    Daemon daemon_;
    std::unique_ptr<v1::Machines::Stub> stub_;
};

// A client of the daemon on `socket` whose HTTP/2 window is held at 1 KiB:
// once it stops reading, what the daemon sends it beyond that waits in the
// daemon.
std::unique_ptr<v1::Machines::Stub> stalling_client(const std::string& socket);

// A call whose request names a machine and nothing more (Start, Get...),
// given up after `timeout`.
template <typename Request, typename Response>
grpc::Status call_by_name(v1::Machines::Stub& stub,
                          grpc::Status (v1::Machines::Stub::*rpc)(grpc::ClientContext*, const Request&, Response*),
                          const std::string& name, Response* resp, std::chrono::seconds timeout)
{
    grpc::ClientContext cc;
    cc.set_deadline(std::chrono::system_clock::now() + timeout);
    Request req;
    req.set_name(name);
    Response ignored;
    return (stub.*rpc)(&cc, req, resp ? resp : &ignored);
}

// Deletes machine `name` whatever its state (Delete with force).
grpc::Status force_delete(v1::Machines::Stub& stub, const std::string& name);

// A TCP port on 127.0.0.1 that was free a moment ago, or 0.
int free_tcp_port();

// Runs `argv` with stdin from /dev/null and waits for it.
CommandResult run_command(const std::vector<std::string>& argv);

}  // namespace vmruntime::testing
