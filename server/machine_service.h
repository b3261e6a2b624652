// SPDX-License-Identifier: BSD-2-Clause
//
// The vmruntime.v1.Machines service on gRPC's callback API.  gRPC threads
// never wait for a machine: whatever may block (building a machine, pausing
// vCPUs, reading their registers, feeding the UART) runs on the service's
// small worker pool, which then finishes the reactor.  What acts on one
// machine runs in that machine's lane (server/lanes.h), so a machine that
// does not answer holds one worker at most.  No request waits for a vCPU
// past its client's deadline, nor past kMaxVcpuWait, and a request whose
// deadline passed while it was queued is not started.  Graceful stops are
// paced by timers on the same pool, and console output is sent from it as
// the console ring notifies.  The pool is not the runtime's device layer:
// work that waits for a vCPU must not occupy the threads that serve the
// vCPU's devices.
#pragma once

#include <boost/asio/thread_pool.hpp>

#include "server/lanes.h"
#include "server/registry.h"
#include "vmruntime/v1/vmruntime.grpc.pb.h"

namespace vmruntime::server {

class MachineService final : public v1::Machines::CallbackService {
public:
    explicit MachineService(Registry& registry, unsigned workers = 8);
    // Runs what is queued, then joins the workers.
    ~MachineService() override;

    grpc::ServerUnaryReactor* Create(grpc::CallbackServerContext* ctx, const v1::CreateRequest* req,
                                     v1::CreateResponse* resp) override;
    grpc::ServerReadReactor<v1::UploadRequest>* Upload(grpc::CallbackServerContext* ctx,
                                                       v1::CreateResponse* resp) override;
    grpc::ServerUnaryReactor* Start(grpc::CallbackServerContext* ctx, const v1::StartRequest* req,
                                    v1::StartResponse* resp) override;
    grpc::ServerUnaryReactor* Pause(grpc::CallbackServerContext* ctx, const v1::PauseRequest* req,
                                    v1::PauseResponse* resp) override;
    grpc::ServerUnaryReactor* Resume(grpc::CallbackServerContext* ctx, const v1::ResumeRequest* req,
                                     v1::ResumeResponse* resp) override;
    grpc::ServerUnaryReactor* Stop(grpc::CallbackServerContext* ctx, const v1::StopRequest* req,
                                   v1::StopResponse* resp) override;
    grpc::ServerUnaryReactor* Delete(grpc::CallbackServerContext* ctx, const v1::DeleteRequest* req,
                                     v1::DeleteResponse* resp) override;
    grpc::ServerUnaryReactor* Get(grpc::CallbackServerContext* ctx, const v1::GetRequest* req,
                                  v1::GetResponse* resp) override;
    grpc::ServerUnaryReactor* List(grpc::CallbackServerContext* ctx, const v1::ListRequest* req,
                                   v1::ListResponse* resp) override;
    grpc::ServerWriteReactor<v1::WatchEvent>* Watch(grpc::CallbackServerContext* ctx,
                                                    const v1::WatchRequest* req) override;
    grpc::ServerUnaryReactor* GetRegisters(grpc::CallbackServerContext* ctx,
                                           const v1::GetRegistersRequest* req,
                                           v1::GetRegistersResponse* resp) override;
    grpc::ServerUnaryReactor* SetRegisters(grpc::CallbackServerContext* ctx,
                                           const v1::SetRegistersRequest* req,
                                           v1::SetRegistersResponse* resp) override;
    grpc::ServerUnaryReactor* ReadMemory(grpc::CallbackServerContext* ctx,
                                         const v1::ReadMemoryRequest* req,
                                         v1::ReadMemoryResponse* resp) override;
    grpc::ServerUnaryReactor* WriteMemory(grpc::CallbackServerContext* ctx,
                                          const v1::WriteMemoryRequest* req,
                                          v1::WriteMemoryResponse* resp) override;
    grpc::ServerBidiReactor<v1::ConsoleRequest, v1::ConsoleResponse>* Console(
        grpc::CallbackServerContext* ctx) override;
    grpc::ServerWriteReactor<v1::LogsResponse>* Logs(grpc::CallbackServerContext* ctx,
                                                     const v1::LogsRequest* req) override;
    grpc::ServerUnaryReactor* Stats(grpc::CallbackServerContext* ctx, const v1::StatsRequest* req,
                                    v1::StatsResponse* resp) override;
    grpc::ServerUnaryReactor* Snapshot(grpc::CallbackServerContext* ctx, const v1::SnapshotRequest* req,
                                       v1::SnapshotResponse* resp) override;
    grpc::ServerUnaryReactor* Restore(grpc::CallbackServerContext* ctx, const v1::RestoreRequest* req,
                                      v1::RestoreResponse* resp) override;
    grpc::ServerUnaryReactor* Clone(grpc::CallbackServerContext* ctx, const v1::CloneRequest* req,
                                    v1::CloneResponse* resp) override;
    grpc::ServerUnaryReactor* Reset(grpc::CallbackServerContext* ctx, const v1::ResetRequest* req,
                                    v1::ResetResponse* resp) override;
    grpc::ServerUnaryReactor* ListSnapshots(grpc::CallbackServerContext* ctx, const v1::ListSnapshotsRequest* req,
                                            v1::ListSnapshotsResponse* resp) override;

private:
    Registry& registry_;
    boost::asio::thread_pool pool_;
    Lanes lanes_{pool_};
};

// Stream reactors (upload.cc, streams.cc).
grpc::ServerReadReactor<v1::UploadRequest>* make_upload(grpc::CallbackServerContext* ctx, Registry& registry,
                                                        boost::asio::thread_pool& pool, v1::CreateResponse* resp);
grpc::ServerWriteReactor<v1::WatchEvent>* make_watch(Registry& registry, const v1::WatchRequest& req);
grpc::ServerBidiReactor<v1::ConsoleRequest, v1::ConsoleResponse>* make_console(
    Registry& registry, boost::asio::thread_pool& pool);
// logs_stream.cc
grpc::ServerWriteReactor<v1::LogsResponse>* make_logs(Registry& registry, boost::asio::thread_pool& pool,
                                                      const v1::LogsRequest& request);

}  // namespace vmruntime::server
