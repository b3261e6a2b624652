// SPDX-License-Identifier: BSD-2-Clause
//
// The small Linux kernel saved at its shell prompt: restored under another
// name, its shell answers; reset in place after it ran, it answers again;
// so does a clone beside it.  One boot: the rest starts from the snapshot.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <string>

#include "daemon.h"
#include "linux_guest.h"
#include "vmruntime/v1/vmruntime.grpc.pb.h"

namespace vmruntime::testing {
namespace {

TEST_F(LinuxTest, SavedAtThePromptTheShellAnswersInEveryCopy)
{
    ASSERT_TRUE(create(small_kernel("linux", kernel_.vmlinux)).ok());
    ASSERT_TRUE(call(&v1::Machines::Stub::Start, "linux").ok());
    {
        ConsoleSession console(*stub_, "linux");
        ASSERT_NE(console.wait_for(kPrompt, kBootTimeout), std::string::npos) << console.text();
        EXPECT_EQ(console.command("x=6"), "");  // shell state the copies must have
    }
    ASSERT_TRUE(call(&v1::Machines::Stub::Pause, "linux").ok());
    grpc::ClientContext cc;
    v1::SnapshotRequest save;
    save.set_name("linux");
    save.set_dir(daemon_.dir() + "/linux-snapshot");
    v1::SnapshotResponse saved;
    grpc::Status status = stub_->Snapshot(&cc, save, &saved);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_LT(saved.disk_bytes(), 64u << 20) << "the memory file has holes where the guest has zeros";
    ASSERT_TRUE(call(&v1::Machines::Stub::Stop, "linux").ok());

    auto restore = [&](const std::string& name) {
        grpc::ClientContext rc;
        v1::RestoreRequest req;
        req.set_name(name);
        req.set_dir(save.dir());
        v1::RestoreResponse resp;
        return stub_->Restore(&rc, req, &resp);
    };
    ASSERT_TRUE(restore("copy").ok());
    ASSERT_TRUE(restore("twin").ok());
    ConsoleSession copy(*stub_, "copy");
    EXPECT_EQ(copy.command("echo $((x*7))"), "42\r\n") << copy.text() << whereabouts("copy");
    EXPECT_EQ(copy.command("x=5"), "");

    v1::ResetResponse reset;
    ASSERT_TRUE(call(&v1::Machines::Stub::Reset, "copy", &reset).ok());
    EXPECT_GT(reset.pages(), 0u);
    EXPECT_EQ(copy.command("echo $((x*7))"), "42\r\n") << "x is 6 again: " << copy.text() << whereabouts("copy");

    ConsoleSession twin(*stub_, "twin");
    EXPECT_EQ(twin.command("echo $((x*7))"), "42\r\n") << twin.text() << whereabouts("twin");
}

}  // namespace
}  // namespace vmruntime::testing
