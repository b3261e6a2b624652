// SPDX-License-Identifier: BSD-2-Clause
//
// vmctl: the command-line client of vmruntimed.  Global options, argument
// parsing and dispatch to the command table; the verbs mirror the RPCs of
// vmruntime.v1.Machines (Pause -> vmctl pause).
#include <cerrno>
#include <cstdlib>
#include <iostream>
#include <iterator>
#include <map>

#include "vmctl.h"

namespace vmruntime::vmctl {

std::string Args::value(const std::string& key, const std::string& fallback) const
{
    auto it = options.find(key);
    return it == options.end() ? fallback : it->second.back();
}

int fail(const Context& ctx, const grpc::Status& status)
{
    if (status.error_code() == grpc::StatusCode::UNAVAILABLE) {
        std::cerr << "vmctl: vmruntimed at " << ctx.connection.target()
                  << " is unavailable: " << status.error_message() << " (is it running? see --socket, --address)\n";
        return kExitFailed;
    }
    static const char* const kNames[] = {
        "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
        "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",
        "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"};
    auto code = static_cast<size_t>(status.error_code());
    std::cerr << "vmctl: " << (code < std::size(kNames) ? kNames[code] : "ERROR") << ": "
              << status.error_message() << "\n";
    return kExitFailed;
}

int usage_error(const std::string& message)
{
    std::cerr << "vmctl: " << message << " (vmctl help shows the commands)\n";
    return kExitUsage;
}

bool parse_u64(const std::string& text, uint64_t* value)
{
    if (text.empty() || text[0] == '-') {
        return false;
    }
    char* end = nullptr;
    errno = 0;
    *value = std::strtoull(text.c_str(), &end, 0);
    return errno == 0 && *end == '\0';
}

const std::vector<GlobalOption>& global_options()
{
    static const std::vector<GlobalOption> kOptions = {
        {"--socket", "PATH", "the daemon's Unix socket (default /run/vmruntime/vmruntimed.sock)"},
        {"--address", "HOST:PORT", "the daemon's TCP port instead (vmruntimed --listen), always over TLS"},
        {"--tls-ca", "FILE", "with --address: the CA that signed the daemon's certificate (PEM;\n"
                             "default: the system's CAs)"},
        {"--tls-cert", "FILE", "with --address: our client certificate (PEM)"},
        {"--tls-key", "FILE", "with --address: its private key (PEM)"},
        {"--token-file", "FILE", "with --address: a file holding the daemon's bearer token"},
        {"--json", "", "machine-readable output (one JSON object per line)"},
        {"--version", "", "prints vmctl's version"},
        {"--help", "", "prints this"},
    };
    return kOptions;
}

// The names people coming from docker or virsh type.
const std::map<std::string, std::string>& aliases()
{
    static const std::map<std::string, std::string> kAliases = {
        {"ls", "list"}, {"ps", "list"}, {"rm", "delete"}, {"inspect", "get"}};
    return kAliases;
}

namespace {

void print_help()
{
    std::cout << "usage: vmctl [--socket PATH | --address HOST:PORT [TLS OPTIONS]] [--json] COMMAND [ARGS]\n\n"
                 "Controls the machines of vmruntimed.\n\n";
    for (const auto& o : global_options()) {
        std::string head = std::string(o.name) + (*o.value ? " " : "") + o.value;
        std::string help = o.help;
        for (size_t nl = help.find('\n'); nl != std::string::npos; nl = help.find('\n', nl + 1)) {
            help.insert(nl + 1, 22, ' ');
        }
        std::cout << "  " << head << std::string(head.size() < 20 ? 20 - head.size() : 1, ' ') << help << "\n";
    }
    std::cout << "\nExit status: 0 done, 1 the daemon refused (its message is printed), 2 bad usage.\n\n"
                 "Commands:\n";
    for (const auto& c : commands()) {
        std::cout << "  " << c.verb << " " << c.synopsis << "\n";
    }
    std::cout << "\nvmctl help COMMAND (or vmctl COMMAND --help) describes one.\n";
}

void print_command_help(const Command& c)
{
    std::cout << "usage: vmctl " << c.verb << " " << c.synopsis << "\n\n" << c.help << "\n";
}

// Connection options take a value; true if `arg` is one.
bool set_connection_option(const std::string& arg, const std::string& value, Connection* conn)
{
    static const std::map<std::string, std::string Connection::*> kFields = {
        {"--socket", &Connection::socket},     {"--address", &Connection::address},
        {"--tls-ca", &Connection::tls_ca},     {"--tls-cert", &Connection::tls_cert},
        {"--tls-key", &Connection::tls_key},   {"--token-file", &Connection::token_file}};
    auto it = kFields.find(arg);
    if (it == kFields.end()) {
        return false;
    }
    conn->*(it->second) = value;
    return true;
}

bool is_connection_option(const std::string& arg)
{
    Connection scratch;
    return set_connection_option(arg, "", &scratch);
}

const Command* find_command(std::string verb)
{
    if (auto alias = aliases().find(verb); alias != aliases().end()) {
        verb = alias->second;
    }
    for (const auto& c : commands()) {
        if (verb == c.verb) {
            return &c;
        }
    }
    return nullptr;
}

// Global options may come before or after the verb.
int parse(const Command& cmd, int argc, char** argv, int first, Context* ctx, Args* args)
{
    for (int i = first; i < argc; i++) {
        std::string arg = argv[i];
        if (arg == "--json") {
            ctx->json = true;
        } else if (arg == "--help" || arg == "-h") {
            print_command_help(cmd);
            return kExitOk;
        } else if (is_connection_option(arg) || cmd.options.count(arg)) {
            if (i + 1 >= argc) {
                return usage_error(arg + " needs a value");
            }
            if (!set_connection_option(arg, argv[i + 1], &ctx->connection)) {
                args->options[arg].push_back(argv[i + 1]);
            }
            i++;
        } else if (cmd.flags.count(arg)) {
            args->flags.insert(arg);
        } else if (arg.size() > 1 && arg[0] == '-' && arg != "-") {
            return usage_error("unknown option " + arg + " for " + cmd.verb);
        } else {
            args->positional.push_back(arg);
        }
    }
    if (args->positional.size() < cmd.min_args || args->positional.size() > cmd.max_args) {
        return usage_error(std::string("wrong number of arguments; usage: vmctl ") + cmd.verb + " " +
                           cmd.synopsis);
    }
    return -1;
}

}  // namespace
}  // namespace vmruntime::vmctl

int main(int argc, char** argv)
{
    using namespace vmruntime::vmctl;
    Context ctx;
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        std::string arg = argv[i];
        if (arg == "--json") {
            ctx.json = true;
        } else if (i + 1 < argc && set_connection_option(arg, argv[i + 1], &ctx.connection)) {
            i++;
        } else if (arg == "--help" || arg == "-h") {
            print_help();
            return kExitOk;
        } else if (arg == "--version") {
            std::cout << "vmctl " << VMRUNTIME_VERSION << "\n";
            return kExitOk;
        } else if (arg == "--man") {
            print_man_page(std::cout);
            return kExitOk;
        } else {
            return usage_error("unknown option " + arg);
        }
    }
    if (i >= argc) {
        print_help();
        return kExitUsage;
    }
    std::string verb = argv[i];
    if (verb == "help") {
        const Command* cmd = i + 1 < argc ? find_command(argv[i + 1]) : nullptr;
        cmd ? print_command_help(*cmd) : print_help();
        return kExitOk;
    }
    const Command* cmd = find_command(verb);
    if (!cmd) {
        return usage_error("unknown command " + verb);
    }
    Args args;
    if (int done = parse(*cmd, argc, argv, i + 1, &ctx, &args); done >= 0) {
        return done;
    }
    if (std::string wrong = ctx.connection.check(); !wrong.empty()) {
        return usage_error(wrong);
    }
    std::string error;
    auto channel = open_channel(ctx.connection, &error);
    if (!channel) {
        std::cerr << "vmctl: " << error << "\n";
        return kExitFailed;
    }
    ctx.stub = vmruntime::v1::Machines::NewStub(channel);
    return cmd->run(ctx, args);
}
