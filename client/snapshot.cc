// SPDX-License-Identifier: BSD-2-Clause
//
// vmctl's snapshot verbs: snapshot, restore, clone, reset and snapshots.  Directories
// are made absolute here, as image paths are.
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <string>

#include "vmctl.h"

namespace vmruntime::vmctl {
namespace {

// 2026-12-06 17:20:01, in the local time zone.
std::string local_time(int64_t unix_seconds)
{
    const auto t = static_cast<std::time_t>(unix_seconds);
    std::tm tm{};
    localtime_r(&t, &tm);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S", &tm);
    return text;
}

}  // namespace

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

int cmd_snapshots(Context& ctx, const Args&)
{
    grpc::ClientContext cc;
    v1::ListSnapshotsResponse resp;
    if (grpc::Status status = ctx.stub->ListSnapshots(&cc, v1::ListSnapshotsRequest(), &resp); !status.ok()) {
        return fail(ctx, status);
    }
    if (!ctx.json) {
        std::printf("%-32s %-16s %9s %9s  %-19s  %s\n", "DIR", "MACHINE", "MEMORY", "DISK", "TAKEN", "USED BY");
    }
    for (const v1::SnapshotInfo& s : resp.snapshots()) {
        if (ctx.json) {
            print_json(s);
            continue;
        }
        std::string used_by;
        for (const std::string& name : s.machines()) {
            used_by += (used_by.empty() ? "" : ",") + name;
        }
        std::printf("%-32s %-16s %9s %9s  %-19s  %s\n", s.dir().c_str(), s.machine().c_str(),
                    size(s.memory_mib() << 20).c_str(), s.present() ? size(s.disk_bytes()).c_str() : "gone",
                    local_time(s.taken_at()).c_str(), used_by.c_str());
    }
    return kExitOk;
}

}  // namespace vmruntime::vmctl
