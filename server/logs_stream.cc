// SPDX-License-Identifier: BSD-2-Clause
//
// The Logs RPC: a machine's console history from its log files
// (server/console_log.h), the last `tail` lines of it, then with `follow`
// each line as the log's writer writes it, until the machine is deleted or
// the client cancels.
//
// History and follow meet without a gap or an overlap: the log's strand
// writes out what the console ring holds, opens the files and makes the
// stream a follower in one step, so a line is either in the files as
// opened or reaches the follower.  The files are read on the service's
// pool (the stream holds their two descriptors and a 64 KiB buffer while
// it reads), one response in flight at a time.  What the writer hands the
// stream meanwhile waits in it; a follower that falls kMaxQueuedBytes
// behind is ended with RESOURCE_EXHAUSTED rather than holding the daemon's
// memory.
//
// The reactor is reached from outside gRPC's reactions too (the log's
// strand, registry observers, pool jobs), through a shared session that
// outlives it, as in streams.cc (server/stream_link.h).
#include <boost/asio/post.hpp>

#include <deque>
#include <memory>
#include <mutex>
#include <optional>

#include "server/console_log.h"
#include "server/machine_service.h"
#include "server/status.h"
#include "server/stream_link.h"
#include "vmruntime/base/log.h"

namespace vmruntime::server {
namespace {

// A response carries about this much, but at least one line.
constexpr size_t kBatchBytes = 64 * 1024;
// What a line costs in a response besides its text: its framing, roughly.
constexpr size_t kLineOverhead = 16;
constexpr size_t kMaxQueuedBytes = size_t{1} << 20;

using LogsBase = grpc::ServerWriteReactor<v1::LogsResponse>;

using LogsLink = Link<LogsBase>;

class LogsSession : public std::enable_shared_from_this<LogsSession> {
public:
    LogsSession(LogsBase* reactor, Registry& registry, boost::asio::thread_pool& pool, v1::LogsRequest request)
        : link(reactor), registry_(registry), pool_(pool), request_(std::move(request))
    {
    }

    // Finds the log and asks it for the history.
    void start()
    {
        const std::string& name = request_.name();
        if (name.empty()) {
            return link.finish(to_grpc(bad_request("the Logs request names no machine")));
        }
        // Before the machine is looked up: a delete after that is seen.
        if (request_.follow()) {
            watch_id_ = registry_.subscribe([weak = weak_from_this(), name](const v1::WatchEvent& e) {
                if (!e.deleted() || e.name() != name) {
                    return;
                }
                if (auto self = weak.lock()) {
                    guard(self->link, "Logs", [&] { self->on_deleted(); });
                }
            });
        }
        if (auto known = registry_.get(name); !known.ok()) {
            return link.finish(to_grpc(known.status()));
        }
        auto log = registry_.console_logs().open(name);
        bool deleted = false;
        {
            std::lock_guard lock(mutex_);
            log_ = log;
            deleted = deleted_;
        }
        if (deleted) {
            registry_.console_logs().discard(name, log);
        }
        ConsoleLog::Sink sink;
        if (request_.follow()) {
            sink = [weak = weak_from_this()](const std::vector<LogPiece>& pieces) {
                if (auto self = weak.lock()) {
                    guard(self->link, "Logs", [&] { self->on_pieces(pieces); });
                }
            };
        }
        log->read(
            [weak = weak_from_this(), log](absl::StatusOr<LogHistory> history, uint64_t follower) {
                auto self = weak.lock();
                if (!self) {
                    log->unfollow(follower);
                    return;
                }
                guard(self->link, "Logs", [&] { self->on_history(std::move(history), follower); });
            },
            std::move(sink));
    }

    void on_written(bool ok)
    {
        if (!ok) {
            return link.finish(grpc::Status::CANCELLED);
        }
        post_pump();  // still busy_: the next response, if any
    }

    // The stream is done: lets go of the registry and the log.
    void stop()
    {
        uint64_t follower = 0;
        std::shared_ptr<ConsoleLog> log;
        {
            std::lock_guard lock(mutex_);
            stopped_ = true;
            follower = follower_;
            log = log_;
        }
        if (watch_id_ != -1) {
            registry_.unsubscribe(watch_id_);
        }
        if (log) {
            log->unfollow(follower);
        }
    }

    LogsLink link;

private:
    // On the log's strand.
    void on_history(absl::StatusOr<LogHistory> history, uint64_t follower)
    {
        {
            std::lock_guard lock(mutex_);
            if (stopped_) {
                log_->unfollow(follower);
                return;
            }
            follower_ = follower;
        }
        if (!history.ok()) {
            return link.finish(to_grpc(history.status()));
        }
        history_ = std::move(*history);
        post_pump();  // busy_ since the start: nothing else pumps yet
    }

    // On the log's strand.
    void on_pieces(const std::vector<LogPiece>& pieces)
    {
        size_t bytes = 0;
        for (const auto& piece : pieces) {
            bytes += piece.text.size();
        }
        std::unique_lock lock(mutex_);
        if (stopped_) {
            return;
        }
        if (queued_ + bytes > kMaxQueuedBytes) {
            const size_t behind = queued_ + bytes;
            lock.unlock();
            base::log_warn("rpc", "Logs: dropped a follower of ", quote_name(request_.name()), " ", behind,
                           " bytes behind");
            return link.finish(to_grpc(over_limit("the logs reader fell " + std::to_string(behind) +
                                                  " bytes behind the guest's output, more than the daemon keeps "
                                                  "for it: read the logs again")));
        }
        live_.insert(live_.end(), pieces.begin(), pieces.end());
        queued_ += bytes;
        schedule_locked();
    }

    void on_deleted()
    {
        std::shared_ptr<ConsoleLog> log;
        {
            std::lock_guard lock(mutex_);
            deleted_ = true;
            log = log_;
            schedule_locked();
        }
        // A log made for the machine after it was deleted (it was looked
        // up just before) has nobody to remove it but this.
        if (log) {
            registry_.console_logs().discard(request_.name(), log);
        }
    }

    // Pumps unless a pump runs or a write is in flight; under mutex_.
    void schedule_locked()
    {
        if (!busy_) {
            busy_ = true;
            post_pump();
        }
    }

    void post_pump()
    {
        boost::asio::post(pool_, [self = shared_from_this()] { guard(self->link, "Logs", [&] { self->pump(); }); });
    }

    // On the pool, one at a time (busy_): the next response, or the end.
    void pump()
    {
        response_.Clear();
        batch_bytes_ = 0;
        if (!history_done_) {
            fill_from_history();
        }
        bool end = false;
        {
            std::lock_guard lock(mutex_);
            while (history_done_ && !live_.empty() && add(live_.front())) {
                queued_ -= live_.front().text.size();
                live_.pop_front();
            }
            if (response_.lines_size() == 0) {
                end = !request_.follow() || deleted_;
                busy_ = end;
                if (!end) {
                    return;
                }
            }
        }
        if (end) {
            return link.finish(grpc::Status::OK);
        }
        link.with([this](LogsBase& r) { r.StartWrite(&response_); });
    }

    // Adds the history's next lines to response_, reading the files.
    void fill_from_history()
    {
        if (!reader_) {
            if (request_.has_tail() && request_.tail() == 0) {
                return end_history();
            }
            if (request_.has_tail()) {
                const uint64_t lines = count_lines(*history_);
                skip_ = lines > request_.tail() ? lines - request_.tail() : 0;
            }
            reader_.emplace(*history_);
        }
        for (;;) {
            std::optional<LogPiece> piece = pending_ ? std::exchange(pending_, std::nullopt) : reader_->next();
            if (!piece) {
                return end_history();
            }
            if (skip_ > 0) {
                skip_ -= piece->text.back() == '\n' ? 1 : 0;
                continue;
            }
            if (!add(*piece)) {
                pending_ = std::move(piece);
                return;
            }
        }
    }

    void end_history()
    {
        history_done_ = true;
        reader_.reset();
        history_.reset();
    }

    // False, adding nothing, when response_ has no room for `piece`.
    bool add(const LogPiece& piece)
    {
        const size_t cost = piece.text.size() + kLineOverhead;
        if (response_.lines_size() > 0 && batch_bytes_ + cost > kBatchBytes) {
            return false;
        }
        auto* line = response_.add_lines();
        line->set_time_ns(piece.time_ns);
        line->set_text(piece.text);
        batch_bytes_ += cost;
        return true;
    }

    Registry& registry_;
    boost::asio::thread_pool& pool_;
    const v1::LogsRequest request_;
    int watch_id_ = -1;  // set by start(), before any other call

    std::mutex mutex_;
    std::shared_ptr<ConsoleLog> log_;
    uint64_t follower_ = 0;
    bool stopped_ = false;
    bool deleted_ = false;
    bool busy_ = true;  // a pump runs or is posted, or a write is in flight
    std::deque<LogPiece> live_;
    size_t queued_ = 0;  // text bytes in live_

    // The pump's, one at a time:
    std::optional<LogHistory> history_;
    std::optional<LogReader> reader_;  // reads *history_
    std::optional<LogPiece> pending_;  // read, not sent yet
    uint64_t skip_ = 0;                // lines of history before the tail
    bool history_done_ = false;
    v1::LogsResponse response_;  // the response being written
    size_t batch_bytes_ = 0;
};

class LogsReactor final : public LogsBase {
public:
    LogsReactor(Registry& registry, boost::asio::thread_pool& pool, const v1::LogsRequest& request)
        : session_(std::make_shared<LogsSession>(this, registry, pool, request))
    {
        auto s = session_;
        guard(s->link, "Logs", [&] { s->start(); });
    }

    void OnWriteDone(bool ok) override
    {
        auto s = session_;
        guard(s->link, "Logs", [&] { s->on_written(ok); });
    }

    void OnCancel() override { session_->link.finish(grpc::Status::CANCELLED); }

    void OnDone() override
    {
        session_->stop();
        session_->link.detach();
        delete this;
    }

private:
    std::shared_ptr<LogsSession> session_;
};

}  // namespace

grpc::ServerWriteReactor<v1::LogsResponse>* make_logs(Registry& registry, boost::asio::thread_pool& pool,
                                                      const v1::LogsRequest& request)
{
    return new LogsReactor(registry, pool, request);
}

}  // namespace vmruntime::server
