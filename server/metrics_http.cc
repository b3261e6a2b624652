// SPDX-License-Identifier: BSD-2-Clause
#include "server/metrics_http.h"

#include <fcntl.h>
#include <pthread.h>

#include <boost/asio/buffer.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>

#include <charconv>
#include <string_view>
#include <utility>

#include "vmruntime/base/log.h"

namespace vmruntime::server {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;

// How long a failed accept (out of descriptors, usually) waits to retry,
// rather than spinning on the same failure.
constexpr auto kAcceptRetry = std::chrono::milliseconds(100);
constexpr std::string_view kMetricsType = "text/plain; version=0.0.4; charset=utf-8";

std::string response(int code, std::string_view reason, std::string_view type, std::string_view body,
                     std::string_view extra_fields = "")
{
    std::string out = "HTTP/1.1 " + std::to_string(code) + " ";
    out.append(reason).append("\r\nContent-Type: ").append(type);
    out.append("\r\nContent-Length: ").append(std::to_string(body.size())).append("\r\n");
    out.append(extra_fields).append("Connection: close\r\n\r\n").append(body);
    return out;
}

std::string error_response(int code, std::string_view reason, std::string_view extra_fields = "")
{
    return response(code, reason, "text/plain; charset=utf-8", std::string(reason) + "\n", extra_fields);
}

// The answer to the request whose head is `head`.  Only its request line
// matters: method SP request-target SP HTTP-version (RFC 9112, 3).
std::string answer(std::string_view head, const MetricsServer::Render& render)
{
    const std::string_view line = head.substr(0, head.find("\r\n"));
    const auto sp1 = line.find(' ');
    const auto sp2 = line.find(' ', sp1 == line.npos ? line.size() : sp1 + 1);
    if (sp1 == 0 || sp2 == line.npos || sp2 == sp1 + 1) {
        return error_response(400, "Bad Request");
    }
    const std::string_view method = line.substr(0, sp1);
    const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    const std::string_view version = line.substr(sp2 + 1);
    if (version != "HTTP/1.1" && version != "HTTP/1.0") {
        return error_response(400, "Bad Request");
    }
    if (method != "GET") {
        return error_response(405, "Method Not Allowed", "Allow: GET\r\n");
    }
    if (target.substr(0, target.find('?')) != "/metrics") {
        return error_response(404, "Not Found");
    }
    return response(200, "OK", kMetricsType, render());
}

// Asio opens sockets without it; a child the daemon spawned would keep
// the port.
void set_cloexec(int fd)
{
    fcntl(fd, F_SETFD, FD_CLOEXEC);
}

}  // namespace

std::optional<tcp::endpoint> parse_endpoint(const std::string& text)
{
    const auto colon = text.rfind(':');
    if (colon == std::string::npos) {
        return std::nullopt;
    }
    std::string host = text.substr(0, colon);
    const std::string port_text = text.substr(colon + 1);
    const bool bracketed = host.size() >= 2 && host.front() == '[' && host.back() == ']';
    if (bracketed) {
        host = host.substr(1, host.size() - 2);
    }
    uint16_t port = 0;
    const char* end = port_text.data() + port_text.size();
    auto [ptr, ec] = std::from_chars(port_text.data(), end, port);
    error_code bad;
    const auto address = asio::ip::make_address(host, bad);
    // An IPv6 address only in brackets, so that its last group is not
    // taken for the port.
    if (port_text.empty() || ec != std::errc() || ptr != end || bad || address.is_v6() != bracketed) {
        return std::nullopt;
    }
    return tcp::endpoint(address, port);
}

// One exchange: the request head, the answer, the close.  Alive while an
// operation of its own is pending.
class MetricsServer::Connection : public std::enable_shared_from_this<Connection> {
public:
    Connection(MetricsServer& server, tcp::socket socket)
        : server_(server), socket_(std::move(socket)), deadline_(socket_.get_executor())
    {
    }
    ~Connection() { server_.closed(this); }

    void start()
    {
        arm(server_.limits_.request_timeout);
        asio::async_read_until(socket_, asio::dynamic_buffer(in_, server_.limits_.max_request_bytes), "\r\n\r\n",
                               [self = shared_from_this()](const error_code& ec, size_t n) { self->on_head(ec, n); });
    }

    // Ends the exchange, whatever it waits for.
    void close()
    {
        error_code ignored;
        socket_.close(ignored);
        deadline_.cancel();
    }

private:
    // The deadline of what it waits for now.  Its expiry, not the wait's
    // error, says whether it passed: a wait that expired may complete
    // after the timer was armed again.
    void arm(std::chrono::milliseconds timeout)
    {
        deadline_.expires_after(timeout);
        deadline_.async_wait([self = shared_from_this()](const error_code&) {
            if (self->deadline_.expiry() <= asio::steady_timer::clock_type::now()) {
                self->close();
            }
        });
    }

    // Too long a head (not_found), a client that closed or one too slow
    // (the deadline closed the socket) gets no answer.
    void on_head(const error_code& ec, size_t n)
    {
        if (ec) {
            close();
            return;
        }
        out_ = answer(std::string_view(in_).substr(0, n), server_.render_);
        arm(server_.limits_.response_timeout);
        asio::async_write(socket_, asio::buffer(out_),
                          [self = shared_from_this()](const error_code&, size_t) { self->close(); });
    }

    MetricsServer& server_;
    tcp::socket socket_;
    asio::steady_timer deadline_;
    std::string in_, out_;
};

MetricsServer::MetricsServer(Render render, MetricsLimits limits) : render_(std::move(render)), limits_(limits) {}

std::unique_ptr<MetricsServer> MetricsServer::start(const tcp::endpoint& endpoint, Render render, std::string* error,
                                                    MetricsLimits limits)
{
    std::unique_ptr<MetricsServer> server(new MetricsServer(std::move(render), limits));
    if (!server->listen(endpoint, error)) {
        return nullptr;
    }
    server->accept();
    server->thread_ = std::thread([s = server.get()] {
        pthread_setname_np(pthread_self(), "metrics");
        s->io_.run();
    });
    return server;
}

MetricsServer::~MetricsServer()
{
    if (thread_.joinable()) {
        asio::post(io_, [this] { shut_down(); });
        thread_.join();
    }
}

bool MetricsServer::listen(const tcp::endpoint& endpoint, std::string* error)
{
    error_code ec;
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) {
        set_cloexec(acceptor_.native_handle());
        // A restarted daemon must not wait for its old connections'
        // TIME_WAIT; Linux still refuses a second listener.
        acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
    }
    if (!ec) {
        acceptor_.bind(endpoint, ec);
    }
    if (!ec) {
        acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    }
    if (!ec) {
        endpoint_ = acceptor_.local_endpoint(ec);
    }
    if (ec) {
        *error = ec.message();
        return false;
    }
    return true;
}

void MetricsServer::accept()
{
    accepting_ = true;
    acceptor_.async_accept([this](const error_code& ec, tcp::socket socket) { on_accept(ec, std::move(socket)); });
}

void MetricsServer::on_accept(const error_code& ec, tcp::socket socket)
{
    accepting_ = false;
    if (closing_) {
        return;
    }
    if (ec) {
        base::log_warn("metrics", "accept: ", ec.message());
        accepting_ = true;
        retry_.expires_after(kAcceptRetry);
        retry_.async_wait([this](const error_code& waited) {
            accepting_ = false;
            if (!waited && !closing_) {
                accept();
            }
        });
        return;
    }
    set_cloexec(socket.native_handle());
    auto connection = std::make_shared<Connection>(*this, std::move(socket));
    connections_.insert(connection.get());
    connection->start();
    // At the limit, the next accept waits for a connection to close.
    if (connections_.size() < limits_.max_connections) {
        accept();
    }
}

void MetricsServer::closed(Connection* connection)
{
    connections_.erase(connection);
    if (!closing_ && !accepting_ && connections_.size() < limits_.max_connections) {
        accept();
    }
}

// Leaves nothing pending, so that the thread's run() returns.
void MetricsServer::shut_down()
{
    closing_ = true;
    error_code ignored;
    acceptor_.close(ignored);
    retry_.cancel();
    for (Connection* connection : connections_) {
        connection->close();
    }
}

}  // namespace vmruntime::server
