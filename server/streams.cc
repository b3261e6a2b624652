// SPDX-License-Identifier: BSD-2-Clause
//
// The streaming RPCs: Watch (state changes pushed by the registry) and
// Console (a machine's output ring, woken by the ring as it grows and by the
// registry when the machine ends, and UART input).
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
#include <boost/asio/strand.hpp>

#include <atomic>
#include <chrono>
#include <deque>
#include <memory>
#include <mutex>

#include "server/machine_service.h"
#include "server/stream_link.h"
#include "server/status.h"
#include "vmruntime/base/log.h"

namespace vmruntime::server {
namespace {

using runtime::MachineState;

constexpr size_t kConsoleChunk = 64 * 1024;
// A Watch client that stops reading is dropped once this many events wait
// for it, rather than holding the daemon's memory.
constexpr size_t kMaxQueuedEvents = 4096;
// After the machine has ended, UART output it posted to its device strand
// may reach the ring a little later: the Console stream waits this long
// for it before it ends.
constexpr auto kLateOutput = std::chrono::milliseconds(10);
// The UART's FIFO was full: try the rest of the input again after this.
constexpr auto kInputRetry = std::chrono::milliseconds(5);

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
            if (queue.size() >= max_queued) {
                if (link.open()) {
                    base::log_warn("rpc", "Watch: dropped a watcher ", queue.size(), " events behind");
                }
                link.finish(to_grpc(over_limit("the watcher fell " + std::to_string(queue.size()) +
                                               " events behind: watch again to see the current states")));
                return;
            }
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
    size_t max_queued = kMaxQueuedEvents;  // plus the first states, one per machine
    bool writing = false;
    v1::WatchEvent current;  // the event being written
};

class WatchReactor final : public WatchBase {
public:
    WatchReactor(Registry& registry, const v1::WatchRequest& req)
        : registry_(registry), session_(std::make_shared<WatchSession>(this, req.name()))
    {
        // Subscribe first: a change between the two is sent twice, never lost.
        id_ = registry_.subscribe(
            [s = session_](const v1::WatchEvent& e) { guard(s->link, "Watch", [&] { s->push(e); }); });
        const auto machines = registry_.list();
        {
            std::lock_guard lock(session_->mutex);
            session_->max_queued += machines.size();
        }
        for (const auto& info : machines) {
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
        guard(s->link, "Watch", [&] {
            if (!ok) {
                s->link.finish(grpc::Status::OK);
                return;
            }
            s->write_next();
        });
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
        : link(reactor),
          registry_(registry),
          pool_(pool),
          strand_(boost::asio::make_strand(pool)),
          grace_timer_(strand_),
          in_timer_(pool)
    {
    }

    // The ring and the registry hold the session weakly: what they are
    // calling right now finds it gone; nothing is left registered.
    ~ConsoleSession()
    {
        if (machine_) {
            machine_->console().cancel_notify(ring_wait_);
            registry_.unsubscribe(watch_id_);
        }
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
        boost::asio::post(pool_, [self = shared_from_this()] { guard(self->link, "Console", [&] { self->feed(); }); });
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
        on_strand(shared_from_this(), [](ConsoleSession& s) { s.writing_ = false; });
    }

    Link<ConsoleBase> link;
    v1::ConsoleRequest request;

private:
    static bool ended(MachineState state)
    {
        return state == MachineState::Stopped || state == MachineState::Crashed;
    }

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
        // Subscribed before the first pump reads the state: an end in
        // between wakes it twice, never not at all.
        watch_id_ = registry_.subscribe([weak = weak_from_this(), name = request.name()](const v1::WatchEvent& e) {
            const bool end = e.state() == v1::MACHINE_STATE_STOPPED || e.state() == v1::MACHINE_STATE_CRASHED;
            if (e.name() != name || !end) {
                return;
            }
            if (auto self = weak.lock()) {
                on_strand(std::move(self), [](ConsoleSession&) {});
            }
        });
        on_strand(shared_from_this(), [](ConsoleSession&) {});
        return true;
    }

    // Runs step(*self), then pump(), on the strand, unless the stream has
    // finished.  Everything the output side keeps is touched only there.
    // `self` moves into the handler: the ring and the registry call from
    // the machine's own threads (device strand, vCPU), which must never
    // drop the last reference, as that would destroy the machine from
    // within and wait for themselves.
    template <typename Step>
    static void on_strand(std::shared_ptr<ConsoleSession> self, Step step)
    {
        auto& strand = self->strand_;
        boost::asio::post(strand, [self = std::move(self), step] {
            guard(self->link, "Console", [&] {
                step(*self);
                if (self->link.open()) {
                    self->pump();
                }
            });
        });
    }

    // Sends what the ring holds past next_, else waits for the ring to
    // grow or the machine to end, one write in flight at a time.  Once the
    // machine has ended, output still on its way to the ring gets
    // kLateOutput to arrive before the stream ends.
    void pump()
    {
        auto& ring = machine_->console();
        if (ring.begin_offset() > next_ && following_) {
            return drop_behind(ring.begin_offset() - next_, ring.capacity());
        }
        if (writing_) {
            return wait_for_loss();  // on_written pumps again
        }
        following_ = true;
        const bool over = ended(machine_->status().state);
        auto chunk = ring.read(next_, kConsoleChunk);
        if (!chunk.bytes.empty()) {
            response_.Clear();
            response_.set_offset(chunk.offset);
            response_.set_data(chunk.bytes.data(), chunk.bytes.size());
            next_ = chunk.offset + chunk.bytes.size();
            writing_ = true;
            link.with([this](ConsoleBase& r) { r.StartWrite(&response_); });
            return wait_for_loss();
        }
        // A closed ring takes no more output, and would notify at once.
        if (ring.closed() || (over && grace_over_)) {
            return finish_ended();
        }
        if (over && !grace_started_) {
            grace_started_ = true;
            grace_timer_.expires_after(kLateOutput);
            grace_timer_.async_wait([self = shared_from_this()](const boost::system::error_code&) {
                self->grace_over_ = true;
                guard(self->link, "Console", [&] {
                    if (self->link.open()) {
                        self->pump();
                    }
                });
            });
        }
        wait_for_ring(next_);
    }

    // While a write is in flight: wakes when the ring is about to overwrite
    // what this client has not been sent.
    void wait_for_loss() { wait_for_ring(next_ + machine_->console().capacity()); }

    // Pumps again once the ring ends past `offset`.  One notification at a
    // time, for the nearest offset asked: a farther one pending is replaced
    // (if it was already on its way, it only pumps once more).
    void wait_for_ring(uint64_t offset)
    {
        if (ring_waiting_ && ring_wait_offset_ <= offset) {
            return;
        }
        if (ring_waiting_) {
            machine_->console().cancel_notify(ring_wait_);
        }
        ring_waiting_ = true;
        ring_wait_offset_ = offset;
        ring_wait_ = machine_->console().notify_when(offset, [weak = weak_from_this()] {
            if (auto self = weak.lock()) {
                on_strand(std::move(self), [](ConsoleSession& s) { s.ring_waiting_ = false; });
            }
        });
    }

    // The guest wrote more than the ring holds since this client last
    // took output: the daemon keeps no more for it than the ring, so the
    // client learns it lost output instead of silently missing it.
    void drop_behind(uint64_t lost, size_t kept)
    {
        base::log_warn("rpc", "Console: dropped a reader of ", quote_name(machine_->spec().name), " ", lost,
                       " bytes behind");
        link.finish(to_grpc(over_limit("the console reader fell behind the guest's output by more than the " +
                                       std::to_string(kept >> 10) + " KiB the daemon keeps (" +
                                       std::to_string(lost) + " bytes lost): attach again")));
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
                guard(self->link, "Console", [&] {
                    if (self->link.with([](ConsoleBase&) {})) {
                        self->feed();
                    }
                });
            });
            return;
        }
        link.with([this](ConsoleBase& r) { r.StartRead(&request); });
    }

    Registry& registry_;
    boost::asio::thread_pool& pool_;
    boost::asio::strand<boost::asio::thread_pool::executor_type> strand_;
    boost::asio::steady_timer grace_timer_;  // on strand_
    boost::asio::steady_timer in_timer_;
    std::shared_ptr<runtime::Machine> machine_;
    int watch_id_ = -1;
    // On strand_:
    uint64_t next_ = 0;
    // Past the first read: a request's from_offset may name bytes already
    // gone, but a reader that was following must not lose any.
    bool following_ = false;
    bool writing_ = false;
    bool ring_waiting_ = false;  // a ring notification is pending
    uint64_t ring_wait_ = 0;     // its id
    uint64_t ring_wait_offset_ = 0;  // and the offset it waits for
    bool grace_started_ = false;
    bool grace_over_ = false;
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
        guard(s->link, "Console", [&] {
            if (ok) {
                s->on_request();
            } else {
                s->on_closed();
            }
        });
    }

    void OnWriteDone(bool ok) override
    {
        auto s = session_;
        guard(s->link, "Console", [&] {
            if (ok) {
                s->on_written();
            } else {
                s->link.finish(grpc::Status::CANCELLED);
            }
        });
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
