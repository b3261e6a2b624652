// SPDX-License-Identifier: BSD-2-Clause
//
// The daemon's errors: every failure a client can see is made here, with
// its canonical code and a message saying what to do about it, and turned
// into a grpc::Status here.  No other file picks a status code.
#pragma once

#include <absl/status/status.h>
#include <grpcpp/support/status.h>

#include <string>
#include <string_view>

namespace vmruntime::server {

// A machine name for a message, in quotes: a client's name of any length
// is cut to its first 64 bytes ("...", and its length, say it was longer),
// so that no error is too long for gRPC to carry.
std::string quote_name(std::string_view name);

// NOT_FOUND: no machine has this name.
absl::Status unknown_machine(std::string_view name);
// ALREADY_EXISTS: the name is taken.
absl::Status name_taken(std::string_view name);
// INVALID_ARGUMENT: a spec, image or request the daemon cannot use.
absl::Status bad_request(std::string_view why);
// NOT_FOUND: a file a client named does not exist.
absl::Status no_such_file(std::string_view why);
// PERMISSION_DENIED: a file a client named may not be read.
absl::Status file_denied(std::string_view why);
// RESOURCE_EXHAUSTED: past one of the daemon's limits.
absl::Status over_limit(std::string_view why);
// FAILED_PRECONDITION: the machine's state does not allow `verb`.
absl::Status wrong_state(std::string_view name, std::string_view state, std::string_view verb);
// OUT_OF_RANGE: an address range outside guest RAM.
absl::Status outside_ram(std::string_view why);
// DEADLINE_EXCEEDED: the request was given up at its deadline, or never
// started because the deadline had passed.
absl::Status too_late(std::string_view why);
// FAILED_PRECONDITION: a machine or file the daemon cannot do this with,
// whatever its state (`why` says what would).
absl::Status unsupported(std::string_view why);
// DATA_LOSS: a snapshot's files are damaged.
absl::Status corrupt_snapshot(std::string_view why);
// INTERNAL: the host failed (I/O on the state directory, nvmm).
absl::Status host_failure(std::string_view why);

// INTERNAL: an exception nothing expected reached an RPC (logged with
// `rpc`).  Call it only inside a catch block: it names the exception in
// flight.
absl::Status unexpected_failure(std::string_view rpc);

// The last-resort guard of every RPC: `fn`'s status, or an exception it
// throws as unexpected_failure(), so that no request can end the daemon.
template <typename Fn>
absl::Status guarded(std::string_view rpc, Fn&& fn) noexcept
{
    try {
        return fn();
    } catch (...) {
        return unexpected_failure(rpc);
    }
}

grpc::Status to_grpc(const absl::Status& status);

// "what: strerror(errno)", for host_failure() messages.
std::string errno_text(const std::string& what);

}  // namespace vmruntime::server
