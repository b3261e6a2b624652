// SPDX-License-Identifier: BSD-2-Clause
//
// vmctl's snapshot verbs: snapshot, restore, clone and reset.  Directories
// are made absolute here, as image paths are.
#include <cstdint>
#include <iostream>
#include <string>

#include "vmctl.h"

namespace vmruntime::vmctl {

int cmd_snapshot(Context& ctx, const Args& args)
{
    v1::SnapshotRequest req;
    req.set_name(args.positional[0]);
    req.set_dir(absolute(args.positional[1]));
    grpc::ClientContext cc;
    v1::SnapshotResponse resp;
    if (grpc::Status status = ctx.stub->Snapshot(&cc, req, &resp); !status.ok()) {
        return fail(ctx, status);
    }
    if (ctx.json) {
        print_json(resp.machine(), {{"snapshot", json_string(req.dir())},
                                    {"disk_bytes", std::to_string(resp.disk_bytes())}});
        return kExitOk;
    }
    std::cout << "saved " << req.name() << " in " << req.dir() << " (" << size(resp.disk_bytes()) << " on disk)\n";
    return kExitOk;
}

int cmd_restore(Context& ctx, const Args& args)
{
    v1::RestoreRequest req;
    req.set_dir(absolute(args.positional[0]));
    req.set_name(args.positional[1]);
    req.set_paused(args.flags.count("--paused") != 0);
    v1::MachineSpec cpus;
    if (args.has("--cpus") && !parse_cpus(args.value("--cpus"), &cpus)) {
        return usage_error("--cpus takes a list like 0,2,3");
    }
    *req.mutable_cpus() = cpus.cpus();
    grpc::ClientContext cc;
    v1::RestoreResponse resp;
    if (grpc::Status status = ctx.stub->Restore(&cc, req, &resp); !status.ok()) {
        return fail(ctx, status);
    }
    print_machine(ctx, resp.machine());
    return kExitOk;
}

int cmd_clone(Context& ctx, const Args& args)
{
    v1::CloneRequest req;
    req.set_dir(absolute(args.positional[0]));
    req.set_prefix(args.positional[1]);
    uint64_t count = 1;
    if (args.has("-n") && (!parse_u64(args.value("-n"), &count) || count == 0 || count > UINT32_MAX)) {
        return usage_error("-n takes a number of machines, 1 or more");
    }
    req.set_count(static_cast<uint32_t>(count));
    grpc::ClientContext cc;
    v1::CloneResponse resp;
    if (grpc::Status status = ctx.stub->Clone(&cc, req, &resp); !status.ok()) {
        return fail(ctx, status);
    }
    for (const v1::MachineInfo& machine : resp.machines()) {
        if (ctx.json) {
            print_json(machine);
        } else {
            std::cout << machine.spec().name() << "\n";
        }
    }
    return kExitOk;
}

int cmd_reset(Context& ctx, const Args& args)
{
    v1::ResetRequest req;
    req.set_name(args.positional[0]);
    grpc::ClientContext cc;
    v1::ResetResponse resp;
    if (grpc::Status status = ctx.stub->Reset(&cc, req, &resp); !status.ok()) {
        return fail(ctx, status);
    }
    if (ctx.json) {
        print_json(resp.machine(), {{"pages", std::to_string(resp.pages())}});
        return kExitOk;
    }
    std::cout << "reset " << req.name() << " to " << resp.machine().spec().snapshot() << " (" << resp.pages()
              << " pages restored)\n";
    return kExitOk;
}

}  // namespace vmruntime::vmctl
