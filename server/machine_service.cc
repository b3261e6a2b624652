// SPDX-License-Identifier: BSD-2-Clause
#include "server/machine_service.h"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <memory>

#include "server/peer.h"
#include "server/registers.h"
#include "server/status.h"
#include "vmruntime/base/log.h"

namespace vmruntime::server {
namespace {

using runtime::MachineState;

constexpr uint32_t kMaxMemoryTransfer = 1U << 20;
constexpr uint32_t kMaxStopTimeoutMs = 600000;
constexpr uint32_t kMaxClones = 1000;
constexpr auto kStopPoll = std::chrono::milliseconds(20);
// The longest a request waits for a vCPU, whatever its client's deadline.
constexpr auto kMaxVcpuWait = std::chrono::seconds(10);

bool ended(MachineState state)
{
    return state == MachineState::Stopped || state == MachineState::Crashed;
}

grpc::ServerUnaryReactor* finish_now(grpc::CallbackServerContext* ctx, const absl::Status& status)
{
    auto* reactor = ctx->DefaultReactor();
    reactor->Finish(to_grpc(status));
    return reactor;
}

// The handler of `rpc`, guarded: an exception before it finished the call
// finishes it with INTERNAL.  (Handlers finish last, so never twice.)
template <typename Body>
grpc::ServerUnaryReactor* unary(grpc::CallbackServerContext* ctx, std::string_view rpc, Body body) noexcept
{
    try {
        return body();
    } catch (...) {
        return finish_now(ctx, unexpected_failure(rpc));
    }
}

// By when the work of a call must give up waiting for vCPUs: its client's
// deadline, but no later than kMaxVcpuWait from now.
runtime::Deadline wait_deadline(const grpc::CallbackServerContext& ctx)
{
    const auto left = ctx.deadline() - std::chrono::system_clock::now();
    return std::chrono::steady_clock::now() + std::min<std::chrono::steady_clock::duration>(left, kMaxVcpuWait);
}

// Runs `fn` (taking its wait deadline, returning absl::Status) guarded, and
// finishes the RPC with it; unless the client's deadline passed, or it gave
// up, while the work was queued: it is then not started.
// (The call's reactor is made once, by the handler: DefaultReactor() makes
// a new one each time.)
template <typename Fn>
auto finish_with(grpc::CallbackServerContext* ctx, grpc::ServerUnaryReactor* reactor, std::string_view rpc, Fn fn)
{
    return [ctx, reactor, rpc, fn = std::move(fn)]() mutable {
        if (ctx->IsCancelled() || ctx->deadline() <= std::chrono::system_clock::now()) {
            return reactor->Finish(to_grpc(too_late(std::string(rpc) + " was not started: its deadline passed "
                                                    "while it waited behind other requests")));
        }
        const runtime::Deadline deadline = wait_deadline(*ctx);
        reactor->Finish(to_grpc(guarded(rpc, [&] { return fn(deadline); })));
    };
}

// A lane that takes no more requests.
absl::Status lane_full(const std::string& name)
{
    return over_limit(std::to_string(Lanes::kMaxQueued) + " requests for machine " + quote_name(name) +
                      " wait already: try again later");
}

// `fn` on the pool.
template <typename Fn>
grpc::ServerUnaryReactor* offload(grpc::CallbackServerContext* ctx, boost::asio::thread_pool& pool,
                                  std::string_view rpc, Fn fn)
{
    auto* reactor = ctx->DefaultReactor();
    boost::asio::post(pool, finish_with(ctx, reactor, rpc, std::move(fn)));
    return reactor;
}

// `fn` in the lane of machine `name`: after the requests for it that came
// first, and never beside one of them.
template <typename Fn>
grpc::ServerUnaryReactor* in_lane(grpc::CallbackServerContext* ctx, Lanes& lanes, const std::string& name,
                                  std::string_view rpc, Fn fn)
{
    auto* reactor = ctx->DefaultReactor();
    if (!lanes.post(name, finish_with(ctx, reactor, rpc, std::move(fn)))) {
        reactor->Finish(to_grpc(lane_full(name)));
    }
    return reactor;
}

template <typename Response>
absl::Status reply(const absl::StatusOr<v1::MachineInfo>& info, Response* resp)
{
    if (info.ok()) {
        *resp->mutable_machine() = *info;
    }
    return info.status();
}

// A Stop in progress: asks the guest to shut down, polls until it has or
// the deadline passes, then powers it off.  Owned by its pending timer.
class GracefulStop : public std::enable_shared_from_this<GracefulStop> {
public:
    GracefulStop(grpc::CallbackServerContext* ctx, grpc::ServerUnaryReactor* reactor,
                 v1::StopResponse* resp, Registry& registry, std::shared_ptr<runtime::Machine> machine,
                 boost::asio::thread_pool& pool, Lanes& lanes, std::chrono::milliseconds timeout)
        : ctx_(ctx), reactor_(reactor), resp_(resp), registry_(registry), machine_(std::move(machine)),
          timer_(pool), lanes_(lanes), timeout_(timeout), deadline_(std::chrono::steady_clock::now() + timeout)
    {
    }

    // Guarded: the call ends with INTERNAL rather than the pool's thread.
    void poll() noexcept
    {
        try {
            step();
        } catch (...) {
            reactor_->Finish(to_grpc(unexpected_failure("Stop")));
        }
    }

private:
    void step()
    {
        if (ended(machine_->status().state)) {
            return finish(false);
        }
        if (!asked_ && timeout_.count() > 0) {
            asked_ = true;
            ask_guest();
        }
        auto now = std::chrono::steady_clock::now();
        if (now >= deadline_ || ctx_->IsCancelled()) {
            return power_off();
        }
        timer_.expires_after(std::min<std::chrono::steady_clock::duration>(kStopPoll, deadline_ - now));
        timer_.async_wait([self = shared_from_this()](const boost::system::error_code&) { self->poll(); });
    }

    // A guest that does not listen is powered off at the deadline all the same.
    void ask_guest()
    {
        const std::string& name = machine_->spec().name;
        auto asked = registry_.request_shutdown(name);
        if (!asked.ok() || !*asked) {
            base::log_debug("stop", "machine ", name, " has no keyboard listening for Ctrl-Alt-Del");
        }
    }

    // Waits for the vCPU threads to end, so in the machine's lane.
    void power_off()
    {
        const std::string& name = machine_->spec().name;
        const bool queued = lanes_.post(name, [self = shared_from_this()] {
            // finish() calls Finish last: an exception means it did not.
            const absl::Status stopped = guarded("Stop", [&] {
                self->machine_->stop("stopped by request: no power-off within " +
                                     std::to_string(self->timeout_.count()) + " ms");
                self->finish(true);
                return absl::OkStatus();
            });
            if (!stopped.ok()) {
                self->reactor_->Finish(to_grpc(stopped));
            }
        });
        if (!queued) {
            reactor_->Finish(to_grpc(lane_full(name)));
        }
    }

    void finish(bool forced)
    {
        resp_->set_forced(forced);
        auto info = registry_.get(machine_->spec().name);
        if (info.ok()) {
            *resp_->mutable_machine() = *info;
        }
        reactor_->Finish(grpc::Status::OK);
    }

    grpc::CallbackServerContext* ctx_;
    grpc::ServerUnaryReactor* reactor_;
    v1::StopResponse* resp_;
    Registry& registry_;
    std::shared_ptr<runtime::Machine> machine_;
    boost::asio::steady_timer timer_;
    Lanes& lanes_;
    std::chrono::milliseconds timeout_;
    std::chrono::steady_clock::time_point deadline_;
    bool asked_ = false;
};

// Checks a guest-physical range against RAM and the per-call cap.
absl::Status check_range(const runtime::Machine& machine, uint64_t address, uint64_t length)
{
    if (length == 0 || length > kMaxMemoryTransfer) {
        return bad_request("transfer " + std::to_string(length) + " bytes: give 1 to " +
                           std::to_string(kMaxMemoryTransfer) + " per call");
    }
    uint64_t size = machine.ram_size();
    if (address > size || length > size - address) {
        return outside_ram("range " + base::hex(address) + "+" + std::to_string(length) +
                           " is outside guest RAM (" + std::to_string(size >> 20) + " MiB)");
    }
    return absl::OkStatus();
}

// The vCPU exists and can answer.
absl::Status check_vcpu(const std::string& name, runtime::Machine& machine, uint32_t vcpu)
{
    if (vcpu >= machine.spec().vcpus) {
        return bad_request("machine '" + name + "' has no vCPU " + std::to_string(vcpu) + " (it has " +
                           std::to_string(machine.spec().vcpus) + ")");
    }
    auto state = machine.status().state;
    if (state != MachineState::Running && state != MachineState::Paused) {
        return wrong_state(name, runtime::to_string(state), "access the registers of");
    }
    return absl::OkStatus();
}

// The status of a state access that came to `outcome`.
absl::Status vcpu_failure(runtime::Outcome outcome, uint32_t vcpu, const std::string& error)
{
    switch (outcome) {
    case runtime::Outcome::Done:
        break;
    case runtime::Outcome::Refused:
        return host_failure("vCPU " + std::to_string(vcpu) + ": " + error);
    case runtime::Outcome::Invalid:
        return bad_request("vCPU " + std::to_string(vcpu) + " cannot run from these registers: " + error +
                           "; nothing was written");
    case runtime::Outcome::Late:
        return too_late("vCPU " + std::to_string(vcpu) + " did not answer in time; nothing was read or written");
    }
    return absl::OkStatus();
}

}  // namespace

MachineService::MachineService(Registry& registry, unsigned workers) : registry_(registry), pool_(workers)
{
}

MachineService::~MachineService()
{
    pool_.join();
}

grpc::ServerUnaryReactor* MachineService::Create(grpc::CallbackServerContext* ctx,
                                                 const v1::CreateRequest* req, v1::CreateResponse* resp)
{
    return unary(ctx, "Create", [&]() -> grpc::ServerUnaryReactor* {
        auto owner = owner_of(*ctx);
        if (!owner.ok()) {
            return finish_now(ctx, owner.status());
        }
        return offload(ctx, pool_, "Create", [this, req, resp, owner = *std::move(owner)](runtime::Deadline) {
            return reply(registry_.create(req->spec(), owner, req->start()), resp);
        });
    });
}

grpc::ServerReadReactor<v1::UploadRequest>* MachineService::Upload(grpc::CallbackServerContext* ctx,
                                                                   v1::CreateResponse* resp)
{
    return make_upload(ctx, registry_, pool_, resp);
}

grpc::ServerUnaryReactor* MachineService::Start(grpc::CallbackServerContext* ctx, const v1::StartRequest* req,
                                                v1::StartResponse* resp)
{
    return unary(ctx, "Start", [&]() -> grpc::ServerUnaryReactor* {
        return in_lane(ctx, lanes_, req->name(), "Start", [this, req, resp](runtime::Deadline) {
            return reply(registry_.start(req->name()), resp);
        });
    });
}

grpc::ServerUnaryReactor* MachineService::Pause(grpc::CallbackServerContext* ctx, const v1::PauseRequest* req,
                                                v1::PauseResponse* resp)
{
    return unary(ctx, "Pause", [&]() -> grpc::ServerUnaryReactor* {
        return in_lane(ctx, lanes_, req->name(), "Pause", [this, req, resp](runtime::Deadline deadline) {
            return reply(registry_.pause(req->name(), deadline), resp);
        });
    });
}

grpc::ServerUnaryReactor* MachineService::Resume(grpc::CallbackServerContext* ctx,
                                                 const v1::ResumeRequest* req, v1::ResumeResponse* resp)
{
    return unary(ctx, "Resume", [&]() -> grpc::ServerUnaryReactor* {
        return in_lane(ctx, lanes_, req->name(), "Resume", [this, req, resp](runtime::Deadline) {
            return reply(registry_.resume(req->name()), resp);
        });
    });
}

grpc::ServerUnaryReactor* MachineService::Stop(grpc::CallbackServerContext* ctx, const v1::StopRequest* req,
                                               v1::StopResponse* resp)
{
    return unary(ctx, "Stop", [&]() -> grpc::ServerUnaryReactor* {
        if (req->timeout_ms() > kMaxStopTimeoutMs) {
            return finish_now(ctx, bad_request("stop timeout " + std::to_string(req->timeout_ms()) +
                                                   " ms is over the limit of " +
                                                   std::to_string(kMaxStopTimeoutMs) + " ms"));
        }
        auto machine = registry_.machine(req->name(), "stop");
        if (!machine.ok()) {
            return finish_now(ctx, machine.status());
        }
        auto state = (*machine)->status().state;
        if (ended(state)) {
            return finish_now(ctx, wrong_state(req->name(), runtime::to_string(state), "stop"));
        }
        // Only a running guest can power itself off.
        auto timeout = std::chrono::milliseconds(state == MachineState::Running ? req->timeout_ms() : 0);
        auto* reactor = ctx->DefaultReactor();
        auto stop = std::make_shared<GracefulStop>(ctx, reactor, resp, registry_, *machine, pool_, lanes_, timeout);
        boost::asio::post(pool_, [stop] { stop->poll(); });
        return reactor;
    });
}

grpc::ServerUnaryReactor* MachineService::Delete(grpc::CallbackServerContext* ctx,
                                                 const v1::DeleteRequest* req, v1::DeleteResponse*)
{
    return unary(ctx, "Delete", [&]() -> grpc::ServerUnaryReactor* {
        return in_lane(ctx, lanes_, req->name(), "Delete",
                       [this, req](runtime::Deadline) { return registry_.remove(req->name(), req->force()); });
    });
}

grpc::ServerUnaryReactor* MachineService::Get(grpc::CallbackServerContext* ctx, const v1::GetRequest* req,
                                              v1::GetResponse* resp)
{
    return unary(ctx, "Get", [&]() -> grpc::ServerUnaryReactor* {
        return finish_now(ctx, reply(registry_.get(req->name()), resp));
    });
}

grpc::ServerUnaryReactor* MachineService::List(grpc::CallbackServerContext* ctx, const v1::ListRequest*,
                                               v1::ListResponse* resp)
{
    return unary(ctx, "List", [&]() -> grpc::ServerUnaryReactor* {
        for (auto& info : registry_.list()) {
            *resp->add_machines() = std::move(info);
        }
        return finish_now(ctx, absl::OkStatus());
    });
}

grpc::ServerWriteReactor<v1::WatchEvent>* MachineService::Watch(grpc::CallbackServerContext*,
                                                                const v1::WatchRequest* req)
{
    return make_watch(registry_, *req);
}

grpc::ServerUnaryReactor* MachineService::GetRegisters(grpc::CallbackServerContext* ctx,
                                                       const v1::GetRegistersRequest* req,
                                                       v1::GetRegistersResponse* resp)
{
    return unary(ctx, "GetRegisters", [&]() -> grpc::ServerUnaryReactor* {
        auto flags = state_flags(req->classes());
        auto machine = registry_.machine(req->name(), "access the registers of");
        if (!flags.ok() || !machine.ok()) {
            return finish_now(ctx, flags.ok() ? machine.status() : flags.status());
        }
        return in_lane(ctx, lanes_, req->name(), "GetRegisters",
                       [req, resp, flags = *flags, machine = *machine](runtime::Deadline deadline) -> absl::Status {
            if (auto ok = check_vcpu(req->name(), *machine, req->vcpu()); !ok.ok()) {
                return ok;
            }
            nvmm_x64_state state;
            std::string error;
            if (auto failed = vcpu_failure(machine->get_state(req->vcpu(), flags, &state, &error, deadline),
                                           req->vcpu(), error);
                !failed.ok()) {
                return failed;
            }
            to_proto(state, flags, resp->mutable_registers());
            return absl::OkStatus();
        });
    });
}

grpc::ServerUnaryReactor* MachineService::SetRegisters(grpc::CallbackServerContext* ctx,
                                                       const v1::SetRegistersRequest* req,
                                                       v1::SetRegistersResponse*)
{
    return unary(ctx, "SetRegisters", [&]() -> grpc::ServerUnaryReactor* {
        auto state = std::make_shared<nvmm_x64_state>();
        std::memset(state.get(), 0, sizeof *state);
        auto flags = from_proto(req->registers(), state.get());
        auto machine = registry_.machine(req->name(), "access the registers of");
        if (!flags.ok() || !machine.ok()) {
            return finish_now(ctx, flags.ok() ? machine.status() : flags.status());
        }
        return in_lane(ctx, lanes_, req->name(), "SetRegisters",
                       [req, state, flags = *flags, machine = *machine](runtime::Deadline deadline) -> absl::Status {
            if (auto ok = check_vcpu(req->name(), *machine, req->vcpu()); !ok.ok()) {
                return ok;
            }
            std::string error;
            return vcpu_failure(machine->set_state(req->vcpu(), flags, *state, &error, deadline), req->vcpu(),
                                error);
        });
    });
}

// Guest RAM is plain host memory: a copy never waits for the guest.
grpc::ServerUnaryReactor* MachineService::ReadMemory(grpc::CallbackServerContext* ctx,
                                                     const v1::ReadMemoryRequest* req,
                                                     v1::ReadMemoryResponse* resp)
{
    return unary(ctx, "ReadMemory", [&]() -> grpc::ServerUnaryReactor* {
        auto machine = registry_.machine(req->name(), "read the memory of");
        if (!machine.ok()) {
            return finish_now(ctx, machine.status());
        }
        auto ok = check_range(**machine, req->address(), req->length());
        if (ok.ok()) {
            resp->set_data(reinterpret_cast<const char*>((*machine)->ram() + req->address()), req->length());
        }
        return finish_now(ctx, ok);
    });
}

grpc::ServerUnaryReactor* MachineService::WriteMemory(grpc::CallbackServerContext* ctx,
                                                      const v1::WriteMemoryRequest* req,
                                                      v1::WriteMemoryResponse*)
{
    return unary(ctx, "WriteMemory", [&]() -> grpc::ServerUnaryReactor* {
        auto machine = registry_.machine(req->name(), "write the memory of");
        if (!machine.ok()) {
            return finish_now(ctx, machine.status());
        }
        auto ok = check_range(**machine, req->address(), req->data().size());
        if (ok.ok()) {
            std::memcpy((*machine)->ram() + req->address(), req->data().data(), req->data().size());
        }
        return finish_now(ctx, ok);
    });
}

grpc::ServerBidiReactor<v1::ConsoleRequest, v1::ConsoleResponse>* MachineService::Console(
    grpc::CallbackServerContext*)
{
    return make_console(registry_, pool_);
}

grpc::ServerWriteReactor<v1::LogsResponse>* MachineService::Logs(grpc::CallbackServerContext*,
                                                                 const v1::LogsRequest* req)
{
    return make_logs(registry_, pool_, *req);
}

grpc::ServerUnaryReactor* MachineService::Stats(grpc::CallbackServerContext* ctx, const v1::StatsRequest* req,
                                                v1::StatsResponse* resp)
{
    return unary(ctx, "Stats", [&]() -> grpc::ServerUnaryReactor* {
        auto machine = registry_.machine(req->name(), "get the stats of");
        if (!machine.ok()) {
            return finish_now(ctx, machine.status());
        }
        auto& m = **machine;
        resp->set_state(to_proto(m.status().state));
        resp->set_uptime_ns(static_cast<uint64_t>(m.uptime().count()));
        auto counters = m.exit_counters();
        auto* exits = resp->mutable_exits();
        exits->set_io(counters.io);
        exits->set_mmio(counters.mmio);
        exits->set_halted(counters.halted);
        exits->set_interrupts(counters.interrupts);
        exits->set_stopped(counters.stopped);
        exits->set_other(counters.other);
        resp->set_console_bytes(m.console().end_offset());
        return finish_now(ctx, absl::OkStatus());
    });
}

grpc::ServerUnaryReactor* MachineService::Snapshot(grpc::CallbackServerContext* ctx,
                                                   const v1::SnapshotRequest* req, v1::SnapshotResponse* resp)
{
    return unary(ctx, "Snapshot", [&]() -> grpc::ServerUnaryReactor* {
        auto caller = owner_of(*ctx);
        if (!caller.ok()) {
            return finish_now(ctx, caller.status());
        }
        return in_lane(ctx, lanes_, req->name(), "Snapshot",
                       [this, req, resp, caller = *std::move(caller)](runtime::Deadline deadline) {
            auto saved = registry_.snapshot(req->name(), req->dir(), caller, deadline);
            if (saved.ok()) {
                *resp = *std::move(saved);
            }
            return saved.status();
        });
    });
}

grpc::ServerUnaryReactor* MachineService::Restore(grpc::CallbackServerContext* ctx, const v1::RestoreRequest* req,
                                                  v1::RestoreResponse* resp)
{
    return unary(ctx, "Restore", [&]() -> grpc::ServerUnaryReactor* {
        auto caller = owner_of(*ctx);
        if (!caller.ok()) {
            return finish_now(ctx, caller.status());
        }
        return offload(ctx, pool_, "Restore", [this, req, resp, caller = *std::move(caller)](runtime::Deadline) {
            const std::vector<int> cpus(req->cpus().begin(), req->cpus().end());
            return reply(registry_.restore(req->name(), req->dir(), req->paused(), cpus, caller), resp);
        });
    });
}

grpc::ServerUnaryReactor* MachineService::Clone(grpc::CallbackServerContext* ctx, const v1::CloneRequest* req,
                                                v1::CloneResponse* resp)
{
    return unary(ctx, "Clone", [&]() -> grpc::ServerUnaryReactor* {
        auto caller = owner_of(*ctx);
        if (!caller.ok()) {
            return finish_now(ctx, caller.status());
        }
        if (req->count() == 0 || req->count() > kMaxClones) {
            return finish_now(ctx, bad_request("clone " + std::to_string(req->count()) + " machines: give 1 to " +
                                                   std::to_string(kMaxClones)));
        }
        return offload(ctx, pool_, "Clone", [this, req, resp, caller = *std::move(caller)](runtime::Deadline) {
            for (uint32_t i = 1; i <= req->count(); i++) {
                auto made = registry_.restore(req->prefix() + "-" + std::to_string(i), req->dir(), false, {}, caller);
                if (!made.ok()) {
                    return absl::Status(made.status().code(), std::to_string(i - 1) + " of " +
                                                                  std::to_string(req->count()) +
                                                                  " clones made, then: " +
                                                                  std::string(made.status().message()));
                }
                *resp->add_machines() = *std::move(made);
            }
            return absl::OkStatus();
        });
    });
}

grpc::ServerUnaryReactor* MachineService::Reset(grpc::CallbackServerContext* ctx, const v1::ResetRequest* req,
                                                v1::ResetResponse* resp)
{
    return unary(ctx, "Reset", [&]() -> grpc::ServerUnaryReactor* {
        return in_lane(ctx, lanes_, req->name(), "Reset", [this, req, resp](runtime::Deadline deadline) {
            auto reset = registry_.reset(req->name(), deadline);
            if (reset.ok()) {
                *resp = *std::move(reset);
            }
            return reset.status();
        });
    });
}

// On a worker: it looks at files on the host, which may be slow to answer.
grpc::ServerUnaryReactor* MachineService::ListSnapshots(grpc::CallbackServerContext* ctx,
                                                        const v1::ListSnapshotsRequest*,
                                                        v1::ListSnapshotsResponse* resp)
{
    return unary(ctx, "ListSnapshots", [&]() -> grpc::ServerUnaryReactor* {
        return offload(ctx, pool_, "ListSnapshots", [this, resp](runtime::Deadline) {
            *resp = registry_.list_snapshots();
            return absl::OkStatus();
        });
    });
}

}  // namespace vmruntime::server
