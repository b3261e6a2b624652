// SPDX-License-Identifier: BSD-2-Clause
//
// vmctl logs: a machine's console history, as `docker logs` shows a
// container's.  Each line is printed as the guest wrote it, raw;
// --timestamps puts its time before it, with --json each is an object.  A
// line the guest has not ended yet may come in pieces (LogLine says so: no
// final '\n'), which print as one line.
#include <cinttypes>
#include <cstdio>

#include "vmctl.h"

namespace vmruntime::vmctl {
namespace {

// --tail N, or "all" (the whole history, as without it); -1 when parsed,
// else an exit code.
int parse_tail(const Args& args, v1::LogsRequest* req)
{
    if (!args.has("--tail") || args.value("--tail") == "all") {
        return -1;
    }
    uint64_t lines = 0;
    if (!parse_u64(args.value("--tail"), &lines) || lines > UINT32_MAX) {
        return usage_error("--tail takes a number of lines (at most " + std::to_string(UINT32_MAX) + ") or all");
    }
    req->set_tail(static_cast<uint32_t>(lines));
    return -1;
}

void print_line(const Context& ctx, const v1::LogLine& line, bool stamp)
{
    if (ctx.json) {
        std::printf("{\"time\":%s,\"time_ns\":%" PRId64 ",\"text\":%s}\n", json_string(utc_time(line.time_ns(), 9)).c_str(),
                    line.time_ns(), json_string(line.text()).c_str());
        return;
    }
    if (stamp) {
        std::fputs((utc_time(line.time_ns(), 9) + " ").c_str(), stdout);
    }
    std::fwrite(line.text().data(), 1, line.text().size(), stdout);
}

}  // namespace

int cmd_logs(Context& ctx, const Args& args)
{
    v1::LogsRequest req;
    req.set_name(args.positional[0]);
    if (int err = parse_tail(args, &req); err >= 0) {
        return err;
    }
    req.set_follow(args.flags.count("-f") || args.flags.count("--follow"));
    const bool timestamps = args.flags.count("-t") || args.flags.count("--timestamps");
    grpc::ClientContext cc;
    auto reader = ctx.stub->Logs(&cc, req);
    v1::LogsResponse resp;
    bool line_start = true;  // the last piece ended its line
    while (reader->Read(&resp)) {
        for (const auto& line : resp.lines()) {
            print_line(ctx, line, timestamps && line_start);
            line_start = !line.text().empty() && line.text().back() == '\n';
        }
        if (std::fflush(stdout) != 0) {
            // Whoever read our output is gone (| head): nobody is reading.
            cc.TryCancel();
            reader->Finish();
            return kExitOk;
        }
    }
    grpc::Status status = reader->Finish();
    return status.ok() ? kExitOk : fail(ctx, status);
}

}  // namespace vmruntime::vmctl
