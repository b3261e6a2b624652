// SPDX-License-Identifier: BSD-2-Clause
#include "server/status.h"

#include <cerrno>
#include <cstring>
#include <exception>
#include <string>

#include "vmruntime/base/log.h"

namespace vmruntime::server {

namespace {

constexpr size_t kQuotedName = 64;

}  // namespace

std::string quote_name(std::string_view name)
{
    if (name.size() <= kQuotedName) {
        return "'" + std::string(name) + "'";
    }
    return "'" + std::string(name.substr(0, kQuotedName)) + "...' (" + std::to_string(name.size()) + " bytes)";
}

absl::Status unknown_machine(std::string_view name)
{
    return absl::NotFoundError("no machine named " + quote_name(name) + " (vmctl list shows the machines)");
}

absl::Status name_taken(std::string_view name)
{
    return absl::AlreadyExistsError("a machine named " + quote_name(name) +
                                    " already exists: pick another name or delete it first");
}

absl::Status bad_request(std::string_view why)
{
    return absl::InvalidArgumentError(std::string(why));
}

absl::Status no_such_file(std::string_view why)
{
    return absl::NotFoundError(std::string(why));
}

absl::Status file_denied(std::string_view why)
{
    return absl::PermissionDeniedError(std::string(why));
}

absl::Status over_limit(std::string_view why)
{
    return absl::ResourceExhaustedError(std::string(why));
}

absl::Status wrong_state(std::string_view name, std::string_view state, std::string_view verb)
{
    return absl::FailedPreconditionError("cannot " + std::string(verb) + " machine " + quote_name(name) +
                                         ": it is " + std::string(state));
}

absl::Status outside_ram(std::string_view why)
{
    return absl::OutOfRangeError(std::string(why));
}

absl::Status too_late(std::string_view why)
{
    return absl::DeadlineExceededError(std::string(why));
}

absl::Status unsupported(std::string_view why)
{
    return absl::FailedPreconditionError(std::string(why));
}

absl::Status corrupt_snapshot(std::string_view why)
{
    return absl::DataLossError(std::string(why));
}

absl::Status host_failure(std::string_view why)
{
    return absl::InternalError(std::string(why));
}

absl::Status unexpected_failure(std::string_view rpc)
{
    std::string what = "an exception of unknown type";
    try {
        throw;
    } catch (const std::exception& e) {
        what = e.what();
    } catch (...) {
    }
    base::log_error("rpc", rpc, ": unexpected failure: ", what);
    return absl::InternalError(std::string(rpc) + " failed inside the daemon (" + what +
                               "); the daemon logged it and goes on");
}

// absl and gRPC share the canonical code numbering.
grpc::Status to_grpc(const absl::Status& status)
{
    if (status.ok()) {
        return grpc::Status::OK;
    }
    return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

std::string errno_text(const std::string& what)
{
    return what + ": " + std::strerror(errno);
}

}  // namespace vmruntime::server
