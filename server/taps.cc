// SPDX-License-Identifier: BSD-2-Clause
#include "server/taps.h"

#include <net/if.h>

#include <cstdio>
#include <fstream>

#include "server/status.h"
#include "vmruntime/runtime/tap.h"

namespace vmruntime::server {

bool parse_mac(const std::string& text, std::array<uint8_t, 6>* mac)
{
    unsigned b[6];
    char end;
    if (text.size() != 17 ||
        std::sscanf(text.c_str(), "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &end) != 6) {
        return false;
    }
    for (size_t i = 0; i < 6; i++) {
        (*mac)[i] = static_cast<uint8_t>(b[i]);
    }
    return true;
}

absl::StatusOr<base::UniqueFd> open_client_tap(const std::string& name, const FileRights& rights)
{
    if (name.empty() || name.size() >= IFNAMSIZ || name.find('/') != std::string::npos || name == "." ||
        name == "..") {
        return bad_request("tap name '" + name + "' is not an interface name");
    }
    switch (rights.kind) {
    case FileRights::Kind::kBeneath:
        return file_denied("tap " + name + ": a TCP client may not attach machines to host interfaces");
    case FileRights::Kind::kUser: {
        if (rights.uid == 0) break;
        // The tap's owner as the kernel keeps it; -1 for a tap anyone with
        // CAP_NET_ADMIN may have, which a user without it may not.
        std::ifstream owner_file("/sys/class/net/" + name + "/owner");
        long owner = -1;
        if (!(owner_file >> owner)) {
            return no_such_file("no tap " + name + " owned by uid " + std::to_string(rights.uid) +
                                " (a local user may attach only to a tap it owns)");
        }
        if (owner != static_cast<long>(rights.uid)) {
            return file_denied("tap " + name + " is not owned by uid " + std::to_string(rights.uid));
        }
        break;
    }
    case FileRights::Kind::kDaemon:
        break;
    }
    std::string error;
    base::UniqueFd fd = runtime::open_tap(name, &error);
    if (!fd) {
        return bad_request(error);
    }
    return fd;
}

}  // namespace vmruntime::server
