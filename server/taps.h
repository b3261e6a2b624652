// SPDX-License-Identifier: BSD-2-Clause
//
// Host tap devices a client names for its machines' network cards, and
// who may have them: a tap joins a machine to the host's networks, so a
// TCP client may attach to none and a local user other than root only to
// the taps it owns.
#pragma once

#include <absl/status/statusor.h>

#include <array>
#include <cstdint>
#include <string>

#include "server/client_file.h"
#include "vmruntime/base/unique_fd.h"

namespace vmruntime::server {

// "02:00:00:00:00:01" (case-insensitive); false for anything else.
bool parse_mac(const std::string& text, std::array<uint8_t, 6>* mac);

// Tap `name` for a machine whose files are opened with `rights`.
// PERMISSION_DENIED for a client that may not have it, NOT_FOUND for a
// local user's tap that does not exist, INVALID_ARGUMENT when the host
// refuses it; every message names the tap.
absl::StatusOr<base::UniqueFd> open_client_tap(const std::string& name, const FileRights& rights);

}  // namespace vmruntime::server
