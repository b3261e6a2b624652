// SPDX-License-Identifier: BSD-2-Clause
//
// The last-resort guard of vmruntimed's RPCs (server/status.h): a handler's
// own status passes through; any exception becomes INTERNAL naming the RPC
// and the exception, instead of ending the daemon.
#include <gtest/gtest.h>

#include <new>
#include <stdexcept>

#include "server/status.h"

namespace vmruntime::server {
namespace {

TEST(Guard, PassesTheHandlersStatusThrough)
{
    EXPECT_TRUE(guarded("Get", [] { return absl::OkStatus(); }).ok());
    absl::Status refused = guarded("Create", [] { return bad_request("no image"); });
    EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(refused.message(), "no image");
}

TEST(Guard, TurnsAStandardExceptionIntoInternal)
{
    absl::Status s = guarded("Create", []() -> absl::Status { throw std::runtime_error("disk on fire"); });
    EXPECT_EQ(s.code(), absl::StatusCode::kInternal);
    EXPECT_NE(s.message().find("Create"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("disk on fire"), std::string::npos) << s.message();
    EXPECT_EQ(to_grpc(s).error_code(), grpc::StatusCode::INTERNAL);
}

TEST(Guard, CatchesAllocationFailuresAndForeignExceptions)
{
    absl::Status oom = guarded("ReadMemory", []() -> absl::Status { throw std::bad_alloc(); });
    EXPECT_EQ(oom.code(), absl::StatusCode::kInternal);
    EXPECT_NE(oom.message().find("bad_alloc"), std::string::npos) << oom.message();
    absl::Status odd = guarded("Start", []() -> absl::Status { throw 42; });
    EXPECT_EQ(odd.code(), absl::StatusCode::kInternal);
    EXPECT_NE(odd.message().find("unknown type"), std::string::npos) << odd.message();
}

}  // namespace
}  // namespace vmruntime::server
