// SPDX-License-Identifier: BSD-2-Clause
// Taps a client names: MAC addresses parsed strictly, and who may attach
// to a host interface (no TCP client; a local user other than root only to
// its own tap), each refusal with its status and the tap's name.
#include <gtest/gtest.h>

#include "server/taps.h"

namespace vmruntime::server {
namespace {

TEST(TapsTest, MacAddressesAreParsedStrictly)
{
    std::array<uint8_t, 6> mac{};
    ASSERT_TRUE(parse_mac("02:00:0a:FF:10:7e", &mac));
    EXPECT_EQ(mac, (std::array<uint8_t, 6>{0x02, 0x00, 0x0a, 0xff, 0x10, 0x7e}));
    for (const char* bad : {"", "02:00:00:00:00", "02:00:00:00:00:00:00", "02-00-00-00-00-01", "02:00:00:00:00:0g",
                            "2:0:0:0:0:1xxxxxx", "02:00:00:00:00:01 "}) {
        EXPECT_FALSE(parse_mac(bad, &mac)) << bad;
    }
}

TEST(TapsTest, WhoMayHaveATap)
{
    auto remote = open_client_tap("tap0", FileRights::beneath({"/srv"}));
    EXPECT_EQ(remote.status().code(), absl::StatusCode::kPermissionDenied);
    EXPECT_NE(remote.status().message().find("tap0"), std::string::npos) << remote.status();

    auto missing = open_client_tap("vmrt-nosuch0", FileRights::user(61234, 61234));
    EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound) << missing.status();
    EXPECT_NE(missing.status().message().find("vmrt-nosuch0"), std::string::npos);

    // lo exists but is nobody's tap: its owner file is absent.
    auto not_a_tap = open_client_tap("lo", FileRights::user(61234, 61234));
    EXPECT_EQ(not_a_tap.status().code(), absl::StatusCode::kNotFound) << not_a_tap.status();

    for (const char* bad : {"", "a/b", "..", "a-name-longer-than-15"}) {
        auto refused = open_client_tap(bad, FileRights::daemon());
        EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    }
}

}  // namespace
}  // namespace vmruntime::server
