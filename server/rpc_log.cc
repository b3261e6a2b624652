// SPDX-License-Identifier: BSD-2-Clause
#include "server/rpc_log.h"

#include <absl/status/status.h>
#include <google/protobuf/message.h>
#include <grpcpp/server_context.h>

#include <chrono>
#include <cstdio>
#include <mutex>
#include <string>
#include <string_view>

#include "server/peer.h"
#include "server/status.h"
#include "vmruntime/base/log.h"

namespace vmruntime::server {
namespace {

using grpc::experimental::InterceptionHookPoints;

// The machine a request names: its `name`, or its spec's (Create, Upload).
std::string machine_named(const google::protobuf::Message& request)
{
    using google::protobuf::FieldDescriptor;
    const auto* descriptor = request.GetDescriptor();
    const auto* reflection = request.GetReflection();
    const FieldDescriptor* name = descriptor->FindFieldByName("name");
    if (name != nullptr && name->type() == FieldDescriptor::TYPE_STRING && !name->is_repeated()) {
        return reflection->GetString(request, name);
    }
    const FieldDescriptor* spec = descriptor->FindFieldByName("spec");
    if (spec != nullptr && spec->type() == FieldDescriptor::TYPE_MESSAGE && !spec->is_repeated() &&
        reflection->HasField(request, spec)) {
        return machine_named(reflection->GetMessage(request, spec));
    }
    return "";
}

// A local caller by uid: its connection's peer name ("fd:N") means nothing
// once the call is over.
std::string caller(grpc::ServerContextBase& ctx)
{
    if (auto* callback = dynamic_cast<grpc::CallbackServerContext*>(&ctx)) {
        if (auto owner = owner_of(*callback); owner.ok() && owner->has_local()) {
            return "uid " + std::to_string(owner->local().uid());
        }
    }
    return ctx.peer();
}

// A client's mistakes are the operator's business too (a script that
// fails), but only the daemon's own failures are warnings.
base::LogLevel level_of(grpc::StatusCode code)
{
    switch (code) {
    case grpc::StatusCode::OK:
    case grpc::StatusCode::CANCELLED:
        return base::LogLevel::kDebug;
    case grpc::StatusCode::INTERNAL:
    case grpc::StatusCode::DATA_LOSS:
    case grpc::StatusCode::UNKNOWN:
        return base::LogLevel::kWarn;
    default:
        return base::LogLevel::kInfo;
    }
}

class RpcLog final : public grpc::experimental::Interceptor {
public:
    explicit RpcLog(grpc::experimental::ServerRpcInfo* info) : info_(info) {}

    void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override
    {
        if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_MESSAGE)) {
            // Null when a stream ended instead of sending one.  gRPC hands
            // over the request as the generated message it parsed.
            if (const void* request = methods->GetRecvMessage()) {
                note_machine(*static_cast<const google::protobuf::Message*>(request));
            }
        }
        if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
            log(methods->GetSendStatus());
        }
        methods->Proceed();
    }

private:
    void note_machine(const google::protobuf::Message& request)
    {
        std::lock_guard lock(mutex_);
        if (machine_.empty()) {
            machine_ = machine_named(request);
        }
    }

    std::string noted_machine() const
    {
        std::lock_guard lock(mutex_);
        return machine_;
    }

    void log(const grpc::Status& status) const
    {
        const base::LogLevel level = level_of(status.error_code());
        if (!base::log_enabled(level)) {
            return;
        }
        const std::chrono::duration<double, std::milli> took = std::chrono::steady_clock::now() - started_;
        char ms[32];
        std::snprintf(ms, sizeof ms, "%.1f ms", took.count());
        const std::string_view method = info_->method();
        const std::string code = absl::StatusCodeToString(static_cast<absl::StatusCode>(status.error_code()));
        const std::string machine = noted_machine();
        base::log(level, "rpc", method.substr(method.rfind('/') + 1), machine.empty() ? "" : " ",
                  machine.empty() ? "" : quote_name(machine), " from ", caller(*info_->server_context()), ": ",
                  code, " in ", ms, status.ok() ? "" : ": ", status.error_message());
    }

    grpc::experimental::ServerRpcInfo* info_;
    const std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
    // A stream's reads and its status are separate batches, which gRPC
    // may run on two threads at once.
    mutable std::mutex mutex_;
    std::string machine_;
};

class RpcLogFactory final : public grpc::experimental::ServerInterceptorFactoryInterface {
public:
    grpc::experimental::Interceptor* CreateServerInterceptor(grpc::experimental::ServerRpcInfo* info) override
    {
        return new RpcLog(info);
    }
};

}  // namespace

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> rpc_log()
{
    return std::make_unique<RpcLogFactory>();
}

}  // namespace vmruntime::server
