// SPDX-License-Identifier: BSD-2-Clause
//
// vmruntimed --metrics-listen through a real daemon: a scrape is parsed
// line by line against the text exposition format, shows each hello
// guest's state, exits that go up while it runs, its vCPU time and its
// banner's console bytes, and daemon totals that agree with the machines;
// other paths, methods, garbage and over-long requests get no metrics and
// leave the daemon serving.  Without the option nothing listens, and a bad
// or taken address stops the daemon from starting.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "daemon.h"

namespace vmruntime::testing {
namespace {

using namespace std::chrono_literals;
using Labels = std::map<std::string, std::string>;

constexpr const char* kMachineStates[] = {"created", "running", "paused", "stopped", "crashed"};
constexpr const char* kExitReasons[] = {"io", "mmio", "halted", "interrupts", "stopped", "other"};

// [a-zA-Z_:][a-zA-Z0-9_:]* for metric names, without the colons for labels.
bool is_name(std::string_view s, bool metric)
{
    if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) {
        return false;
    }
    for (char c : s) {
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && !(metric && c == ':')) {
            return false;
        }
    }
    return true;
}

// A Go float, as Prometheus reads sample values.
bool parse_float(std::string_view s, double* value)
{
    if (s == "NaN" || s == "+Inf" || s == "-Inf") {
        *value = s == "NaN" ? NAN : (s[0] == '+' ? INFINITY : -INFINITY);
        return true;
    }
    const std::string text(s);
    char* end = nullptr;
    errno = 0;
    *value = std::strtod(text.c_str(), &end);
    return !text.empty() && !std::isspace(static_cast<unsigned char>(text[0])) && end == text.c_str() + text.size() &&
           errno == 0;
}

// `"value"` with \\, \" and \n escapes at the front of `s`, consumed.
std::optional<std::string> take_quoted(std::string_view& s)
{
    if (s.empty() || s[0] != '"') {
        return std::nullopt;
    }
    std::string out;
    for (size_t i = 1; i < s.size(); i++) {
        if (s[i] == '"') {
            s.remove_prefix(i + 1);
            return out;
        }
        if (s[i] == '\\') {
            if (++i == s.size() || (s[i] != '\\' && s[i] != '"' && s[i] != 'n')) {
                return std::nullopt;
            }
            out += s[i] == 'n' ? '\n' : s[i];
        } else {
            out += s[i];
        }
    }
    return std::nullopt;
}

// {name="value",...} at the front of `s`, consumed.
std::optional<Labels> take_labels(std::string_view& s)
{
    Labels labels;
    if (s.empty() || s[0] != '{') {
        return labels;
    }
    s.remove_prefix(1);
    while (!s.empty() && s[0] != '}') {
        const auto eq = s.find('=');
        if (eq == s.npos || !is_name(s.substr(0, eq), false)) {
            return std::nullopt;
        }
        std::string name(s.substr(0, eq));
        s.remove_prefix(eq + 1);
        auto value = take_quoted(s);
        if (!value || !labels.emplace(name, *value).second) {
            return std::nullopt;
        }
        if (!s.empty() && s[0] == ',') {
            s.remove_prefix(1);
        } else if (s.empty() || s[0] != '}') {
            return std::nullopt;
        }
    }
    if (s.empty()) {
        return std::nullopt;
    }
    s.remove_prefix(1);
    return labels;
}

// One scrape, every line held to the text exposition format 0.0.4: "#
// HELP name text" and "# TYPE name type" before a family's samples, all
// of them together, then `name{label="value",...} value [timestamp]`.
class Scrape {
public:
    explicit Scrape(const std::string& text)
    {
        EXPECT_TRUE(!text.empty() && text.back() == '\n') << "lines end in \\n";
        std::istringstream in(text);
        for (std::string line; std::getline(in, line);) {
            if (line.starts_with("#") ? !comment(line) : !sample(line)) {
                ADD_FAILURE() << "not a line of the format: " << line;
            }
        }
    }

    // The value of the series `name{labels}`; nullopt if absent.
    std::optional<double> value(const std::string& name, const Labels& labels) const
    {
        auto it = samples_.find({name, labels});
        return it == samples_.end() ? std::nullopt : std::optional<double>(it->second);
    }
    // The series of family `name` with `label`=`value`.
    std::map<Labels, double> series(const std::string& name, const std::string& label,
                                    const std::string& value) const
    {
        std::map<Labels, double> out;
        for (const auto& [key, v] : samples_) {
            auto it = key.second.find(label);
            if (key.first == name && it != key.second.end() && it->second == value) {
                out[key.second] = v;
            }
        }
        return out;
    }
    const std::map<std::string, std::string>& types() const { return types_; }

private:
    bool comment(const std::string& line)
    {
        static const std::regex help("# HELP ([^ ]+) .*");
        static const std::regex type("# TYPE ([^ ]+) (counter|gauge|histogram|summary|untyped)");
        std::smatch m;
        if (std::regex_match(line, m, help)) {
            return is_name(m[1].str(), true) && helps_.insert(m[1]).second;
        }
        if (!std::regex_match(line, m, type) || !is_name(m[1].str(), true) || types_.contains(m[1])) {
            return false;
        }
        types_[m[1]] = m[2];
        family_ = m[1];
        return true;
    }

    bool sample(const std::string& line)
    {
        std::string_view s = line;
        const auto name_end = std::min(s.find('{'), s.find(' '));
        const std::string name(s.substr(0, name_end));
        s.remove_prefix(std::min(name_end, s.size()));
        auto labels = take_labels(s);
        if (!is_name(name, true) || !labels || s.empty() || s[0] != ' ') {
            return false;
        }
        s.remove_prefix(1);
        const auto space = s.find(' ');
        double value = 0, timestamp = 0;
        if (!parse_float(s.substr(0, space), &value) ||
            (space != s.npos && !parse_float(s.substr(space + 1), &timestamp))) {
            return false;
        }
        // Its family's TYPE came last: families are not interleaved.
        EXPECT_EQ(name, family_) << line;
        return samples_.emplace(std::make_pair(name, *labels), value).second;
    }

    std::set<std::string> helps_;
    std::map<std::string, std::string> types_;
    std::string family_;
    std::map<std::pair<std::string, Labels>, double> samples_;
};

struct HttpAnswer {
    std::string status;  // the status line
    std::string head;    // status line and header fields
    std::string body;
    bool closed_without_answer = false;
};

// Sends `request` to 127.0.0.1:`port` on a new connection and reads the
// answer until the daemon closes the connection.
HttpAnswer http(int port, std::string_view request)
{
    HttpAnswer answer;
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    const timeval timeout = {10, 0};
    EXPECT_NE(fd, -1);
    EXPECT_EQ(::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout), 0);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0) << std::strerror(errno);
    // A request the daemon drops may see the connection reset meanwhile.
    (void)::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
    std::string in;
    char buf[16384];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0) {
        in.append(buf, static_cast<size_t>(n));
    }
    EXPECT_TRUE(n == 0 || errno == ECONNRESET) << "the daemon closes the connection: " << std::strerror(errno);
    ::close(fd);
    const auto end = in.find("\r\n\r\n");
    answer.closed_without_answer = in.empty();
    answer.status = in.substr(0, in.find("\r\n"));
    answer.head = in.substr(0, end);
    answer.body = end == in.npos ? "" : in.substr(end + 4);
    return answer;
}

// The TCP ports process `pid` listens on: the LISTEN sockets of
// /proc/net/tcp and tcp6 whose inode it holds.
std::set<int> listening_ports(pid_t pid)
{
    std::set<std::string> inodes;
    for (const auto& fd : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd")) {
        std::error_code ec;
        const std::string target = std::filesystem::read_symlink(fd.path(), ec).string();
        if (target.starts_with("socket:[")) {
            inodes.insert(target.substr(8, target.size() - 9));
        }
    }
    std::set<int> ports;
    for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
        std::ifstream in(table);
        std::string line;
        std::getline(in, line);  // the header
        while (std::getline(in, line)) {
            std::istringstream fields(line);
            std::string slot, local, remote, state, queues, timer, retransmits, uid, timeout, inode;
            fields >> slot >> local >> remote >> state >> queues >> timer >> retransmits >> uid >> timeout >> inode;
            if (state == "0A" && inodes.contains(inode)) {
                ports.insert(std::stoi(local.substr(local.rfind(':') + 1), nullptr, 16));
            }
        }
    }
    return ports;
}

class MetricsTest : public DaemonFixture {
protected:
    // Restarts the daemon with --metrics-listen on a port it picks, which
    // its log names.
    void serve_metrics()
    {
        ASSERT_EQ(daemon_.stop(), 0);
        ASSERT_TRUE(daemon_.start({"--metrics-listen", "127.0.0.1:0"})) << daemon_.log();
        connect();
        const std::regex logged("metrics on http://127\\.0\\.0\\.1:([0-9]+)/metrics");
        for (auto deadline = std::chrono::steady_clock::now() + 10s; std::chrono::steady_clock::now() < deadline;
             std::this_thread::sleep_for(20ms)) {
            std::smatch m;
            const std::string log = daemon_.log();
            if (std::regex_search(log, m, logged)) {
                port_ = std::stoi(m[1]);
                return;
            }
        }
        FAIL() << "the daemon did not log its metrics port:\n" << daemon_.log();
    }

    void create(const std::string& name)
    {
        auto created = vmctl({"create", name, HELLO_ELF, "--memory", "8", "--cmdline", "ticks=0"});
        ASSERT_EQ(created.exit_code, 0) << created.err;
    }

    // A hello guest, running and past its banner.
    void run_hello(const std::string& name)
    {
        create(name);
        auto started = vmctl({"start", name});
        ASSERT_EQ(started.exit_code, 0) << started.err;
        ASSERT_NE(console(name, kBanner).find(kBanner), std::string::npos);
    }

    Scrape scrape()
    {
        HttpAnswer answer = http(port_, "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
        EXPECT_EQ(answer.status, "HTTP/1.1 200 OK");
        EXPECT_NE(answer.head.find("\r\nContent-Type: text/plain; version=0.0.4"), std::string::npos) << answer.head;
        EXPECT_NE(answer.head.find("\r\nContent-Length: " + std::to_string(answer.body.size()) + "\r\n"),
                  std::string::npos)
            << answer.head;
        return Scrape(answer.body);
    }

    int port_ = 0;
};

// The value of a series that must be there.
double must(const Scrape& s, const std::string& name, const Labels& labels)
{
    auto v = s.value(name, labels);
    std::string shown;
    for (const auto& [label, value] : labels) {
        shown += " " + label + "=" + value;
    }
    EXPECT_TRUE(v) << "no series " << name << shown;
    return v.value_or(NAN);
}

double exits(const Scrape& s, const std::string& machine)
{
    double total = 0;
    for (const char* reason : kExitReasons) {
        total += must(s, "vmruntime_machine_exits_total", {{"name", machine}, {"reason", reason}});
    }
    return total;
}

// The state series of `machine`: its only one, value 1.
std::string state_of(const Scrape& s, const std::string& machine)
{
    auto series = s.series("vmruntime_machine_state", "name", machine);
    EXPECT_EQ(series.size(), 1u) << machine;
    if (series.size() != 1) {
        return "";
    }
    EXPECT_EQ(series.begin()->second, 1) << machine;
    return series.begin()->first.at("state");
}

TEST_F(MetricsTest, WithoutTheOptionNothingListens)
{
    EXPECT_EQ(listening_ports(daemon_.pid()), std::set<int>{});
}

TEST_F(MetricsTest, ScrapesShowEachMachineAndDaemonTotals)
{
    serve_metrics();
    EXPECT_EQ(listening_ports(daemon_.pid()), std::set<int>{port_});
    run_hello("a");
    run_hello("b");
    create("c");

    const Scrape first = scrape();
    EXPECT_EQ(first.types().at("vmruntime_machine_exits_total"), "counter");
    EXPECT_EQ(first.types().at("vmruntime_machine_state"), "gauge");
    for (const char* name : {"a", "b"}) {
        EXPECT_EQ(state_of(first, name), "running");
        EXPECT_GT(must(first, "vmruntime_machine_vcpu_seconds_total", {{"name", name}}), 0) << name;
        EXPECT_GE(must(first, "vmruntime_machine_console_bytes_total", {{"name", name}}), static_cast<double>(std::strlen(kBanner)));
        EXPECT_EQ(must(first, "vmruntime_machine_memory_bytes", {{"name", name}}), 8 << 20);
        EXPECT_EQ(must(first, "vmruntime_machine_vcpus", {{"name", name}}), 1);
    }
    EXPECT_EQ(state_of(first, "c"), "created");
    EXPECT_EQ(exits(first, "c"), 0);
    EXPECT_EQ(must(first, "vmruntime_machine_vcpu_seconds_total", {{"name", "c"}}), 0);
    EXPECT_EQ(must(first, "vmruntime_machine_uptime_seconds", {{"name", "c"}}), 0);

    // hello ticks at 100 Hz, each tick an interrupt and port I/O; a loaded
    // host may hold a guest back for a while.
    const auto both_exited = [&](const Scrape& later) {
        return exits(later, "a") > exits(first, "a") && exits(later, "b") > exits(first, "b");
    };
    Scrape second = scrape();
    for (auto deadline = std::chrono::steady_clock::now() + kGuestTimeout;
         !both_exited(second) && std::chrono::steady_clock::now() < deadline;) {
        std::this_thread::sleep_for(100ms);
        second = scrape();
    }
    EXPECT_TRUE(both_exited(second)) << "exits go up while the guests run";
    for (const char* name : {"a", "b"}) {
        EXPECT_GT(must(second, "vmruntime_machine_uptime_seconds", {{"name", name}}),
                  must(first, "vmruntime_machine_uptime_seconds", {{"name", name}}))
            << name;
    }

    ASSERT_EQ(vmctl({"pause", "b"}).exit_code, 0);
    ASSERT_EQ(vmctl({"stop", "a"}).exit_code, 0);
    const Scrape third = scrape();
    EXPECT_EQ(state_of(third, "b"), "paused");
    EXPECT_EQ(state_of(third, "a"), "stopped");
    EXPECT_GE(must(third, "vmruntime_machine_vcpu_seconds_total", {{"name", "a"}}),
              must(second, "vmruntime_machine_vcpu_seconds_total", {{"name", "a"}}))
        << "what its vCPU threads used is kept once they are gone";
    double machines = 0;
    for (const char* state : kMachineStates) {
        const double n = must(third, "vmruntime_machines", {{"state", state}});
        EXPECT_EQ(n, static_cast<double>(third.series("vmruntime_machine_state", "state", state).size())) << state;
        machines += n;
    }
    EXPECT_EQ(machines, 3);
    EXPECT_GT(must(third, "vmruntime_daemon_cpu_seconds_total", {}), 0) << "two guests ran";
    EXPECT_EQ(must(third, "vmruntime_machines", {{"state", "stopped"}}), 1);
    EXPECT_EQ(must(third, "vmruntime_machines", {{"state", "paused"}}), 1);
    EXPECT_EQ(must(third, "vmruntime_machines", {{"state", "created"}}), 1);
}

TEST_F(MetricsTest, DaemonFiguresAreItsOwn)
{
    serve_metrics();
    const Scrape s = scrape();
    const std::string version = run_command({VMRUNTIMED_PATH, "--version"}).out;
    ASSERT_TRUE(version.starts_with("vmruntimed ")) << version;
    EXPECT_EQ(must(s, "vmruntime_build_info", {{"version", version.substr(11, version.size() - 12)}}), 1);
    const ProcessUsage usage = process_usage(daemon_.pid());
    const double fds = must(s, "vmruntime_daemon_open_fds", {});
    EXPECT_GT(fds, 3);
    EXPECT_NEAR(fds, static_cast<double>(usage.fds), 3) << "the scrape's own connection comes and goes";
    EXPECT_GT(must(s, "vmruntime_daemon_resident_memory_bytes", {}), static_cast<double>(usage.rss_kib << 10) / 2);
    const double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    const double started = must(s, "vmruntime_daemon_start_time_seconds", {});
    EXPECT_LE(started, now + 1);
    EXPECT_GT(started, now - 120) << "started by this test";
}

TEST_F(MetricsTest, OtherRequestsAndGarbageLeaveTheDaemonServing)
{
    serve_metrics();
    EXPECT_EQ(http(port_, "GET /other HTTP/1.1\r\n\r\n").status, "HTTP/1.1 404 Not Found");
    EXPECT_EQ(http(port_, "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n").status,
              "HTTP/1.1 405 Method Not Allowed");
    EXPECT_EQ(http(port_, std::string_view("\0\xff\x16\x03 junk \r\n\r\n", 14)).status, "HTTP/1.1 400 Bad Request");
    EXPECT_TRUE(http(port_, "GET /metrics HTTP/1.1\r\nX: " + std::string(64 << 10, 'a') + "\r\n\r\n")
                    .closed_without_answer)
        << "an over-long request is dropped";
    std::string binary(100000, '\0');
    for (size_t i = 0; i < binary.size(); i++) {
        binary[i] = static_cast<char>(i * 7919 % 251);
    }
    http(port_, binary);
    EXPECT_TRUE(daemon_.running());
    EXPECT_EQ(http(port_, "GET /metrics HTTP/1.1\r\n\r\n").status, "HTTP/1.1 200 OK");
    EXPECT_EQ(vmctl({"ls"}).exit_code, 0) << "gRPC still served";
}

TEST_F(MetricsTest, BadOrTakenAddressIsRefused)
{
    const std::vector<std::string> other = {VMRUNTIMED_PATH, "--socket", file("other.sock"), "--state-dir",
                                            file("other-state"), "--metrics-listen"};
    auto with = [&](const std::string& address) {
        auto argv = other;
        argv.push_back(address);
        return run_command(argv);
    };
    for (const char* bad : {"localhost:9100", "127.0.0.1", "::1:9100", "127.0.0.1:99999"}) {
        auto refused = with(bad);
        EXPECT_EQ(refused.exit_code, 2) << bad;
        EXPECT_EQ(refused.err, std::string("vmruntimed: --metrics-listen ") + bad +
                                   ": not HOST:PORT with a numeric IPv4 address or a [bracketed] IPv6 one\n");
    }
    serve_metrics();
    const std::string taken = "127.0.0.1:" + std::to_string(port_);
    auto refused = with(taken);
    EXPECT_EQ(refused.exit_code, 1);
    EXPECT_NE(refused.err.find("vmruntimed: --metrics-listen " + taken + ": Address already in use\n"),
              std::string::npos)
        << refused.err;
}

}  // namespace
}  // namespace vmruntime::testing
