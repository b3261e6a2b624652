// SPDX-License-Identifier: BSD-2-Clause
//
// vmctl's channel to vmruntimed: the local Unix socket, or a TCP address
// reached with TLS and authenticated by a client certificate or a bearer
// token.
#include <fstream>
#include <sstream>

#include "vmctl.h"

namespace vmruntime::vmctl {
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

std::shared_ptr<grpc::ChannelCredentials> tls_credentials(const Connection& conn, std::string* error)
{
    grpc::SslCredentialsOptions ssl;
    if (!conn.tls_ca.empty() && !read_file(conn.tls_ca, &ssl.pem_root_certs, error)) {
        return nullptr;
    }
    if (!conn.tls_cert.empty() && (!read_file(conn.tls_cert, &ssl.pem_cert_chain, error) ||
                                   !read_file(conn.tls_key, &ssl.pem_private_key, error))) {
        return nullptr;
    }
    auto creds = grpc::SslCredentials(ssl);
    if (conn.token_file.empty()) {
        return creds;
    }
    std::string token;
    if (!read_file(conn.token_file, &token, error)) {
        return nullptr;
    }
    token.erase(token.find_last_not_of(" \t\r\n") + 1);
    // Sent as "authorization: Bearer TOKEN" on every call.
    return grpc::CompositeChannelCredentials(creds, grpc::AccessTokenCredentials(token));
}

}  // namespace

std::string Connection::check() const
{
    if (!socket.empty() && !address.empty()) {
        return "--socket and --address exclude each other";
    }
    bool tls = !(tls_ca + tls_cert + tls_key + token_file).empty();
    if (address.empty() && tls) {
        return "--tls-ca, --tls-cert, --tls-key and --token-file need --address";
    }
    if (tls_cert.empty() != tls_key.empty()) {
        return "--tls-cert and --tls-key go together";
    }
    return "";
}

std::string Connection::target() const
{
    return address.empty() ? (socket.empty() ? kDefaultSocket : socket) : address;
}

std::shared_ptr<grpc::Channel> open_channel(const Connection& conn, std::string* error)
{
    if (conn.address.empty()) {
        return grpc::CreateChannel("unix:" + conn.target(), grpc::InsecureChannelCredentials());
    }
    auto creds = tls_credentials(conn, error);
    return creds ? grpc::CreateChannel(conn.address, creds) : nullptr;
}

}  // namespace vmruntime::vmctl
