// SPDX-License-Identifier: BSD-2-Clause
//
// vmctl's shared pieces: parsed arguments, the connection to vmruntimed and
// the command table.  vmctl speaks only the vmruntime.v1 API; it never links
// the runtime.
#pragma once

#include <grpcpp/grpcpp.h>

#include <map>
#include <ostream>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "vmruntime/v1/vmruntime.grpc.pb.h"

namespace vmruntime::vmctl {

// Exit codes.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;  // the daemon (or the host) said no
inline constexpr int kExitUsage = 2;

// A command line after the verb: --key value options (repeatable), bare
// --flags and positional arguments.
struct Args {
    std::map<std::string, std::vector<std::string>> options;
    std::set<std::string> flags;
    std::vector<std::string> positional;

    bool has(const std::string& key) const { return options.count(key) != 0; }
    // The last value given for `key`, or `fallback`.
    std::string value(const std::string& key, const std::string& fallback = "") const;
};

inline constexpr const char* kDefaultSocket = "/run/vmruntime/vmruntimed.sock";

// Where vmruntimed is and how to prove who we are there (channel.cc).
struct Connection {
    std::string socket;   // empty: kDefaultSocket, unless address is set
    std::string address;  // HOST:PORT, always TLS
    std::string tls_ca, tls_cert, tls_key, token_file;

    // Why the options do not fit together, or "".
    std::string check() const;
    // The socket path or the address, for messages.
    std::string target() const;
};

// nullptr with `*error` set when a file cannot be read.
std::shared_ptr<grpc::Channel> open_channel(const Connection& conn, std::string* error);

struct Context {
    std::unique_ptr<v1::Machines::Stub> stub;
    Connection connection;
    bool json = false;
};

struct Command {
    const char* verb;
    const char* synopsis;  // arguments, after "vmctl VERB"
    const char* help;      // what it does, one paragraph
    std::set<std::string> options;  // taking a value
    std::set<std::string> flags;    // taking none
    size_t min_args;
    size_t max_args;
    int (*run)(Context& ctx, const Args& args);
};

// Every verb, in help order (commands.cc).
const std::vector<Command>& commands();

// The options that come before the verb (or anywhere), as help, the man
// page and the completion show them (main.cc).
struct GlobalOption {
    const char* name;
    const char* value;  // what it takes, or "" for a flag
    const char* help;
};
const std::vector<GlobalOption>& global_options();
// Other names of verbs: ls -> list (main.cc).
const std::map<std::string, std::string>& aliases();

// vmctl(1) in roff, and a bash completion script, both made from the
// tables above so that they cannot drift from the help (manual.cc).
void print_man_page(std::ostream& out);
void print_bash_completion(std::ostream& out);

// Prints the daemon's error as "vmctl: CODE: message"; returns kExitFailed.
int fail(const Context& ctx, const grpc::Status& status);
// Prints "vmctl: message"; returns kExitUsage.
int usage_error(const std::string& message);
// Prints a message as one line of JSON (--json) to stdout and flushes it,
// with `extra` keys whose values are JSON already (json.cc).
void print_json(const google::protobuf::Message& msg,
                const std::vector<std::pair<std::string, std::string>>& extra = {});
// `s` as a JSON string, quotes included.
std::string json_string(const std::string& s);
// An enum value as vmctl writes it: running, elf, restart.
std::string enum_word(const google::protobuf::EnumValueDescriptor* value);

// Words and quantities for people (format.cc).
std::string state_word(v1::MachineState state);
std::string loader_word(v1::LoaderKind kind);
bool parse_loader(const std::string& text, v1::LoaderKind* kind);
std::string duration(uint64_t ns);  // 5m12s
std::string size(uint64_t bytes);   // 1.5 MiB
// RFC 3339 in UTC with `digits` (1-9) of the second's fraction, as
// `docker logs -t` writes it: 2026-12-06T19:40:01.123456789Z.
std::string utc_time(int64_t unix_ns, int digits);
// A memory size of whole MiB, more than none: 512, 512M, 512MiB, 2G, 2GiB
// (any case; a bare number is MiB).
bool parse_mib(const std::string& text, uint64_t* mib);
// Parses a number in C syntax (0x.., 0.., decimal); false if malformed.
bool parse_u64(const std::string& text, uint64_t* value);
// A duration in milliseconds: 10s, 500ms, 2m; a bare number is seconds.
bool parse_duration_ms(const std::string& text, uint64_t* ms);

// The image path: positional argument `position` or --kernel, exactly one
// of them; -1 when found, else an exit code.
int image_argument(const Args& args, size_t position, std::string* image);
// Creates machine `name` from `image` and the create options, by Create
// with their paths or, with --upload, by Upload with their bytes, and
// starts it if `start` (in the Create call itself when it can); -1 when
// done, with `*machine` set, else an exit code.
int create_machine(Context& ctx, const Args& args, const std::string& name, const std::string& image, bool start,
                   v1::MachineInfo* machine);
// Upload: `spec` with the bytes of `image` and of `initrd` (if not empty)
// (upload.cc).
int upload_machine(Context& ctx, const v1::MachineSpec& spec, const std::string& image, const std::string& initrd,
                   v1::MachineInfo* machine);

// Prints a machine for people, or with --json as one line with `extra`
// keys (JSON already).
void print_machine(const Context& ctx, const v1::MachineInfo& m,
                   const std::vector<std::pair<std::string, std::string>>& extra = {});
// "0,2,3" into spec's cpus; false if malformed.
bool parse_cpus(const std::string& text, v1::MachineSpec* spec);
// `path` made absolute here: the daemon's working directory is not ours.
std::string absolute(const std::string& path);

// Snapshot verbs (snapshot.cc).
int cmd_snapshot(Context& ctx, const Args& args);
int cmd_restore(Context& ctx, const Args& args);
int cmd_clone(Context& ctx, const Args& args);
int cmd_reset(Context& ctx, const Args& args);
int cmd_snapshots(Context& ctx, const Args& args);

// Console verbs (console.cc).
int cmd_console(Context& ctx, const Args& args);
int cmd_run(Context& ctx, const Args& args);
// The console history (logs.cc).
int cmd_logs(Context& ctx, const Args& args);

}  // namespace vmruntime::vmctl
