// SPDX-License-Identifier: BSD-2-Clause
#pragma once

#include <cstring>
#include <string>
#include <string_view>

namespace vmruntime::base {

// "what: No such file or directory", for errors that go to people.
inline std::string errno_text(std::string_view what, int err)
{
    return std::string(what) + ": " + std::strerror(err);
}

}  // namespace vmruntime::base
