// SPDX-License-Identifier: BSD-2-Clause
//
// vmruntimed: hosts named machines and serves vmruntime.v1.Machines on a
// Unix socket (mode 0660; accepted by server/unix_listener.h, so that a
// local client's files are opened with its own rights) and, with --listen,
// on a TCP port that is always TLS and always authenticated
// (server/tcp_auth.h), whose clients name files only beneath --image-dir.
// Machine specs live in the state directory and survive restarts.  SIGTERM
// or SIGINT powers the guests off and exits.
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server.h>
#include <grpcpp/server_builder.h>

#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <exception>
#include <utility>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>

#include "server/machine_service.h"
#include "server/metrics.h"
#include "server/metrics_http.h"
#include "server/registry.h"
#include "server/rpc_log.h"
#include "server/state_log.h"
#include "server/tcp_auth.h"
#include "server/unix_listener.h"
#include "server/usage.h"
#include "vmruntime/base/log.h"

namespace {

using vmruntime::base::LogLevel;

// Streams that never end by themselves (Watch) are cancelled after this.
constexpr auto kShutdownGrace = std::chrono::milliseconds(500);

struct Options {
    std::string socket = "/run/vmruntime/vmruntimed.sock";
    std::string state_dir = "/var/lib/vmruntime";
    LogLevel level = LogLevel::kInfo;
    vmruntime::server::TcpOptions tcp;
    std::vector<std::string> image_dirs;
    vmruntime::server::Limits limits;
    std::optional<gid_t> socket_group;
    std::string metrics_listen;
};

int usage()
{
    vmruntime::server::print_usage(std::cerr);
    return 2;
}

bool parse_level(const std::string& text, LogLevel* level)
{
    if (text == "debug") *level = LogLevel::kDebug;
    else if (text == "info") *level = LogLevel::kInfo;
    else if (text == "warn") *level = LogLevel::kWarn;
    else if (text == "error") *level = LogLevel::kError;
    else return false;
    return true;
}

// A positive count.
bool parse_count(const std::string& text, uint64_t* count)
{
    size_t end = 0;
    try {
        *count = std::stoull(text, &end);
    } catch (const std::exception&) {
        return false;
    }
    return end == text.size() && *count > 0 && text.front() != '-';
}

// MiB, or a size with a binary suffix, as MiB (at least 1).
bool parse_mib(std::string text, uint64_t* mib)
{
    static const std::pair<char, int> kShifts[] = {{'K', -10}, {'M', 0}, {'G', 10}, {'T', 20}};
    int shift = 0;
    for (auto [suffix, s] : kShifts) {
        if (!text.empty() && std::toupper(static_cast<unsigned char>(text.back())) == suffix) {
            text.pop_back();
            shift = s;
            break;
        }
    }
    uint64_t n = 0;
    if (!parse_count(text, &n) || (shift > 0 && n > (UINT64_MAX >> shift))) {
        return false;
    }
    *mib = shift >= 0 ? n << shift : n >> -shift;
    return *mib > 0;
}

bool parse_args(int argc, char** argv, Options* opt)
{
    for (int i = 1; i < argc; i++) {
        std::string arg = argv[i];
        if (i + 1 >= argc) {
            return false;
        }
        std::string value = argv[++i];
        if (arg == "--socket") {
            opt->socket = value;
        } else if (arg == "--state-dir") {
            opt->state_dir = value;
        } else if (arg == "--listen") {
            opt->tcp.listen = value;
        } else if (arg == "--tls-cert") {
            opt->tcp.tls_cert = value;
        } else if (arg == "--tls-key") {
            opt->tcp.tls_key = value;
        } else if (arg == "--client-ca") {
            opt->tcp.client_ca = value;
        } else if (arg == "--token-file") {
            opt->tcp.token_file = value;
        } else if (arg == "--image-dir") {
            opt->image_dirs.push_back(value);
        } else if (arg == "--metrics-listen") {
            opt->metrics_listen = value;
        } else if (arg == "--max-machines") {
            if (!parse_count(value, &opt->limits.max_machines)) {
                return false;
            }
        } else if (arg == "--max-memory") {
            if (!parse_mib(value, &opt->limits.max_total_memory_mib)) {
                return false;
            }
        } else if (arg == "--socket-group") {
            std::string error;
            if (!vmruntime::server::parse_group(value, &opt->socket_group.emplace(), &error)) {
                std::cerr << "vmruntimed: --socket-group: " << error << "\n";
                return false;
            }
        } else if (arg != "--log-level") {
            return false;
        } else if (!parse_level(value, &opt->level)) {
            std::cerr << "vmruntimed: unknown log level '" << value << "': give debug, info, warn or error\n";
            return false;
        }
    }
    const auto& t = opt->tcp;
    // TLS, authentication or image options without --listen are a mistake, not a no-op.
    return !t.listen.empty() ||
           ((t.tls_cert + t.tls_key + t.client_ca + t.token_file).empty() && opt->image_dirs.empty());
}

// Takes over `path` for the socket: refuses if a daemon answers there,
// removes a stale socket file left by one that died.
bool claim_socket_path(const std::string& path)
{
    if (path.size() >= sizeof(sockaddr_un::sun_path)) {
        std::cerr << "vmruntimed: socket path " << path << " is too long\n";
        return false;
    }
    struct stat st;
    if (lstat(path.c_str(), &st) == -1) {
        return true;  // UnixListener::open makes its directory
    }
    if (!S_ISSOCK(st.st_mode)) {
        std::cerr << "vmruntimed: " << path << " exists and is not a socket; remove it or pick another\n";
        return false;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    bool live = fd != -1 && connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    if (fd != -1) {
        close(fd);
    }
    if (live) {
        std::cerr << "vmruntimed: another daemon is serving " << path
                  << "; stop it or use --socket with another path\n";
        return false;
    }
    unlink(path.c_str());
    return true;
}

// The image directories as the kernel resolves them, since remote paths
// are matched against them by prefix.
bool canonical_dirs(std::vector<std::string>* dirs)
{
    for (auto& dir : *dirs) {
        std::error_code ec;
        auto path = std::filesystem::canonical(dir, ec);
        if (ec || !std::filesystem::is_directory(path)) {
            std::cerr << "vmruntimed: --image-dir " << dir << ": "
                      << (ec ? ec.message() : std::string("not a directory")) << "\n";
            return false;
        }
        dir = path.string();
    }
    return true;
}

// Blocks SIGTERM and SIGINT in every thread (they are inherited), so that
// only sigwait() in main sees them.
sigset_t block_stop_signals()
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    signal(SIGPIPE, SIG_IGN);
    return set;
}

}  // namespace

int main(int argc, char** argv)
{
    if (argc == 2 && (std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0)) {
        vmruntime::server::print_usage(std::cout);
        return 0;
    }
    if (argc == 2 && std::strcmp(argv[1], "--man") == 0) {
        vmruntime::server::print_man_page(std::cout);
        return 0;
    }
    if (argc == 2 && std::strcmp(argv[1], "--version") == 0) {
        std::cout << "vmruntimed " << VMRUNTIME_VERSION << "\n";
        return 0;
    }
    Options opt;
    if (!parse_args(argc, argv, &opt)) {
        return usage();
    }
    if (!canonical_dirs(&opt.image_dirs)) {
        return 2;
    }
    const auto metrics_endpoint = vmruntime::server::parse_endpoint(opt.metrics_listen);
    if (!opt.metrics_listen.empty() && !metrics_endpoint) {
        std::cerr << "vmruntimed: --metrics-listen " << opt.metrics_listen
                  << ": not HOST:PORT with a numeric IPv4 address or a [bracketed] IPv6 one\n";
        return 2;
    }
    vmruntime::base::set_log_level(opt.level);
    std::shared_ptr<grpc::ServerCredentials> tcp_creds;
    if (!opt.tcp.listen.empty()) {
        std::string error;
        tcp_creds = vmruntime::server::tcp_credentials(opt.tcp, &error);
        if (!tcp_creds) {
            std::cerr << "vmruntimed: " << error << "\n";
            return 2;
        }
    }
    sigset_t stop_signals = block_stop_signals();
    if (!claim_socket_path(opt.socket)) {
        return 1;
    }

    vmruntime::runtime::DeviceLayer layer(2);
    vmruntime::server::Registry registry(layer, opt.state_dir, opt.limits, opt.image_dirs);
    if (auto ok = registry.load(); !ok.ok()) {
        std::cerr << "vmruntimed: " << ok.message() << "\n";
        return 1;
    }
    vmruntime::server::log_state_changes(registry);
    vmruntime::server::MachineService service(registry);
    std::unique_ptr<vmruntime::server::MetricsServer> metrics;
    if (metrics_endpoint) {
        std::string why;
        metrics = vmruntime::server::MetricsServer::start(*metrics_endpoint, [&registry] {
            return vmruntime::server::render_metrics(vmruntime::server::machine_figures(registry),
                                                     vmruntime::server::daemon_figures(VMRUNTIME_VERSION));
        }, &why);
        if (!metrics) {
            std::cerr << "vmruntimed: --metrics-listen " << opt.metrics_listen << ": " << why << "\n";
            return 1;
        }
        vmruntime::base::log_info("vmruntimed", "metrics on http://", metrics->endpoint(), "/metrics");
    }
    grpc::ServerBuilder builder;
    // A second daemon on our TCP port must fail, not share the connections.
    builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
    if (tcp_creds) {
        builder.AddListeningPort(opt.tcp.listen, tcp_creds);
    }
    builder.RegisterService(&service);
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
    interceptors.push_back(vmruntime::server::rpc_log());
    builder.experimental().SetInterceptorCreators(std::move(interceptors));
    std::string error;
    auto unix_socket = vmruntime::server::UnixListener::open(opt.socket, opt.socket_group, &error);
    if (!unix_socket) {
        std::cerr << "vmruntimed: " << error << "\n";
        return 1;
    }
    std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
    if (!server) {
        std::cerr << "vmruntimed: cannot serve on " << opt.tcp.listen << "\n";
        return 1;
    }
    if (!unix_socket->serve(*server, &error)) {
        std::cerr << "vmruntimed: " << error << "\n";
        server->Shutdown();
        return 1;
    }
    vmruntime::base::log_info("vmruntimed", "serving on ", opt.socket, tcp_creds ? " and TLS " : "",
                              opt.tcp.listen, ", state in ", opt.state_dir);
    registry.autostart();

    int sig = 0;
    sigwait(&stop_signals, &sig);
    vmruntime::base::log_info("vmruntimed", "signal ", sig, ": shutting down");
    // Guests first, so that their consoles end with their final output.
    registry.stop_all("the daemon is shutting down");
    unix_socket.reset();
    server->Shutdown(std::chrono::system_clock::now() + kShutdownGrace);
    server->Wait();
    unlink(opt.socket.c_str());
    vmruntime::base::log_info("vmruntimed", "bye");
    return 0;
}
