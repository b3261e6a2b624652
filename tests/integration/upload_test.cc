// SPDX-License-Identifier: BSD-2-Clause
//
// Upload: images larger than a gRPC message, streamed by vmctl --upload,
// kept by the daemon beside the spec and booted again after a restart; and
// uploads that are malformed, oversized, short or cancelled, which create
// nothing and leave the daemon serving.
#include <sys/stat.h>
#include <unistd.h>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "daemon.h"
#include "vmruntime/v1/vmruntime.grpc.pb.h"

namespace vmruntime::testing {
namespace {

namespace v1 = vmruntime::v1;
using namespace std::chrono_literals;

constexpr uint64_t kLargeImage = 14ULL << 20;  // a distribution kernel's size, past the 4 MiB message cap

class UploadTest : public DaemonFixture {
protected:

    // guests/hello with zeros after it, to `size` bytes: the ELF loader
    // loads its segments and ignores the rest.
    std::string padded_hello(uint64_t size) const
    {
        std::ifstream elf(HELLO_ELF, std::ios::binary);
        std::string bytes(std::istreambuf_iterator<char>(elf), {});
        bytes.resize(size);
        std::string path = file("hello-padded.elf");
        std::ofstream(path, std::ios::binary) << bytes;
        return path;
    }

    // Sends `parts` as one Upload and returns its status.
    grpc::Status upload(const std::vector<v1::UploadRequest>& parts, bool cancel_midway = false)
    {
        grpc::ClientContext cc;
        cc.set_deadline(std::chrono::system_clock::now() + 30s);
        v1::CreateResponse resp;
        auto writer = stub_->Upload(&cc, &resp);
        for (const auto& part : parts) {
            if (!writer->Write(part)) {
                break;
            }
        }
        if (cancel_midway) {
            cc.TryCancel();
        } else {
            writer->WritesDone();
        }
        return writer->Finish();
    }

    bool listed(const std::string& name)
    {
        grpc::ClientContext cc;
        v1::ListResponse resp;
        EXPECT_TRUE(stub_->List(&cc, v1::ListRequest(), &resp).ok());
        for (const auto& m : resp.machines()) {
            if (m.spec().name() == name) {
                return true;
            }
        }
        return false;
    }

};

v1::UploadRequest announce(const std::string& name, uint64_t image_size, uint64_t initrd_size = 0)
{
    v1::UploadRequest first;
    first.mutable_spec()->set_name(name);
    first.mutable_spec()->set_loader(v1::LOADER_KIND_FLAT_LONG);
    first.set_image_size(image_size);
    first.set_initrd_size(initrd_size);
    return first;
}

v1::UploadRequest data(size_t size)
{
    v1::UploadRequest part;
    part.set_data(std::string(size, '\xf4'));  // hlt
    return part;
}

TEST_F(UploadTest, ALargeImageIsStreamedKeptAndBootedAgainAfterARestart)
{
    const std::string image = padded_hello(kLargeImage);
    auto created = vmctl({"create", "big", image, "--upload", "--memory", "32", "--cmdline", "hz=100"});
    ASSERT_EQ(created.exit_code, 0) << created.err;
    EXPECT_NE(created.out.find("(uploaded), 14.0 MiB"), std::string::npos) << created.out;
    ASSERT_EQ(vmctl({"start", "big"}).exit_code, 0);
    EXPECT_NE(console("big", kBanner).find(kBanner), std::string::npos);

    const std::string machines = daemon_.state_dir() + "/machines/";
    EXPECT_EQ(std::filesystem::file_size(machines + "big.image"), kLargeImage);
    EXPECT_LT(std::filesystem::file_size(machines + "big.json"), 4096u) << "the bytes live beside the spec";
    std::filesystem::remove(image);

    EXPECT_EQ(daemon_.stop(), 0);
    ASSERT_TRUE(daemon_.start()) << daemon_.log();
    connect();
    ASSERT_EQ(vmctl({"start", "big"}).exit_code, 0);
    EXPECT_NE(console("big", kBanner).find(kBanner), std::string::npos);
    ASSERT_EQ(vmctl({"delete", "--force", "big"}).exit_code, 0);
    EXPECT_FALSE(std::filesystem::exists(machines + "big.image"));
}

TEST_F(UploadTest, BadUploadsCreateNothing)
{
    struct Case {
        const char* name;
        std::vector<v1::UploadRequest> parts;
        grpc::StatusCode code;
        const char* why;
    };
    v1::UploadRequest named_path = announce("path", 4096);
    named_path.mutable_spec()->set_image_path("/etc/shadow");
    v1::UploadRequest bad_name = announce("../x", 4096);
    const Case cases[] = {
        {"no-spec", {data(4096)}, grpc::StatusCode::INVALID_ARGUMENT, "carries the spec"},
        {"path", {named_path, data(4096)}, grpc::StatusCode::INVALID_ARGUMENT, "names no image"},
        {"../x", {bad_name, data(4096)}, grpc::StatusCode::INVALID_ARGUMENT, "bad machine name"},
        {"empty", {announce("empty", 0)}, grpc::StatusCode::INVALID_ARGUMENT, "has no image"},
        {"huge", {announce("huge", 17ULL << 20)}, grpc::StatusCode::RESOURCE_EXHAUSTED, "must fit"},
        {"huge-initrd", {announce("huge-initrd", 4096, 16ULL << 20)}, grpc::StatusCode::RESOURCE_EXHAUSTED,
         "must fit"},
        {"short", {announce("short", 8192), data(4096)}, grpc::StatusCode::INVALID_ARGUMENT,
         "ended after 4096 of the 8192 bytes"},
        {"long", {announce("long", 4096), data(4096), data(1)}, grpc::StatusCode::INVALID_ARGUMENT,
         "more than the 4096 bytes"},
        {"initrd-for-flat", {announce("initrd-for-flat", 4096, 4096), data(6000), data(2192)},
         grpc::StatusCode::INVALID_ARGUMENT, "an initrd needs a Linux kernel"},
        {"spec-twice", {announce("spec-twice", 8192), data(4096), announce("spec-twice", 8192)},
         grpc::StatusCode::INVALID_ARGUMENT, "only the first message"},
    };
    for (const auto& c : cases) {
        grpc::Status status = upload(c.parts);
        EXPECT_EQ(status.error_code(), c.code) << c.name << ": " << status.error_message();
        EXPECT_NE(status.error_message().find(c.why), std::string::npos) << c.name << ": " << status.error_message();
        EXPECT_FALSE(listed(c.name)) << c.name;
    }
    EXPECT_FALSE(upload({announce("cancelled", 1 << 20), data(4096)}, true).ok());
    EXPECT_FALSE(listed("cancelled"));

    grpc::Status ok = upload({announce("ok", 8192), data(6000), data(2192)});
    ASSERT_TRUE(ok.ok()) << ok.error_message();
    auto got = vmctl({"get", "ok"});
    EXPECT_NE(got.out.find("(uploaded), 8.0 KiB"), std::string::npos) << got.out;
    EXPECT_NE(vmctl({"--json", "get", "ok"}).out.find("\"image_size\":8192,"), std::string::npos);
    EXPECT_TRUE(daemon_.running());
}

TEST_F(UploadTest, VmctlUploadsOnlyRegularFiles)
{
    ASSERT_EQ(::mkfifo(file("fifo").c_str(), 0600), 0);
    for (const std::string& path : {daemon_.dir(), file("fifo"), std::string("/dev/zero")}) {
        auto created = vmctl({"create", "x", path, "--upload"});
        EXPECT_EQ(created.exit_code, 1) << path;
        EXPECT_NE(created.err.find("not a regular file"), std::string::npos) << created.err;
    }
    auto missing = vmctl({"create", "x", file("missing"), "--upload"});
    EXPECT_EQ(missing.exit_code, 1);
    EXPECT_NE(missing.err.find("No such file"), std::string::npos) << missing.err;
    EXPECT_FALSE(listed("x"));
}

}  // namespace
}  // namespace vmruntime::testing
