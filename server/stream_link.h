// SPDX-License-Identifier: BSD-2-Clause
//
// A server-streaming reactor as the threads outside gRPC's reactions see
// it (registry observers, pool jobs, timers, strands): operations reach it
// only while its stream is open, and OnDone detaches it.  gRPC may run a
// reaction, OnDone included, inline inside StartWrite or Finish, so the
// lock is recursive.
#pragma once

#include <grpcpp/grpcpp.h>

#include <mutex>
#include <string_view>

#include "server/status.h"

namespace vmruntime::server {

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

// A stream callback, guarded: an exception ends the stream with INTERNAL
// (Link::finish finishes once) instead of the daemon.
template <typename Reactor, typename Fn>
void guard(Link<Reactor>& link, std::string_view rpc, Fn&& fn) noexcept
{
    try {
        fn();
    } catch (...) {
        link.finish(to_grpc(unexpected_failure(rpc)));
    }
}

}  // namespace vmruntime::server
