// SPDX-License-Identifier: BSD-2-Clause
//
// The metrics endpoint's HTTP without a daemon: GET /metrics answers the
// rendered text, other paths, methods and garbage get 404, 405 and 400,
// a request too long or too slow is dropped, at most max_connections are
// served at once, and --metrics-listen's addresses are checked.
#include "server/metrics_http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace vmruntime::server {
namespace {

using namespace std::chrono_literals;
using boost::asio::ip::tcp;

// A connected socket to the server on 127.0.0.1, its reads given up after
// `timeout`; -1 if it cannot connect.
int connect_to(const tcp::endpoint& server, std::chrono::milliseconds timeout = 5s)
{
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(server.port());
    const timeval tv = {static_cast<time_t>(timeout.count() / 1000),
                        static_cast<suseconds_t>(timeout.count() % 1000 * 1000)};
    if (fd == -1 || ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0 ||
        ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        if (fd != -1) {
            ::close(fd);
        }
        return -1;
    }
    return fd;
}

// What the server sent until it closed; "timeout" if it did not within
// the socket's read timeout.
std::string read_all(int fd)
{
    std::string in;
    char buf[4096];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n == 0 || (n < 0 && errno == ECONNRESET)) {
            return in;
        }
        if (n < 0) {
            return "timeout";
        }
        in.append(buf, static_cast<size_t>(n));
    }
}

// Sends `request` on a new connection and returns the answer.
std::string ask(const tcp::endpoint& server, std::string_view request)
{
    int fd = connect_to(server);
    if (fd == -1) {
        return "no connection";
    }
    // A server that drops the request may reset the connection meanwhile.
    (void)::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
    std::string answer = read_all(fd);
    ::close(fd);
    return answer;
}

class MetricsHttp : public ::testing::Test {
protected:
    void serve(MetricsLimits limits = {})
    {
        std::string error;
        server_ = MetricsServer::start(tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0),
                                       [this] {
                                           renders_++;
                                           return std::string("vmruntime_up 1\n");
                                       },
                                       &error, limits);
        ASSERT_TRUE(server_) << error;
        ASSERT_NE(server_->endpoint().port(), 0) << "port 0 picks one";
    }

    std::atomic<int> renders_{0};
    std::unique_ptr<MetricsServer> server_;
};

TEST_F(MetricsHttp, GetMetricsAnswersTheRenderedText)
{
    serve();
    EXPECT_EQ(ask(server_->endpoint(), "GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n"),
              "HTTP/1.1 200 OK\r\n"
              "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
              "Content-Length: 15\r\n"
              "Connection: close\r\n"
              "\r\n"
              "vmruntime_up 1\n");
    EXPECT_EQ(ask(server_->endpoint(), "GET /metrics?x=1 HTTP/1.0\r\n\r\n").rfind("HTTP/1.1 200 OK\r\n", 0), 0u)
        << "a query string is ignored, HTTP/1.0 is served";
    EXPECT_EQ(renders_, 2);
}

TEST_F(MetricsHttp, OtherPathsMethodsAndGarbageAreRefused)
{
    serve();
    const auto status = [&](std::string_view request) {
        const std::string answer = ask(server_->endpoint(), request);
        return answer.substr(0, answer.find("\r\n"));
    };
    EXPECT_EQ(status("GET / HTTP/1.1\r\n\r\n"), "HTTP/1.1 404 Not Found");
    EXPECT_EQ(status("GET /metricsx HTTP/1.1\r\n\r\n"), "HTTP/1.1 404 Not Found");
    EXPECT_EQ(status("POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n"), "HTTP/1.1 405 Method Not Allowed");
    EXPECT_NE(ask(server_->endpoint(), "DELETE /metrics HTTP/1.1\r\n\r\n").find("\r\nAllow: GET\r\n"),
              std::string::npos);
    EXPECT_EQ(status("GET /metrics\r\n\r\n"), "HTTP/1.1 400 Bad Request") << "HTTP/0.9";
    EXPECT_EQ(status("GET /metrics HTTP/2.0\r\n\r\n"), "HTTP/1.1 400 Bad Request");
    EXPECT_EQ(status("GET  /metrics HTTP/1.1\r\n\r\n"), "HTTP/1.1 400 Bad Request");
    EXPECT_EQ(status(std::string_view("\x16\x03\x01\0\xff garbage\r\n\r\n", 17)), "HTTP/1.1 400 Bad Request");
    EXPECT_EQ(renders_, 0);
}

TEST_F(MetricsHttp, TooLongOrTooSlowRequestsAreDropped)
{
    serve({.max_request_bytes = 1024, .request_timeout = 300ms});
    EXPECT_EQ(ask(server_->endpoint(), "GET /metrics HTTP/1.1\r\nX: " + std::string(2000, 'a') + "\r\n\r\n"),
              "");
    const auto start = std::chrono::steady_clock::now();
    int slow = connect_to(server_->endpoint());
    ASSERT_NE(slow, -1);
    ASSERT_EQ(::send(slow, "GET /metrics HTTP/1.1\r\n", 23, MSG_NOSIGNAL), 23);
    EXPECT_EQ(read_all(slow), "") << "closed without an answer";
    EXPECT_GE(std::chrono::steady_clock::now() - start, 300ms);
    ::close(slow);
    EXPECT_EQ(renders_, 0);
    EXPECT_EQ(ask(server_->endpoint(), "GET /metrics HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 200 OK", 0), 0u);
}

TEST_F(MetricsHttp, ConnectionsBeyondTheLimitWait)
{
    serve({.request_timeout = 500ms, .max_connections = 2});
    std::vector<int> idle = {connect_to(server_->endpoint()), connect_to(server_->endpoint())};
    ASSERT_NE(idle[0], -1);
    ASSERT_NE(idle[1], -1);
    // The kernel takes the third connection; the server reads it only once
    // an idle one has been dropped at its deadline.
    const auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(ask(server_->endpoint(), "GET /metrics HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 200 OK", 0), 0u);
    EXPECT_GE(std::chrono::steady_clock::now() - start, 400ms);
    for (int fd : idle) {
        ::close(fd);
    }
}

TEST_F(MetricsHttp, StopsWithConnectionsOpen)
{
    serve();
    int fd = connect_to(server_->endpoint());
    ASSERT_NE(fd, -1);
    ASSERT_EQ(::send(fd, "GET", 3, MSG_NOSIGNAL), 3);
    const auto start = std::chrono::steady_clock::now();
    server_.reset();
    EXPECT_LT(std::chrono::steady_clock::now() - start, 2s) << "not waiting for the client";
    EXPECT_EQ(read_all(fd), "");
    ::close(fd);
}

TEST(MetricsListen, TakesNumericAddressesWithAPort)
{
    auto v4 = parse_endpoint("127.0.0.1:9100");
    ASSERT_TRUE(v4);
    EXPECT_EQ(v4->address().to_string(), "127.0.0.1");
    EXPECT_EQ(v4->port(), 9100);
    auto v6 = parse_endpoint("[::1]:0");
    ASSERT_TRUE(v6);
    EXPECT_EQ(v6->address().to_string(), "::1");
    EXPECT_EQ(v6->port(), 0);
    for (const char* bad : {"", "9100", ":9100", "localhost:9100", "127.0.0.1", "127.0.0.1:", "127.0.0.1:x",
                            "127.0.0.1:65536", "127.0.0.1:-1", "127.0.0.1:+1", "::1:9100", "[127.0.0.1]:9100",
                            "[::1]9100", "1.2.3:80"}) {
        EXPECT_FALSE(parse_endpoint(bad)) << bad;
    }
}

TEST(MetricsListen, APortInUseIsRefused)
{
    std::string error;
    auto first = MetricsServer::start(tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0),
                                      [] { return std::string(); }, &error);
    ASSERT_TRUE(first) << error;
    EXPECT_FALSE(MetricsServer::start(first->endpoint(), [] { return std::string(); }, &error));
    EXPECT_NE(error.find("in use"), std::string::npos) << error;
}

}  // namespace
}  // namespace vmruntime::server
