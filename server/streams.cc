// SPDX-License-Identifier: BSD-2-Clause
//
// The streaming RPCs: Watch (state changes pushed by the registry) and
// Console (a machine's output ring, paced by a timer, and UART input).
//
// Their reactors are driven from outside gRPC's reactions too: registry
// observers, pool jobs and timers.  All of those reach the reactor through
// a shared Session that outlives it: OnDone detaches the session and
// deletes the reactor, after which calls through the session are dropped.
// gRPC may run a reaction, OnDone included, inline inside StartWrite or
// Finish, so the session's lock is recursive and every caller holds its own
// reference to the session.
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <deque>
#include <memory>
#include <mutex>

#include "server/machine_service.h"
#include "server/status.h"

namespace vmruntime::server {
namespace {

using runtime::MachineState;

constexpr size_t kConsoleChunk = 64 * 1024;
// Console output is polled this often while the guest is quiet.
constexpr auto kConsolePoll = std::chrono::milliseconds(10);
// The UART's FIFO was full: try the rest of the input again after this.
constexpr auto kInputRetry = std::chrono::milliseconds(5);

template <typename Reactor>
class Link {
public:
    explicit Link(Reactor* reactor) : reactor_(reactor) {}

    // Runs fn(reactor) unless the stream has finished; false if it has.
    template <typename Fn>
    bool with(Fn&& fn)
    {
        std::lock_guard lock(mutex_);
        if (!reactor_ || finished_) {
            return false;
        }
        fn(*reactor_);
        return true;
    }

    void finish(const grpc::Status& status)
    {
        std::lock_guard lock(mutex_);
        if (reactor_ && !finished_) {
            finished_ = true;
            reactor_->Finish(status);
        }
    }

    // Whether the stream still takes operations.
    bool open()
    {
        return with([](Reactor&) {});
    }

    void detach()
    {
        std::lock_guard lock(mutex_);
        reactor_ = nullptr;
    }

private:
    std::recursive_mutex mutex_;
    Reactor* reactor_;
    bool finished_ = false;
};

// ---------------------------------------------------------------------------
// Watch

using WatchBase = grpc::ServerWriteReactor<v1::WatchEvent>;

struct WatchSession {
    explicit WatchSession(WatchBase* reactor, std::string filter) : link(reactor), filter(std::move(filter)) {}

    // From any thread; one write in flight at a time, the rest queued.
    void push(const v1::WatchEvent& event)
    {
        if (!filter.empty() && event.name() != filter) {
            return;
        }
        {
            std::lock_guard lock(mutex);
            queue.push_back(event);
            if (writing) {
                return;
            }
            writing = true;
        }
        write_next();
    }

    void write_next()
    {
        {
            std::lock_guard lock(mutex);
            if (queue.empty()) {
                writing = false;
                return;
            }
            current = std::move(queue.front());
            queue.pop_front();
        }
        link.with([this](WatchBase& r) { r.StartWrite(&current); });
    }

    Link<WatchBase> link;
    const std::string filter;
    std::mutex mutex;
    std::deque<v1::WatchEvent> queue;
    bool writing = false;
    v1::WatchEvent current;  // the event being written
};

class WatchReactor final : public WatchBase {
public:
    WatchReactor(Registry& registry, const v1::WatchRequest& req)
        : registry_(registry), session_(std::make_shared<WatchSession>(this, req.name()))
    {
        // Subscribe first: a change between the two is sent twice, never lost.
        id_ = registry_.subscribe([s = session_](const v1::WatchEvent& e) { s->push(e); });
        for (const auto& info : registry_.list()) {
            v1::WatchEvent event;
            event.set_name(info.spec().name());
            event.set_state(info.state());
            event.set_exit_status(info.exit_status());
            event.set_reason(info.reason());
            session_->push(event);
        }
    }

    void OnWriteDone(bool ok) override
    {
        auto s = session_;
        if (!ok) {
            s->link.finish(grpc::Status::OK);
            return;
        }
        s->write_next();
    }

    void OnCancel() override
    {
        auto s = session_;
        s->link.finish(grpc::Status::CANCELLED);
    }

    void OnDone() override
    {
        registry_.unsubscribe(id_);
        session_->link.detach();
        delete this;
    }

private:
    Registry& registry_;
    std::shared_ptr<WatchSession> session_;
    int id_ = -1;
};

// ---------------------------------------------------------------------------
// Console

using ConsoleBase = grpc::ServerBidiReactor<v1::ConsoleRequest, v1::ConsoleResponse>;

class ConsoleSession : public std::enable_shared_from_this<ConsoleSession> {
public:
    ConsoleSession(ConsoleBase* reactor, Registry& registry, boost::asio::thread_pool& pool)
        : link(reactor), registry_(registry), pool_(pool), out_timer_(pool), in_timer_(pool)
    {
    }

    // A message from the client arrived in `request`.
    void on_request()
    {
        if (!machine_ && !attach()) {
            return;
        }
        if (request.input().empty()) {
            link.with([this](ConsoleBase& r) { r.StartRead(&request); });
            return;
        }
        input_ = request.input();
        input_pos_ = 0;
        boost::asio::post(pool_, [self = shared_from_this()] { self->feed(); });
    }

    // The client closed its side before naming a machine.
    void on_closed()
    {
        if (!machine_) {
            link.finish(to_grpc(bad_request("the first console message must name a machine")));
        }
    }

    void on_written()
    {
        boost::asio::post(pool_, [self = shared_from_this()] {
            if (self->link.open()) {
                self->pump();
            }
        });
    }

    Link<ConsoleBase> link;
    v1::ConsoleRequest request;

private:
    bool attach()
    {
        auto machine = registry_.machine(request.name(), "attach to the console of");
        if (!machine.ok()) {
            link.finish(to_grpc(machine.status()));
            return false;
        }
        machine_ = *machine;
        auto& ring = machine_->console();
        next_ = request.has_from_offset() ? request.from_offset() : ring.end_offset();
        boost::asio::post(pool_, [self = shared_from_this()] { self->pump(); });
        return true;
    }

    // Sends what the ring holds past next_, or waits a poll period.  Once
    // the machine has ended, one more empty poll lets late device output
    // in before the stream ends.
    void pump()
    {
        bool over = machine_->status().state == MachineState::Stopped ||
                    machine_->status().state == MachineState::Crashed;
        auto chunk = machine_->console().read(next_, kConsoleChunk);
        if (!chunk.bytes.empty()) {
            response_.Clear();
            response_.set_offset(chunk.offset);
            response_.set_data(chunk.bytes.data(), chunk.bytes.size());
            next_ = chunk.offset + chunk.bytes.size();
            link.with([this](ConsoleBase& r) { r.StartWrite(&response_); });
            return;
        }
        if (over && drained_once_) {
            return finish_ended();
        }
        drained_once_ = over;
        out_timer_.expires_after(kConsolePoll);
        out_timer_.async_wait([self = shared_from_this()](const boost::system::error_code&) {
            if (self->link.open()) {
                self->pump();
            }
        });
    }

    void finish_ended()
    {
        auto status = machine_->status();
        response_.Clear();
        response_.set_offset(next_);
        auto* ended = response_.mutable_ended();
        ended->mutable_spec()->set_name(machine_->spec().name);
        ended->set_state(to_proto(status.state));
        ended->set_exit_status(status.exit_status);
        ended->set_reason(status.reason);
        ended->set_uptime_ns(static_cast<uint64_t>(machine_->uptime().count()));
        link.with([this](ConsoleBase& r) { r.StartWriteLast(&response_, grpc::WriteOptions()); });
        link.finish(grpc::Status::OK);
    }

    // Hands input_ to the UART, waiting while its FIFO is full; input for
    // a machine that has ended is dropped.
    void feed()
    {
        auto rest = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(input_.data()) + input_pos_,
                                             input_.size() - input_pos_);
        input_pos_ += machine_->console_input(rest);
        auto state = machine_->status().state;
        if (input_pos_ < input_.size() && state != MachineState::Stopped && state != MachineState::Crashed) {
            in_timer_.expires_after(kInputRetry);
            in_timer_.async_wait([self = shared_from_this()](const boost::system::error_code&) {
                if (self->link.with([](ConsoleBase&) {})) {
                    self->feed();
                }
            });
            return;
        }
        link.with([this](ConsoleBase& r) { r.StartRead(&request); });
    }

    Registry& registry_;
    boost::asio::thread_pool& pool_;
    boost::asio::steady_timer out_timer_;
    boost::asio::steady_timer in_timer_;
    std::shared_ptr<runtime::Machine> machine_;
    uint64_t next_ = 0;
    bool drained_once_ = false;
    v1::ConsoleResponse response_;  // the message being written
    std::string input_;
    size_t input_pos_ = 0;
};

class ConsoleReactor final : public ConsoleBase {
public:
    ConsoleReactor(Registry& registry, boost::asio::thread_pool& pool)
        : session_(std::make_shared<ConsoleSession>(this, registry, pool))
    {
        StartRead(&session_->request);
    }

    void OnReadDone(bool ok) override
    {
        auto s = session_;
        if (ok) {
            s->on_request();
        } else {
            s->on_closed();
        }
    }

    void OnWriteDone(bool ok) override
    {
        auto s = session_;
        if (ok) {
            s->on_written();
        } else {
            s->link.finish(grpc::Status::CANCELLED);
        }
    }

    void OnCancel() override
    {
        auto s = session_;
        s->link.finish(grpc::Status::CANCELLED);
    }

    void OnDone() override
    {
        session_->link.detach();
        delete this;
    }

private:
    std::shared_ptr<ConsoleSession> session_;
};

}  // namespace

grpc::ServerWriteReactor<v1::WatchEvent>* make_watch(Registry& registry, const v1::WatchRequest& req)
{
    return new WatchReactor(registry, req);
}

grpc::ServerBidiReactor<v1::ConsoleRequest, v1::ConsoleResponse>* make_console(
    Registry& registry, boost::asio::thread_pool& pool)
{
    return new ConsoleReactor(registry, pool);
}

}  // namespace vmruntime::server
