// SPDX-License-Identifier: BSD-2-Clause
//
// Files a client names, refused through the daemon as a hostile client
// would name them: through the generated client and through vmctl, as root
// and as an unprivileged local user, each with the right status, while a
// healthy guests/hello machine in the same daemon keeps running.  (The TCP
// side is in tcp_test.cc.)
#include <sys/stat.h>
#include <unistd.h>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "daemon.h"
#include "vmruntime/v1/vmruntime.grpc.pb.h"

namespace vmruntime::testing {
namespace {

namespace v1 = vmruntime::v1;

constexpr uid_t kUser = 61234;  // a local user with no name and no rights here

class ClientFilesTest : public DaemonFixture {
protected:
    void SetUp() override
    {
        DaemonFixture::SetUp();
        if (IsSkipped() || HasFatalFailure()) {
            return;
        }
        ASSERT_EQ(vmctl({"create", "healthy", HELLO_ELF, "--cmdline", "hz=100"}).exit_code, 0);
        ASSERT_EQ(vmctl({"start", "healthy"}).exit_code, 0);
    }

    void TearDown() override
    {
        if (IsSkipped()) {
            return;
        }
        auto healthy = vmctl({"--json", "get", "healthy"});
        EXPECT_NE(healthy.out.find("\"state\":\"running\""), std::string::npos) << healthy.out;
        EXPECT_TRUE(daemon_.running());
        DaemonFixture::TearDown();
    }

    grpc::Status create(const std::string& name, const std::string& path)
    {
        grpc::ClientContext cc;
        cc.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
        v1::CreateRequest req;
        req.mutable_spec()->set_name(name);
        req.mutable_spec()->set_image_path(path);
        req.mutable_spec()->set_loader(v1::LOADER_KIND_FLAT_LONG);
        v1::CreateResponse resp;
        return stub_->Create(&cc, req, &resp);
    }

    // vmctl run with kUser's uid and gid and no other group.
    CommandResult vmctl_as_user(std::vector<std::string> args) const
    {
        args.insert(args.begin(), {"/usr/bin/setpriv", "--reuid=" + std::to_string(kUser),
                                   "--regid=" + std::to_string(kUser), "--clear-groups", VMCTL_PATH,
                                   "--socket", daemon_.socket()});
        return run_command(args);
    }
};

struct Refusal {
    std::string path;
    grpc::StatusCode code;
    std::string code_name;
    std::string why;
};

TEST_F(ClientFilesTest, FilesThatAreNoImagesAreRefused)
{
    const std::string fifo = file("fifo");
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    const std::string sparse = file("sparse");
    std::ofstream(sparse).close();
    std::filesystem::resize_file(sparse, 2ULL << 30);
    const std::string to_device = file("to-kvm");
    std::filesystem::create_symlink("/dev/kvm", to_device);

    const Refusal refusals[] = {
        {daemon_.dir(), grpc::StatusCode::INVALID_ARGUMENT, "INVALID_ARGUMENT", "not a regular file"},
        {fifo, grpc::StatusCode::INVALID_ARGUMENT, "INVALID_ARGUMENT", "not a regular file"},
        {"/dev/zero", grpc::StatusCode::INVALID_ARGUMENT, "INVALID_ARGUMENT", "not a regular file"},
        {"/dev/kvm", grpc::StatusCode::INVALID_ARGUMENT, "INVALID_ARGUMENT", "not a regular file"},
        {to_device, grpc::StatusCode::INVALID_ARGUMENT, "INVALID_ARGUMENT", "not a regular file"},
        {"/proc/self/mem", grpc::StatusCode::INVALID_ARGUMENT, "INVALID_ARGUMENT", "cannot read"},
        {sparse, grpc::StatusCode::INVALID_ARGUMENT, "INVALID_ARGUMENT", "more than the 16777216 bytes"},
        {file("missing"), grpc::StatusCode::NOT_FOUND, "NOT_FOUND", "No such file"},
    };
    for (const auto& r : refusals) {
        auto start = std::chrono::steady_clock::now();
        grpc::Status status = create("bad", r.path);
        EXPECT_EQ(status.error_code(), r.code) << r.path << ": " << status.error_message();
        EXPECT_NE(status.error_message().find(r.path), std::string::npos) << status.error_message();
        EXPECT_NE(status.error_message().find(r.why), std::string::npos) << status.error_message();
        EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5)) << r.path;

        auto created = vmctl({"create", "bad", r.path, "--loader", "flat-long"});
        EXPECT_EQ(created.exit_code, 1) << r.path;
        EXPECT_NE(created.err.find(r.code_name + ": "), std::string::npos) << created.err;
        EXPECT_NE(created.err.find(r.why), std::string::npos) << created.err;
    }
    EXPECT_EQ(vmctl({"get", "bad"}).exit_code, 1) << "no refused machine is left behind";
}

// Disks are opened like images (a regular file, the owner's rights) and
// checked before anything runs.
TEST_F(ClientFilesTest, DisksThatCannotBeAreRefused)
{
    const std::string fifo = file("disk-fifo");
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    const std::string empty = file("empty.img");
    std::ofstream(empty).close();
    const std::string disk = file("disk.img");
    std::ofstream(disk).close();
    std::filesystem::resize_file(disk, 1 << 20);

    const Refusal refusals[] = {
        {daemon_.dir(), grpc::StatusCode::INVALID_ARGUMENT, "INVALID_ARGUMENT", "is not a regular file"},
        {fifo, grpc::StatusCode::INVALID_ARGUMENT, "INVALID_ARGUMENT", "is not a regular file"},
        {"/dev/zero", grpc::StatusCode::INVALID_ARGUMENT, "INVALID_ARGUMENT", "is not a regular file"},
        {file("missing.img"), grpc::StatusCode::NOT_FOUND, "NOT_FOUND", "No such file"},
        {"disk.img", grpc::StatusCode::INVALID_ARGUMENT, "INVALID_ARGUMENT", "is relative"},
        {empty, grpc::StatusCode::INVALID_ARGUMENT, "INVALID_ARGUMENT", "smaller than one 512-byte sector"},
    };
    for (const auto& r : refusals) {
        grpc::ClientContext cc;
        v1::CreateRequest req;
        req.mutable_spec()->set_name("bad");
        req.mutable_spec()->set_image_path(HELLO_ELF);
        req.mutable_spec()->add_disks()->set_path(r.path);
        v1::CreateResponse resp;
        grpc::Status status = stub_->Create(&cc, req, &resp);
        EXPECT_EQ(status.error_code(), r.code) << r.path << ": " << status.error_message();
        EXPECT_NE(status.error_message().find(r.why), std::string::npos) << status.error_message();

        if (r.path.front() == '/') {  // vmctl makes paths absolute
            auto created = vmctl({"create", "bad", HELLO_ELF, "--disk", r.path + ",ro"});
            EXPECT_EQ(created.exit_code, 1) << r.path;
            EXPECT_NE(created.err.find(r.code_name + ": "), std::string::npos) << created.err;
            EXPECT_NE(created.err.find(r.why), std::string::npos) << created.err;
        }
    }
    std::vector<std::string> eight = {"create", "bad", HELLO_ELF};
    for (int i = 0; i < 8; i++) {
        eight.insert(eight.end(), {"--disk", disk});
    }
    auto created = vmctl(eight);
    EXPECT_EQ(created.exit_code, 1);
    EXPECT_NE(created.err.find("at most 7 fit"), std::string::npos) << created.err;
    eight.resize(eight.size() - 2);
    created = vmctl(eight);
    EXPECT_EQ(created.exit_code, 0) << created.err;
    EXPECT_EQ(vmctl({"delete", "bad"}).exit_code, 0);
    EXPECT_EQ(vmctl({"create", "bad", HELLO_ELF, "--disk", ",ro"}).exit_code, 2) << "a usage error";
    EXPECT_EQ(vmctl({"get", "bad"}).exit_code, 1) << "no refused machine is left behind";
}

// A local client reads with its own rights: not root's, although the
// daemon runs as root, and not only at Create but at every Start that reads
// the image again.
TEST_F(ClientFilesTest, AnUnprivilegedLocalUserReadsOnlyWhatItMay)
{
    if (::geteuid() != 0) {
        GTEST_SKIP() << "*** not root: cannot run a client as another user; SKIPPED ***";
    }
    ASSERT_EQ(::chmod(daemon_.dir().c_str(), 0711), 0);
    ASSERT_EQ(::chmod(daemon_.socket().c_str(), 0666), 0);
    const std::string public_image = file("public.elf");
    std::filesystem::copy_file(HELLO_ELF, public_image);
    ASSERT_EQ(::chmod(public_image.c_str(), 0644), 0);
    const std::string private_image = file("private.elf");
    std::filesystem::copy_file(HELLO_ELF, private_image);
    ASSERT_EQ(::chmod(private_image.c_str(), 0600), 0);
    const std::string to_shadow = file("to-shadow");
    std::filesystem::create_symlink("/etc/shadow", to_shadow);

    for (const std::string& path : {std::string("/etc/shadow"), to_shadow, private_image}) {
        auto created = vmctl_as_user({"create", "stolen", path, "--loader", "flat-long"});
        EXPECT_EQ(created.exit_code, 1) << path;
        EXPECT_NE(created.err.find("PERMISSION_DENIED: "), std::string::npos) << created.err;
        EXPECT_NE(created.err.find("Permission denied"), std::string::npos) << created.err;
    }
    EXPECT_EQ(vmctl({"get", "stolen"}).exit_code, 1);
    // A disk it may read but not write: read-only only.
    auto writable = vmctl_as_user({"create", "stolen", public_image, "--disk", public_image});
    EXPECT_EQ(writable.exit_code, 1);
    EXPECT_NE(writable.err.find("PERMISSION_DENIED: "), std::string::npos) << writable.err;
    auto read_only = vmctl_as_user({"create", "disk-ro", public_image, "--disk", public_image + ",ro"});
    EXPECT_EQ(read_only.exit_code, 0) << read_only.err;
    EXPECT_EQ(vmctl({"delete", "disk-ro"}).exit_code, 0);

    auto created = vmctl_as_user({"create", "users", public_image, "--cmdline", "hz=100 ticks=2 exit=3"});
    ASSERT_EQ(created.exit_code, 0) << created.err;
    auto info = vmctl({"--json", "get", "users"});
    EXPECT_NE(info.out.find("\"uid\":" + std::to_string(kUser)), std::string::npos) << info.out;
    ASSERT_EQ(vmctl({"start", "users"}).exit_code, 0);

    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (vmctl({"--json", "get", "users"}).out.find("\"state\":\"stopped\"") == std::string::npos) {
        ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "the guest did not power off after 2 ticks";
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }

    // Root starting it again still reads the image as its owner.
    ASSERT_EQ(::chmod(public_image.c_str(), 0600), 0);
    auto again = vmctl({"start", "users"});
    EXPECT_EQ(again.exit_code, 1);
    EXPECT_NE(again.err.find("PERMISSION_DENIED: "), std::string::npos) << again.err;
}

}  // namespace
}  // namespace vmruntime::testing
