// SPDX-License-Identifier: BSD-2-Clause
//
// vmctl console and vmctl run: the Console stream on this terminal.  Output
// is read on the main thread; a second thread forwards keystrokes (raw mode
// when stdin is a terminal) until Ctrl-] detaches or stdin ends.
#include <sys/select.h>
#include <termios.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <optional>
#include <thread>

#include "vmctl.h"

namespace vmruntime::vmctl {
namespace {

constexpr uint8_t kDetachKey = 0x1D;  // Ctrl-]
constexpr const char* kPoweredOff = "guest powered off";

using ConsoleStream = grpc::ClientReaderWriter<v1::ConsoleRequest, v1::ConsoleResponse>;

// Raw keyboard while the guest owns the terminal; restored on the way out.
class RawTerminal {
public:
    RawTerminal()
    {
        active_ = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved_) == 0;
        if (active_) {
            termios raw = saved_;
            cfmakeraw(&raw);
            raw.c_oflag |= OPOST | ONLCR;
            tcsetattr(STDIN_FILENO, TCSANOW, &raw);
        }
    }
    ~RawTerminal()
    {
        if (active_) {
            tcsetattr(STDIN_FILENO, TCSANOW, &saved_);
        }
    }
    RawTerminal(const RawTerminal&) = delete;
    RawTerminal& operator=(const RawTerminal&) = delete;

private:
    termios saved_{};
    bool active_ = false;
};

struct Session {
    bool detached = false;
    std::optional<v1::MachineInfo> ended;
    grpc::Status status;
};

void pump_keys(ConsoleStream* stream, grpc::ClientContext* cc, const std::atomic<bool>& done,
               std::atomic<bool>* detached)
{
    while (!done.load()) {
        fd_set fds;
        FD_ZERO(&fds);
        FD_SET(STDIN_FILENO, &fds);
        timeval tv{0, 100000};
        if (select(STDIN_FILENO + 1, &fds, nullptr, nullptr, &tv) <= 0) {
            continue;
        }
        char buf[256];
        ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
        if (n <= 0) {
            stream->WritesDone();  // no more input; output goes on
            return;
        }
        if (std::memchr(buf, kDetachKey, static_cast<size_t>(n))) {
            detached->store(true);
            cc->TryCancel();
            return;
        }
        v1::ConsoleRequest req;
        req.set_input(buf, static_cast<size_t>(n));
        if (!stream->Write(req)) {
            return;
        }
    }
}

Session attach(Context& ctx, const std::string& name, std::optional<uint64_t> from)
{
    grpc::ClientContext cc;
    auto stream = ctx.stub->Console(&cc);
    v1::ConsoleRequest first;
    first.set_name(name);
    if (from) {
        first.set_from_offset(*from);
    }
    stream->Write(first);
    Session session;
    std::atomic<bool> done{false};
    std::atomic<bool> detached{false};
    std::fprintf(stderr, "vmctl: attached to %s.  Escape character is ^].\n", name.c_str());
    {
        RawTerminal terminal;
        std::thread keys(pump_keys, stream.get(), &cc, std::cref(done), &detached);
        v1::ConsoleResponse resp;
        while (stream->Read(&resp)) {
            std::fwrite(resp.data().data(), 1, resp.data().size(), stdout);
            std::fflush(stdout);
            if (resp.has_ended()) {
                session.ended = resp.ended();
            }
        }
        done = true;
        keys.join();
    }
    session.detached = detached.load();
    session.status = stream->Finish();
    return session;
}

// Reports how the session ended; returns the exit code of `console`.
int report(Context& ctx, const std::string& name, const Session& s)
{
    if (s.detached) {
        std::fprintf(stderr, "\r\nvmctl: detached from %s\r\n", name.c_str());
        return kExitOk;
    }
    if (!s.status.ok()) {
        return fail(ctx, s.status);
    }
    if (s.ended) {
        std::fprintf(stderr, "\r\nvmctl: machine %s ended: %s\r\n", name.c_str(), s.ended->reason().c_str());
    }
    return kExitOk;
}

}  // namespace

int cmd_console(Context& ctx, const Args& args)
{
    std::optional<uint64_t> from;
    if (args.has("--from")) {
        uint64_t offset;
        if (!parse_u64(args.value("--from"), &offset)) {
            return usage_error("--from takes a byte offset");
        }
        from = offset;
    }
    const std::string& name = args.positional[0];
    return report(ctx, name, attach(ctx, name, from));
}

int cmd_run(Context& ctx, const Args& args)
{
    std::string image;
    if (int err = image_argument(args, 0, &image); err >= 0) {
        return err;
    }
    const bool rm = args.flags.count("--rm") != 0;
    const bool background = args.flags.count("-d") != 0 || args.flags.count("--detach") != 0;
    if (rm && background) {
        return usage_error("--rm deletes the machine when its console ends, and --detach attaches none");
    }
    std::string name = args.value("--name", std::filesystem::path(image).stem().string());
    v1::MachineInfo started;
    if (int err = create_machine(ctx, args, name, image, true, &started); err >= 0) {
        return err;
    }
    if (background) {
        print_machine(ctx, started);
        return kExitOk;
    }
    Session s = attach(ctx, name, 0);
    // Detaching from a machine that --rm then deletes is no success: the
    // guest's work goes with it.
    int code = s.detached && rm ? kExitFailed : report(ctx, name, s);
    if (!s.detached && s.ended) {
        bool powered_off = s.ended->state() == v1::MACHINE_STATE_STOPPED &&
                           s.ended->reason().rfind(kPoweredOff, 0) == 0;
        code = powered_off ? static_cast<int>(s.ended->exit_status()) : kExitFailed;
    }
    if (rm) {
        grpc::ClientContext dc;
        v1::DeleteRequest del;
        del.set_name(name);
        del.set_force(true);
        v1::DeleteResponse deleted;
        if (auto status = ctx.stub->Delete(&dc, del, &deleted); !status.ok()) {
            return fail(ctx, status);
        }
        if (s.detached) {
            std::fprintf(stderr, "\r\nvmctl: detached; machine %s was deleted\r\n", name.c_str());
        }
    }
    return code;
}

}  // namespace vmruntime::vmctl
