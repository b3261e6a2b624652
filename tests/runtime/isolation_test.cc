// SPDX-License-Identifier: BSD-2-Clause
//
// One machine's misbehaviour stays its own: a guest that triple-faults
// resets its own machine only, and a guest that hammers unclaimed ports just gets floating
// reads, while guests/hello, in the same process and on the same device
// layer, ticks to its end.
#include <gtest/gtest.h>

#include <string>

#include "guest_images.h"
#include "runtime_test.h"

GUEST_IMAGE(triple_fault);
GUEST_IMAGE(port_hammer);

namespace vmruntime::runtime_test {
namespace {

using runtime::MachineState;

using IsolationTest = RuntimeTest;

TEST_F(IsolationTest, TripleFaultResetsOnlyItsMachine)
{
    auto hello = boot(hello_spec("survivor", "ticks=100 hz=100 exit=9"));
    ASSERT_TRUE(hello);
    auto faulty = boot(flat_spec("triple", GUEST_BYTES(triple_fault)));
    ASSERT_TRUE(faulty);

    ASSERT_TRUE(faulty->wait(10s)) << describe(faulty->status());
    auto reset = faulty->status();
    EXPECT_EQ(reset.state, MachineState::Stopped) << describe(reset);
    EXPECT_TRUE(reset.guest_reset);
    EXPECT_EQ(reset.reason, "guest reset (triple fault)");
    EXPECT_EQ(hello->status().state, MachineState::Running);

    ASSERT_TRUE(hello->wait(20s)) << describe(hello->status());
    EXPECT_EQ(hello->status().state, MachineState::Stopped) << describe(hello->status());
    EXPECT_EQ(hello->status().exit_status, 9u);
    EXPECT_NE(console_text(hello->console()).find("done 100 ticks"), std::string::npos);
}

TEST_F(IsolationTest, UnclaimedPortsFloatAndStopEndsTheHammer)
{
    CapturedLog log;
    auto hammer = boot(flat_spec("hammer", GUEST_BYTES(port_hammer)));
    ASSERT_TRUE(hammer);
    auto hello = boot(hello_spec("neighbour", "ticks=100 hz=100 exit=4"));
    ASSERT_TRUE(hello);

    ASSERT_TRUE(hello->wait(30s)) << describe(hello->status());
    EXPECT_EQ(hello->status().state, MachineState::Stopped) << describe(hello->status());
    EXPECT_EQ(hello->status().exit_status, 4u);
    EXPECT_NE(console_text(hello->console()).find("done 100 ticks"), std::string::npos);

    // Still hammering: a read that did not float would have powered it off
    // with the port as its status.
    EXPECT_EQ(hammer->status().state, MachineState::Running) << describe(hammer->status());
    uint64_t io = hammer->exit_counters().io;
    EXPECT_GT(io, 1000u);
    EXPECT_EQ(log.count("machine 'hammer': unclaimed"), 16u) << "the log names the first ports only";
    EXPECT_EQ(log.count("accesses to further ports are counted, not logged"), 1u);
    hammer->stop("enough");
    auto end = hammer->status();
    EXPECT_EQ(end.state, MachineState::Stopped);
    EXPECT_EQ(end.reason, "enough");
    hammer.reset();
    EXPECT_EQ(log.count("machine 'hammer': unclaimed accesses to "), 1u) << "the rest, summed up";
    std::printf("the hammer made %llu port exits next to hello\n", static_cast<unsigned long long>(io));
}

}  // namespace
}  // namespace vmruntime::runtime_test
