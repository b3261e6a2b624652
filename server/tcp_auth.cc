// SPDX-License-Identifier: BSD-2-Clause
//
// TLS credentials and bearer-token checking for vmruntimed's TCP port.
#include "server/tcp_auth.h"

#include <grpcpp/security/auth_metadata_processor.h>

#include <fstream>
#include <sstream>

namespace vmruntime::server {
namespace {

bool read_file(const std::string& path, std::string* text, std::string* error)
{
    std::ifstream in(path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    if (!in) {
        *error = "cannot read " + path;
        return false;
    }
    *text = s.str();
    return true;
}

// Same time whatever the first differing byte is, so that a client cannot
// learn the token a byte at a time; only the length may leak.
bool equal_in_constant_time(const grpc::string_ref& a, const std::string& b)
{
    unsigned char diff = a.size() == b.size() ? 0 : 1;
    for (size_t i = 0; i < b.size(); i++) {
        diff |= static_cast<unsigned char>(i < a.size() ? a.data()[i] ^ b[i] : 1);
    }
    return diff == 0;
}

class BearerTokenChecker : public grpc::AuthMetadataProcessor {
public:
    explicit BearerTokenChecker(const std::string& token) : expected_("Bearer " + token) {}

    // A comparison never waits: no need for another thread.
    bool IsBlocking() const override { return false; }

    grpc::Status Process(const InputMetadata& metadata, grpc::AuthContext*, OutputMetadata* consumed,
                         OutputMetadata*) override
    {
        auto it = metadata.find("authorization");
        if (it == metadata.end() || !equal_in_constant_time(it->second, expected_)) {
            return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "a valid bearer token is required");
        }
        // The service has no use for the token: keep it out of its sight.
        consumed->emplace("authorization", std::string(it->second.data(), it->second.size()));
        return grpc::Status::OK;
    }

private:
    const std::string expected_;
};

// The token is the file's first line, without trailing white space.
bool read_token(const std::string& path, std::string* token, std::string* error)
{
    if (!read_file(path, token, error)) {
        return false;
    }
    token->erase(token->find_last_not_of(" \t\r\n") + 1);
    if (token->empty() || token->find_first_of("\r\n") != std::string::npos) {
        *error = path + " must hold one line: the token";
        return false;
    }
    return true;
}

}  // namespace

std::shared_ptr<grpc::ServerCredentials> tcp_credentials(const TcpOptions& opt, std::string* error)
{
    if (opt.tls_cert.empty() || opt.tls_key.empty()) {
        *error = "--listen needs --tls-cert and --tls-key";
        return nullptr;
    }
    if (opt.client_ca.empty() && opt.token_file.empty()) {
        *error = "--listen needs --client-ca or --token-file: the TCP port is never open to anyone";
        return nullptr;
    }
    grpc::SslServerCredentialsOptions ssl;
    grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
    if (!read_file(opt.tls_key, &pair.private_key, error) || !read_file(opt.tls_cert, &pair.cert_chain, error)) {
        return nullptr;
    }
    ssl.pem_key_cert_pairs.push_back(pair);
    if (!opt.client_ca.empty()) {
        if (!read_file(opt.client_ca, &ssl.pem_root_certs, error)) {
            return nullptr;
        }
        ssl.client_certificate_request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
    }
    std::string token;
    if (!opt.token_file.empty() && !read_token(opt.token_file, &token, error)) {
        return nullptr;
    }
    auto creds = grpc::SslServerCredentials(ssl);
    if (!token.empty()) {
        creds->SetAuthMetadataProcessor(std::make_shared<BearerTokenChecker>(token));
    }
    return creds;
}

}  // namespace vmruntime::server
