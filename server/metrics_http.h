// SPDX-License-Identifier: BSD-2-Clause
//
// The HTTP/1.1 endpoint Prometheus scrapes (--metrics-listen): GET
// /metrics answers the exposition text, any other path 404, any other
// method 405, a request that is not HTTP 400.  Each connection gets one
// answer and is closed.  A request head larger than max_request_bytes, or
// not all there within request_timeout, is dropped without an answer; an
// answer the client does not take within response_timeout too.  At most
// max_connections are served at once; more wait in the kernel's backlog.
//
// Threads: the server runs on a thread of its own, which also renders, so
// that a scrape never holds a gRPC thread or a machine's lane.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>

namespace vmruntime::server {

// "HOST:PORT" with a numeric IPv4 address or a bracketed IPv6 one
// ("127.0.0.1:9100", "[::1]:9100"); port 0 picks a free one.  nullopt if
// `text` is not one.
std::optional<boost::asio::ip::tcp::endpoint> parse_endpoint(const std::string& text);

struct MetricsLimits {
    size_t max_request_bytes = 8 * 1024;
    std::chrono::milliseconds request_timeout = std::chrono::seconds(5);
    std::chrono::milliseconds response_timeout = std::chrono::seconds(30);
    size_t max_connections = 16;
};

class MetricsServer {
public:
    // Returns the text of GET /metrics; called on the server's thread.
    using Render = std::function<std::string()>;

    // Listens on `endpoint` and serves; nullptr and a message if it cannot.
    static std::unique_ptr<MetricsServer> start(const boost::asio::ip::tcp::endpoint& endpoint, Render render,
                                                std::string* error, MetricsLimits limits = {});
    // Closes the listener and every connection, then ends the thread.
    ~MetricsServer();
    MetricsServer(const MetricsServer&) = delete;
    MetricsServer& operator=(const MetricsServer&) = delete;

    // Where it listens (the port picked for port 0).
    const boost::asio::ip::tcp::endpoint& endpoint() const { return endpoint_; }

private:
    class Connection;

    MetricsServer(Render render, MetricsLimits limits);
    bool listen(const boost::asio::ip::tcp::endpoint& endpoint, std::string* error);
    void accept();
    void on_accept(const boost::system::error_code& ec, boost::asio::ip::tcp::socket socket);
    void closed(Connection* connection);
    void shut_down();

    Render render_;
    MetricsLimits limits_;
    boost::asio::io_context io_;
    boost::asio::ip::tcp::acceptor acceptor_{io_};
    boost::asio::steady_timer retry_{io_};  // after a failed accept (out of descriptors)
    boost::asio::ip::tcp::endpoint endpoint_;
    // The server's thread only.
    std::set<Connection*> connections_;
    bool accepting_ = false;
    bool closing_ = false;
    std::thread thread_;
};

}  // namespace vmruntime::server
