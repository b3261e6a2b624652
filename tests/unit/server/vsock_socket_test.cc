// SPDX-License-Identifier: BSD-2-Clause
// The host side of a machine's vsock device: the socket a client names is
// bound with the owner's rights, replaces only a stale socket, goes with
// the last copy of the spec, and guest connections reach "<socket>_<port>"
// as the owner could; every refusal has its status and names the path.
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "server/vsock_socket.h"

namespace vmruntime::server {
namespace {

class VsockSocketTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        char dir[] = "/tmp/vmrt-vsock-socket.XXXXXX";
        ASSERT_NE(::mkdtemp(dir), nullptr);
        dir_ = dir;
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    // A Unix socket bound at `path`, listening unless `listening` is false.
    base::UniqueFd bound(const std::string& path, bool listening = true)
    {
        base::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
        EXPECT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address), 0) << path;
        if (listening) {
            EXPECT_EQ(::listen(fd.get(), 1), 0);
        }
        return fd;
    }

    std::string dir_;
};

TEST_F(VsockSocketTest, TheSocketListensConnectsGuestsToPortSocketsAndGoesWithTheSpec)
{
    const std::string path = dir_ + "/vm.sock";
    auto spec = open_client_vsock(5, path, FileRights::daemon());
    ASSERT_TRUE(spec.ok()) << spec.status();
    EXPECT_EQ(spec->cid, 5u);
    struct stat st;
    ASSERT_EQ(::lstat(path.c_str(), &st), 0);
    EXPECT_TRUE(S_ISSOCK(st.st_mode));

    base::UniqueFd port_listener = bound(path + "_7");
    base::UniqueFd stream = spec->connect(7);
    EXPECT_TRUE(stream) << "someone listens for port 7";
    EXPECT_FALSE(spec->connect(8)) << "nobody listens for port 8";
    EXPECT_NE(::fcntl(stream.get(), F_GETFL) & O_NONBLOCK, 0);

    runtime::VsockSpec copy = *spec;
    spec = absl::InternalError("dropped");
    EXPECT_TRUE(std::filesystem::exists(path)) << "a copy still holds it";
    copy = {};
    EXPECT_FALSE(std::filesystem::exists(path)) << "removed with the last copy";
}

// A listener learns the daemon's identity from a connection whatever the
// thread's filesystem rights, so a guest reaches only its owner's sockets,
// never through a symbolic link to somebody else's.
TEST_F(VsockSocketTest, GuestsReachOnlyTheirOwnersSockets)
{
    if (::geteuid() != 0) {
        GTEST_SKIP() << "*** not root: no other user to own sockets; SKIPPED ***";
    }
    ASSERT_EQ(::chmod(dir_.c_str(), 0777), 0);
    const FileRights user = FileRights::user(61234, 61234);
    auto spec = open_client_vsock(3, dir_ + "/vm.sock", user);
    ASSERT_TRUE(spec.ok()) << spec.status();
    struct stat st;
    ASSERT_EQ(::lstat((dir_ + "/vm.sock").c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, 61234u) << "bound with the owner's identity";
    EXPECT_EQ(st.st_mode & 0777, 0600u) << "the owner's alone, whatever the umask";

    const std::string port9 = dir_ + "/vm.sock_9";
    base::UniqueFd roots = bound(port9);
    ASSERT_EQ(::chmod(port9.c_str(), 0777), 0);  // anyone may connect, like the system bus
    EXPECT_FALSE(spec->connect(9)) << "a socket of another user";
    ASSERT_EQ(::chown(port9.c_str(), 61234, 61234), 0);
    EXPECT_TRUE(spec->connect(9)) << "the owner's own";

    base::UniqueFd elsewhere = bound(dir_ + "/elsewhere.sock");
    ASSERT_EQ(::chown((dir_ + "/elsewhere.sock").c_str(), 61234, 61234), 0);
    ASSERT_EQ(::symlink((dir_ + "/elsewhere.sock").c_str(), (dir_ + "/vm.sock_10").c_str()), 0);
    EXPECT_FALSE(spec->connect(10)) << "not through a symbolic link";
}

TEST_F(VsockSocketTest, OnlyAStaleSocketIsReplacedAndOnlyTheBoundOneRemoved)
{
    const std::string stale = dir_ + "/stale.sock";
    bound(stale);  // closed at once: nobody listens there any more
    auto replaced = open_client_vsock(3, stale, FileRights::daemon());
    EXPECT_TRUE(replaced.ok()) << replaced.status();

    const std::string busy = dir_ + "/busy.sock";
    base::UniqueFd listener = bound(busy);
    auto in_use = open_client_vsock(3, busy, FileRights::daemon());
    EXPECT_EQ(in_use.status().code(), absl::StatusCode::kAlreadyExists) << in_use.status();
    EXPECT_NE(in_use.status().message().find(busy), std::string::npos);

    const std::string file = dir_ + "/file";
    std::ofstream(file) << "not a socket";
    auto on_file = open_client_vsock(3, file, FileRights::daemon());
    EXPECT_EQ(on_file.status().code(), absl::StatusCode::kAlreadyExists) << on_file.status();
    EXPECT_TRUE(std::filesystem::is_regular_file(file)) << "never removed";

    // Something else in the socket's place when the machine goes stays.
    const std::string moved = dir_ + "/moved.sock";
    auto spec = open_client_vsock(3, moved, FileRights::daemon());
    ASSERT_TRUE(spec.ok()) << spec.status();
    ASSERT_EQ(::unlink(moved.c_str()), 0);
    std::ofstream(moved) << "the owner's file now";
    spec = absl::InternalError("dropped");
    EXPECT_TRUE(std::filesystem::is_regular_file(moved));
}

TEST_F(VsockSocketTest, RefusalsNameThePath)
{
    auto remote = open_client_vsock(3, dir_ + "/r.sock", FileRights::beneath({dir_}));
    EXPECT_EQ(remote.status().code(), absl::StatusCode::kPermissionDenied) << remote.status();

    auto missing = open_client_vsock(3, dir_ + "/no/such/dir.sock", FileRights::daemon());
    EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound) << missing.status();
    EXPECT_NE(missing.status().message().find("/no/such/dir.sock"), std::string::npos);

    auto too_long = open_client_vsock(3, dir_ + "/" + std::string(100, 'x'), FileRights::daemon());
    EXPECT_EQ(too_long.status().code(), absl::StatusCode::kInvalidArgument) << too_long.status();

    if (::geteuid() == 0) {
        // Another user may not bind in a directory only root may write.
        ASSERT_EQ(::chmod(dir_.c_str(), 0755), 0);
        auto denied = open_client_vsock(3, dir_ + "/u.sock", FileRights::user(61234, 61234));
        EXPECT_EQ(denied.status().code(), absl::StatusCode::kPermissionDenied) << denied.status();
        EXPECT_FALSE(std::filesystem::exists(dir_ + "/u.sock"));
    }
}

}  // namespace
}  // namespace vmruntime::server
