// SPDX-License-Identifier: BSD-2-Clause
//
// The optional TCP port of vmruntimed: always TLS (server certificate and
// key), and always authenticated, by client certificates signed by a given
// CA, by a bearer token ("authorization: Bearer <token>" on every RPC), or
// both.  There is no way to build credentials for an open TCP port.
#pragma once

#include <grpcpp/security/server_credentials.h>

#include <memory>
#include <string>

namespace vmruntime::server {

struct TcpOptions {
    std::string listen;  // HOST:PORT; empty: no TCP port
    std::string tls_cert, tls_key;
    std::string client_ca;
    std::string token_file;
};

// Credentials for the TCP port, or nullptr with `*error` saying why
// (missing TLS or authentication options, unreadable files).
std::shared_ptr<grpc::ServerCredentials> tcp_credentials(const TcpOptions& opt, std::string* error);

}  // namespace vmruntime::server
