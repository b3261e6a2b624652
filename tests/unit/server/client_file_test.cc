// SPDX-License-Identifier: BSD-2-Clause
//
// Files a client names are read without waiting on them and within a
// bound: regular files whole, everything else refused with the path and the
// reason under the right status.
#include "server/client_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

namespace vmruntime::server {
namespace {

class ClientFileTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        char tmpl[] = "/tmp/client_file_test.XXXXXX";
        dir_ = ::mkdtemp(tmpl);
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    std::string write(const std::string& name, const std::string& bytes)
    {
        std::string path = (dir_ / name).string();
        std::ofstream(path, std::ios::binary) << bytes;
        return path;
    }

    void expect_refused(const std::string& path, uint64_t max, absl::StatusCode code,
                        const std::string& why)
    {
        auto read = read_client_file(path, max, "image", FileRights::daemon());
        ASSERT_FALSE(read.ok()) << path;
        EXPECT_EQ(read.status().code(), code) << read.status();
        EXPECT_NE(read.status().message().find(path), std::string::npos) << read.status();
        EXPECT_NE(read.status().message().find(why), std::string::npos) << read.status();
    }

    std::filesystem::path dir_;
};

TEST_F(ClientFileTest, ReadsARegularFileWhole)
{
    const std::string bytes(3 << 20, 'k');
    auto read = read_client_file(write("kernel", bytes), 4 << 20, "image", FileRights::daemon());
    ASSERT_TRUE(read.ok()) << read.status();
    EXPECT_EQ(std::string(read->begin(), read->end()), bytes);
}

TEST_F(ClientFileTest, ReadsAFileOfExactlyTheBound)
{
    auto read = read_client_file(write("exact", std::string(4096, 'x')), 4096, "image", FileRights::daemon());
    ASSERT_TRUE(read.ok()) << read.status();
    EXPECT_EQ(read->size(), 4096u);
}

TEST_F(ClientFileTest, RefusesAFileLargerThanTheBound)
{
    expect_refused(write("big", std::string(4097, 'x')), 4096, absl::StatusCode::kInvalidArgument,
                   "is 4097 bytes, more than the 4096 bytes");
}

TEST_F(ClientFileTest, RefusesWhatIsNotARegularFile)
{
    expect_refused(dir_.string(), 1 << 20, absl::StatusCode::kInvalidArgument, "not a regular file");
    expect_refused("/dev/zero", 1 << 20, absl::StatusCode::kInvalidArgument, "not a regular file");
}

// The size is judged before a byte is read: a 2 GiB hole costs nothing.
TEST_F(ClientFileTest, RefusesAHugeSparseFileWithoutReadingIt)
{
    const std::string path = (dir_ / "sparse").string();
    std::filesystem::resize_file(write("sparse", ""), 2ULL << 30);
    auto start = std::chrono::steady_clock::now();
    expect_refused(path, 64 << 20, absl::StatusCode::kInvalidArgument, "more than the 67108864 bytes");
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
}

// A link is followed to what it names, and that is judged: a symlink
// cannot turn a device or a directory into an image.
TEST_F(ClientFileTest, SymlinksAreJudgedByWhatTheyName)
{
    const std::string to_device = (dir_ / "zero").string();
    std::filesystem::create_symlink("/dev/zero", to_device);
    expect_refused(to_device, 1 << 20, absl::StatusCode::kInvalidArgument, "not a regular file");
    const std::string to_dir = (dir_ / "here").string();
    std::filesystem::create_symlink(dir_, to_dir);
    expect_refused(to_dir, 1 << 20, absl::StatusCode::kInvalidArgument, "not a regular file");
    const std::string to_file = (dir_ / "kernel-link").string();
    std::filesystem::create_symlink(write("kernel", "bytes"), to_file);
    auto read = read_client_file(to_file, 1 << 20, "image", FileRights::daemon());
    ASSERT_TRUE(read.ok()) << read.status();
    EXPECT_EQ(read->size(), 5u);
}

TEST_F(ClientFileTest, AFifoWithoutAWriterIsRefusedAtOnce)
{
    const std::string fifo = (dir_ / "fifo").string();
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    auto start = std::chrono::steady_clock::now();
    expect_refused(fifo, 1 << 20, absl::StatusCode::kInvalidArgument, "not a regular file");
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
}

TEST_F(ClientFileTest, ProcfsFilesAreReadToTheBound)
{
    // stat says 0 bytes; the content is longer than that, and is bounded.
    auto read = read_client_file("/proc/self/status", 1 << 20, "image", FileRights::daemon());
    ASSERT_TRUE(read.ok()) << read.status();
    EXPECT_GT(read->size(), 0u);
    expect_refused("/proc/self/status", 16, absl::StatusCode::kInvalidArgument,
                   "larger than the 16 bytes");
}

TEST_F(ClientFileTest, MissingFileIsNotFound)
{
    expect_refused((dir_ / "none").string(), 1 << 20, absl::StatusCode::kNotFound,
                   "No such file or directory");
}

// Root reads any file: the reading is done by a child that gave up root.
TEST_F(ClientFileTest, UnreadableFileIsPermissionDenied)
{
    const std::string path = write("secret", "x");
    ::chmod(path.c_str(), 0);
    ::chmod(dir_.c_str(), 0755);
    pid_t child = ::fork();
    if (child == 0) {
        constexpr uid_t kNobody = 65534;
        if (::geteuid() == 0 && (::setgid(kNobody) != 0 || ::setuid(kNobody) != 0)) _exit(100);
        auto read = read_client_file(path, 1 << 20, "image", FileRights::daemon());
        bool denied = !read.ok() && read.status().code() == absl::StatusCode::kPermissionDenied &&
                      read.status().message().find("Permission denied") != std::string::npos;
        _exit(denied ? 0 : 1);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0) << "100: could not drop root; 1: not PERMISSION_DENIED";
}

// A local client's file is opened with its rights, not the daemon's, and
// only on the opening thread: the daemon reads as root again right after,
// and meanwhile on any other thread.
TEST_F(ClientFileTest, UserRightsAreTheUsersOwn)
{
    if (::geteuid() != 0) {
        GTEST_SKIP() << "*** not root: the daemon cannot take a user's rights here; SKIPPED ***";
    }
    constexpr uid_t kUser = 61234;  // no such user: its only group is its gid
    ::chmod(dir_.c_str(), 0755);
    const std::string secret = write("secret", "root only");
    ::chmod(secret.c_str(), 0600);
    const std::string mine = write("mine", "the user's");
    ::chmod(mine.c_str(), 0600);
    ASSERT_EQ(::chown(mine.c_str(), kUser, kUser), 0);
    const std::string shared = write("shared", "anyone's");
    ::chmod(shared.c_str(), 0644);

    const auto user = FileRights::user(kUser, kUser);
    auto denied = read_client_file(secret, 1 << 20, "image", user);
    ASSERT_FALSE(denied.ok());
    EXPECT_EQ(denied.status().code(), absl::StatusCode::kPermissionDenied) << denied.status();
    EXPECT_NE(denied.status().message().find(secret), std::string::npos) << denied.status();
    auto shadow = read_client_file("/etc/shadow", 1 << 20, "image", user);
    EXPECT_EQ(shadow.status().code(), absl::StatusCode::kPermissionDenied) << shadow.status();
    EXPECT_TRUE(read_client_file(mine, 1 << 20, "image", user).ok());
    EXPECT_TRUE(read_client_file(shared, 1 << 20, "image", user).ok());

    EXPECT_TRUE(read_client_file(secret, 1 << 20, "image", FileRights::daemon()).ok()) << "identity restored";
    std::atomic<bool> stop{false};
    std::atomic<unsigned> root_reads{0};
    std::thread other([&] {
        while (!stop.load()) {
            root_reads += read_client_file(secret, 1 << 20, "image", FileRights::daemon()).ok();
        }
    });
    for (int i = 0; i < 200; i++) {
        EXPECT_FALSE(read_client_file(secret, 1 << 20, "image", user).ok());
    }
    stop.store(true);
    other.join();
    EXPECT_GT(root_reads.load(), 0u);
}

// Beneath a directory, the kernel resolves the rest: no "..", no link may
// lead out, and a path outside every directory is refused before any open.
TEST_F(ClientFileTest, BeneathRightsStayInTheirDirectories)
{
    const auto images = dir_ / "images";
    std::filesystem::create_directory(images);
    const std::string outside = write("outside", "not an image");
    std::ofstream(images / "kernel") << "kernel";
    std::filesystem::create_directory(images / "sub");
    std::filesystem::create_symlink("../kernel", images / "sub" / "relative");
    std::filesystem::create_symlink(outside, images / "absolute");
    std::filesystem::create_symlink("/proc/self/root/etc/passwd", images / "magic");
    const auto rights = FileRights::beneath({images.string()});
    auto read = [&](const std::string& path) { return read_client_file(path, 1 << 20, "image", rights); };

    EXPECT_TRUE(read((images / "kernel").string()).ok());
    EXPECT_TRUE(read((images / "sub" / "relative").string()).ok()) << "a link within is followed";
    EXPECT_TRUE(read(images.string() + "/sub/../kernel").ok());
    for (const std::string& path : {(images / "absolute").string(), images.string() + "/../outside",
                                    (images / "magic").string()}) {
        auto refused = read(path);
        ASSERT_FALSE(refused.ok()) << path;
        EXPECT_EQ(refused.status().code(), absl::StatusCode::kPermissionDenied) << refused.status();
        EXPECT_NE(refused.status().message().find(path), std::string::npos) << refused.status();
    }
    auto elsewhere = read(outside);
    EXPECT_EQ(elsewhere.status().code(), absl::StatusCode::kPermissionDenied) << elsewhere.status();
    EXPECT_NE(elsewhere.status().message().find("not beneath an image directory"), std::string::npos);
    auto prefix = read(images.string() + "-not/kernel");
    EXPECT_EQ(prefix.status().code(), absl::StatusCode::kPermissionDenied) << "a name prefix is not a directory";
    auto none = read_client_file((images / "kernel").string(), 1 << 20, "image", FileRights::beneath({}));
    EXPECT_NE(none.status().message().find("it has none"), std::string::npos) << none.status();
    EXPECT_EQ(read((images / "missing").string()).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace vmruntime::server
