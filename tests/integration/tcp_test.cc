// SPDX-License-Identifier: BSD-2-Clause
//
// vmruntimed's TCP port (--listen): TLS with a throwaway CA, server and
// client certificates made by openssl in the daemon's temporary directory;
// a client without the bearer token or the client certificate is refused,
// one with it is served, and the daemon will not open an unauthenticated
// port at all.  Loopback only.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "daemon.h"
#include "vmruntime/v1/vmruntime.grpc.pb.h"

namespace vmruntime::testing {
namespace {

namespace v1 = vmruntime::v1;

// EC keys: quick to make.  The server certificate names 127.0.0.1, the
// address the clients dial.
constexpr const char* kMakeCertificates = R"(set -e
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"; }
key ca.key
openssl req -x509 -new -key ca.key -out ca.pem -days 1 -subj /CN=vmruntime-test-ca
key server.key
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' > server.ext
openssl req -new -key server.key -subj /CN=localhost -out server.csr
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 -out server.pem -extfile server.ext
key client.key
printf 'extendedKeyUsage=clientAuth\n' > client.ext
openssl req -new -key client.key -subj /CN=vmctl -out client.csr
openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 -out client.pem -extfile client.ext
)";

std::string slurp(const std::string& path)
{
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

class TcpTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        if (access("/dev/kvm", R_OK | W_OK) != 0) {
            GTEST_SKIP() << "*** /dev/kvm is not usable here: vmruntimed integration tests SKIPPED ***";
        }
        auto made = run_command({"/bin/sh", "-c", "cd '" + daemon_.dir() + "' && " + kMakeCertificates});
        ASSERT_EQ(made.exit_code, 0) << "openssl (deploy/install-deps.sh installs it) failed:\n" << made.err;
        std::ofstream(file("token")) << "s3cret-token\n";
        std::filesystem::create_directory(images_);
        std::filesystem::copy_file(HELLO_ELF, hello_);
        std::ofstream(file("wrong-token")) << "s3cret-tokeN\n";
    }

    void TearDown() override
    {
        if (HasFailure()) {
            std::cerr << "--- daemon log ---\n" << daemon_.log();
        }
    }

    std::string file(const std::string& name) const { return daemon_.dir() + "/" + name; }

    std::vector<std::string> tls_args(int port) const
    {
        return {"--listen", "127.0.0.1:" + std::to_string(port), "--tls-cert", file("server.pem"), "--tls-key",
                file("server.key")};
    }

    // Starts the daemon on a free port with `auth` (--client-ca or --token-file).
    void start(const std::vector<std::string>& auth)
    {
        int port = free_tcp_port();
        ASSERT_NE(port, 0);
        address_ = "127.0.0.1:" + std::to_string(port);
        auto args = tls_args(port);
        args.insert(args.end(), auth.begin(), auth.end());
        ASSERT_TRUE(daemon_.start(args)) << daemon_.log();
    }

    grpc::SslCredentialsOptions ssl(bool client_certificate) const
    {
        grpc::SslCredentialsOptions o;
        o.pem_root_certs = slurp(file("ca.pem"));
        if (client_certificate) {
            o.pem_cert_chain = slurp(file("client.pem"));
            o.pem_private_key = slurp(file("client.key"));
        }
        return o;
    }

    std::shared_ptr<grpc::ChannelCredentials> with_token(const std::string& token) const
    {
        return grpc::CompositeChannelCredentials(grpc::SslCredentials(ssl(false)),
                                                 grpc::AccessTokenCredentials(token));
    }

    grpc::Status list(const std::shared_ptr<grpc::ChannelCredentials>& creds)
    {
        auto stub = v1::Machines::NewStub(grpc::CreateChannel(address_, creds));
        grpc::ClientContext cc;
        cc.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
        v1::ListResponse resp;
        return stub->List(&cc, v1::ListRequest(), &resp);
    }

    CommandResult vmctl(const std::vector<std::string>& args)
    {
        std::vector<std::string> argv = {VMCTL_PATH, "--address", address_, "--tls-ca", file("ca.pem")};
        argv.insert(argv.end(), args.begin(), args.end());
        return run_command(argv);
    }

    Daemon daemon_;
    std::string address_;
    const std::string images_ = file("images");
    const std::string hello_ = images_ + "/hello.elf";
};

TEST_F(TcpTest, BearerTokenIsRequired)
{
    start({"--token-file", file("token")});
    auto refused = [&](const std::shared_ptr<grpc::ChannelCredentials>& creds) {
        grpc::Status status = list(creds);
        EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED) << status.error_message();
    };
    refused(grpc::SslCredentials(ssl(false)));
    refused(with_token("s3cret-tokeN"));
    refused(with_token("s3cret-token-and-more"));
    refused(with_token(""));
    grpc::Status ok = list(with_token("s3cret-token"));
    EXPECT_TRUE(ok.ok()) << ok.error_message();
    EXPECT_TRUE(daemon_.running());
}

TEST_F(TcpTest, ClientCertificateIsRequired)
{
    start({"--client-ca", file("ca.pem")});
    grpc::Status refused = list(grpc::SslCredentials(ssl(false)));
    EXPECT_EQ(refused.error_code(), grpc::StatusCode::UNAVAILABLE) << refused.error_message();
    grpc::Status ok = list(grpc::SslCredentials(ssl(true)));
    EXPECT_TRUE(ok.ok()) << ok.error_message();

    auto listed = vmctl({"--tls-cert", file("client.pem"), "--tls-key", file("client.key"), "list"});
    EXPECT_EQ(listed.exit_code, 0) << listed.err;
    EXPECT_NE(vmctl({"list"}).exit_code, 0);
}

TEST_F(TcpTest, NoUnauthenticatedPort)
{
    int port = free_tcp_port();
    ASSERT_NE(port, 0);
    auto daemon = [&](std::vector<std::string> args) {
        args.insert(args.begin(), {VMRUNTIMED_PATH, "--socket", file("sock"), "--state-dir", file("state")});
        return run_command(args);
    };
    auto no_auth = daemon(tls_args(port));
    EXPECT_EQ(no_auth.exit_code, 2);
    EXPECT_NE(no_auth.err.find("--client-ca or --token-file"), std::string::npos) << no_auth.err;
    auto no_tls = daemon({"--listen", "127.0.0.1:" + std::to_string(port), "--token-file", file("token")});
    EXPECT_EQ(no_tls.exit_code, 2);
    EXPECT_NE(no_tls.err.find("--tls-cert"), std::string::npos) << no_tls.err;
    EXPECT_EQ(daemon({"--token-file", file("token")}).exit_code, 2) << "auth options without --listen";
}

TEST_F(TcpTest, PortIsNotShared)
{
    start({"--token-file", file("token")});
    // `timeout`: a second daemon that wrongly serves is ended (status 124).
    auto second = run_command({"/usr/bin/timeout", "10", VMRUNTIMED_PATH, "--socket", file("second.sock"),
                               "--state-dir", file("second-state"), "--listen", address_, "--tls-cert",
                               file("server.pem"), "--tls-key", file("server.key"), "--token-file",
                               file("token")});
    EXPECT_EQ(second.exit_code, 1) << "a second daemon took the same TCP port";
    EXPECT_NE(second.err.find("cannot serve"), std::string::npos) << second.err;
    grpc::Status ok = list(with_token("s3cret-token"));
    EXPECT_TRUE(ok.ok()) << ok.error_message();
}

TEST_F(TcpTest, VmctlWithToken)
{
    start({"--token-file", file("token"), "--image-dir", images_});
    auto created = vmctl({"--token-file", file("token"), "create", "c", hello_, "--memory", "8"});
    EXPECT_EQ(created.exit_code, 0) << created.err;
    auto listed = vmctl({"--token-file", file("token"), "list", "--json"});
    EXPECT_EQ(listed.exit_code, 0) << listed.err;
    EXPECT_NE(listed.out.find("\"name\":\"c\""), std::string::npos) << listed.out;

    auto refused = vmctl({"--token-file", file("wrong-token"), "list"});
    EXPECT_EQ(refused.exit_code, 1);
    EXPECT_NE(refused.err.find("UNAUTHENTICATED"), std::string::npos) << refused.err;
    auto both = vmctl({"--socket", daemon_.socket(), "list"});
    EXPECT_EQ(both.exit_code, 2) << "--socket and --address exclude each other";
}

// A remote client reaches only files beneath --image-dir, however it
// spells the path, while a machine it started runs on.
TEST_F(TcpTest, RemoteClientsNameOnlyFilesInImageDirs)
{
    std::filesystem::create_symlink("/etc/shadow", images_ + "/shadow");
    std::filesystem::create_symlink("..", images_ + "/up");
    start({"--token-file", file("token"), "--image-dir", images_});
    auto as_remote = [&](std::vector<std::string> args) {
        args.insert(args.begin(), {"--token-file", file("token")});
        return vmctl(args);
    };
    ASSERT_EQ(as_remote({"create", "healthy", hello_, "--memory", "8", "--cmdline", "hz=100"}).exit_code, 0);
    ASSERT_EQ(as_remote({"start", "healthy"}).exit_code, 0);

    const std::pair<std::string, std::string> refused[] = {
        {"/etc/shadow", "not beneath an image directory"},
        {file("token"), "not beneath an image directory"},
        {images_ + "/shadow", "leads out of the image directory"},
        {images_ + "/up/token", "leads out of the image directory"},
        {images_ + "/../token", "leads out of the image directory"},
        {images_ + "/up/images/hello.elf", "leads out of the image directory"},
    };
    for (const auto& [path, why] : refused) {
        auto created = as_remote({"create", "x", path, "--loader", "flat-long"});
        EXPECT_EQ(created.exit_code, 1) << path;
        EXPECT_NE(created.err.find("PERMISSION_DENIED"), std::string::npos) << created.err;
        EXPECT_NE(created.err.find(why), std::string::npos) << created.err;
    }
    auto nested = as_remote({"create", "nested", images_ + "//hello.elf", "--memory", "8"});
    EXPECT_EQ(nested.exit_code, 0) << nested.err;
    std::filesystem::copy_file(hello_, file("outside.elf"));
    auto sent = as_remote({"create", "sent", file("outside.elf"), "--memory", "8", "--upload"});
    EXPECT_EQ(sent.exit_code, 0) << "or it sends the bytes: " << sent.err;

    auto healthy = as_remote({"get", "healthy", "--json"});
    EXPECT_NE(healthy.out.find("\"state\":\"running\""), std::string::npos) << healthy.out;
    EXPECT_NE(healthy.out.find("\"remote\""), std::string::npos) << "the owner is recorded: " << healthy.out;
    EXPECT_TRUE(daemon_.running());
}

}  // namespace
}  // namespace vmruntime::testing
