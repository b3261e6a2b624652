// SPDX-License-Identifier: BSD-2-Clause
#include "vmruntime/runtime/tap.h"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>

#include <cerrno>
#include <cstring>

namespace vmruntime::runtime {

base::UniqueFd open_tap(const std::string& name, std::string* error)
{
    if (name.empty() || name.size() >= IFNAMSIZ) {
        *error = "tap name '" + name + "' must have 1 to " + std::to_string(IFNAMSIZ - 1) + " bytes";
        return {};
    }
    base::UniqueFd fd(::open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK));
    if (!fd) {
        *error = std::string("cannot open /dev/net/tun: ") + std::strerror(errno);
        return {};
    }
    ifreq ifr{};
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    std::memcpy(ifr.ifr_name, name.data(), name.size());
    if (::ioctl(fd.get(), TUNSETIFF, &ifr) == -1) {
        *error = "cannot attach to tap " + name + ": " + std::strerror(errno);
        return {};
    }
    return fd;
}

}  // namespace vmruntime::runtime
