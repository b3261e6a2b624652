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

#include <chrono>
#include <filesystem>
#include <fstream>

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
        auto read = read_client_file(path, max, "image");
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
    auto read = read_client_file(write("kernel", bytes), 4 << 20, "image");
    ASSERT_TRUE(read.ok()) << read.status();
    EXPECT_EQ(std::string(read->begin(), read->end()), bytes);
}

TEST_F(ClientFileTest, ReadsAFileOfExactlyTheBound)
{
    auto read = read_client_file(write("exact", std::string(4096, 'x')), 4096, "image");
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
    auto read = read_client_file(to_file, 1 << 20, "image");
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
    auto read = read_client_file("/proc/self/status", 1 << 20, "image");
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
        auto read = read_client_file(path, 1 << 20, "image");
        bool denied = !read.ok() && read.status().code() == absl::StatusCode::kPermissionDenied &&
                      read.status().message().find("Permission denied") != std::string::npos;
        _exit(denied ? 0 : 1);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0) << "100: could not drop root; 1: not PERMISSION_DENIED";
}

}  // namespace
}  // namespace vmruntime::server
