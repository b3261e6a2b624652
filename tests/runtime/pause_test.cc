// SPDX-License-Identifier: BSD-2-Clause
//
// Pausing and resuming guests/hello a thousand times while its PIT ticks at
// 1 kHz and while it echoes UART input.  guests/hello acknowledges an
// interrupt only in its handler, so an injected interrupt that got lost
// would leave its 8259A in-service bit set for good: that line and every
// lower one would go silent.  Hence the checks: ticks keep coming, every
// injected interrupt reached the guest's handler, and every byte typed is
// echoed, in order.
#include <gtest/gtest.h>

#include <boost/asio/post.hpp>

#include <cstring>
#include <future>
#include <string>
#include <thread>
#include <utility>

#include "guest_images.h"
#include "runtime_test.h"

GUEST_IMAGE(port_hammer);

namespace vmruntime::runtime_test {
namespace {

using runtime::Machine;
using runtime::MachineState;

constexpr int kCycles = 1000;

class PauseTest : public RuntimeTest {
protected:
    void SetUp() override
    {
        RuntimeTest::SetUp();
        if (IsSkipped() || HasFatalFailure()) {
            return;
        }
        code_ = elf_code_range(hello_image()).value_or(AddressRange{});
        ticks_gpa_ = elf_symbol(hello_image(), "ticks").value_or(0);
        ASSERT_NE(code_.end, 0u);
        ASSERT_NE(ticks_gpa_, 0u) << "guests/hello has no symbol 'ticks'";
    }

    // The guest's tick count, read from its RAM.
    uint64_t guest_ticks(Machine& m)
    {
        uint64_t ticks;
        std::memcpy(&ticks, m.ram() + ticks_gpa_, sizeof ticks);
        return ticks;
    }

    // One pause: the state says so, and the registers can be read.
    void pause_and_check(Machine& m)
    {
        ASSERT_EQ(m.pause(), runtime::Outcome::Done) << "the guest ended early? " << describe(m.status());
        ASSERT_EQ(m.status().state, MachineState::Paused);
        nvmm_x64_state state{};
        std::string error;
        ASSERT_EQ(m.get_state(0, NVMM_X64_STATE_GPRS, &state, &error), runtime::Outcome::Done) << error;
        ASSERT_TRUE(code_.contains(state.gprs[NVMM_X64_GPR_RIP]))
            << std::hex << state.gprs[NVMM_X64_GPR_RIP];
        ASSERT_EQ(m.status().state, MachineState::Paused);
    }

    void resume_and_check(Machine& m)
    {
        ASSERT_TRUE(m.resume()) << describe(m.status());
        ASSERT_EQ(m.status().state, MachineState::Running);
    }

    // Paused, the guest's count and the runtime's injections must agree.
    // One interrupt may be injected but not yet taken: the pause can
    // catch the vCPU between its injection and its next entry.
    void expect_every_interrupt_taken(Machine& m)
    {
        ASSERT_EQ(m.pause(), runtime::Outcome::Done);
        uint64_t ticks = guest_ticks(m);
        uint64_t injected = m.exit_counters().interrupts;
        EXPECT_GE(injected, ticks);
        EXPECT_LE(injected, ticks + 1) << "interrupts injected but never taken";
        ASSERT_TRUE(m.resume());
    }

    void expect_ticks_advance(Machine& m)
    {
        uint64_t before = guest_ticks(m);
        EXPECT_TRUE(wait_until([&] { return guest_ticks(m) >= before + 10; }, 5s))
            << "the guest's ticks stopped at " << guest_ticks(m);
    }

    // Types 'q': the guest says bye and powers off with the status of its
    // command line.
    void quit(Machine& m, uint32_t status)
    {
        const uint8_t q = 'q';
        EXPECT_EQ(m.console_input({&q, 1}), 1u);
        ASSERT_TRUE(m.wait(10s)) << describe(m.status());
        EXPECT_EQ(m.status().state, MachineState::Stopped);
        EXPECT_EQ(m.status().exit_status, status) << describe(m.status());
    }

    AddressRange code_;
    uint64_t ticks_gpa_ = 0;
};

// The thousand cycles take about half a second (TSan included); the guest
// needs 3 s of ticks to finish, so it finishes after them.
TEST_F(PauseTest, ThousandPausesWhileTickingLoseNoInterrupt)
{
    auto m = boot(hello_spec("pause-ticks", "ticks=3000 hz=1000 exit=5"));
    ASSERT_TRUE(m);
    ASSERT_TRUE(wait_until([&] { return guest_ticks(*m) >= 10; }, 10s)) << console_text(m->console());

    auto begin = std::chrono::steady_clock::now();
    for (int i = 0; i < kCycles; i++) {
        pause_and_check(*m);
        if (HasFatalFailure()) {
            FAIL() << "at pause " << i;
        }
        resume_and_check(*m);
        if (HasFatalFailure()) {
            FAIL() << "at resume " << i;
        }
        std::this_thread::sleep_for(200us);
    }
    std::chrono::duration<double> took = std::chrono::steady_clock::now() - begin;
    std::printf("%d pause/resume cycles in %.2f s, guest ticks %llu, interrupts %llu\n", kCycles,
                took.count(), static_cast<unsigned long long>(guest_ticks(*m)),
                static_cast<unsigned long long>(m->exit_counters().interrupts));

    expect_ticks_advance(*m);
    expect_every_interrupt_taken(*m);
    ASSERT_TRUE(m->wait(20s)) << describe(m->status());
    EXPECT_EQ(m->status().state, MachineState::Stopped);
    EXPECT_EQ(m->status().exit_status, 5u) << describe(m->status());
    EXPECT_NE(console_text(m->console()).find("done 3000 ticks\r\n"), std::string::npos);
}

TEST_F(PauseTest, ThousandPausesWhileEchoingLoseNoByte)
{
    auto m = boot(hello_spec("pause-echo", "hz=1000 exit=6"));
    ASSERT_TRUE(m);
    ASSERT_TRUE(wait_for_text(m->console(), "vmruntime hello guest", 10s));
    ASSERT_TRUE(wait_until([&] { return m->exit_counters().interrupts > 0; }, 10s));

    // A cycle types 4 bytes at most: the guest's ring never holds more
    // than Typist::kBacklog + 4.
    Typist typist(*m);
    for (int i = 0; i < kCycles; i++) {
        ASSERT_TRUE(typist.wait_for_room(10s))
            << "the echo stalled after " << typist.echo().size() << " of " << typist.typed().size() << " bytes";
        pause_and_check(*m);
        if (HasFatalFailure()) {
            FAIL() << "at pause " << i;
        }
        EXPECT_TRUE(typist.type(1));  // taken while paused, echoed after the resume
        resume_and_check(*m);
        if (HasFatalFailure()) {
            FAIL() << "at resume " << i;
        }
        if (i % 4 == 0) {
            EXPECT_TRUE(typist.type(3));  // taken while running
        }
        std::this_thread::sleep_for(200us);
    }
    EXPECT_TRUE(typist.wait_for_echo(10s));
    EXPECT_EQ(typist.echo(), typist.typed());
    expect_ticks_advance(*m);
    quit(*m, 6);
}

// A vCPU that cannot answer (it waits for a port read that the device
// threads, all busy here, never get to): a state access and a pause give
// up at their deadlines, change nothing, and the machine runs on; once the
// vCPU can answer again, both work.
TEST_F(RuntimeTest, CallsGiveUpAtTheirDeadlineWhenTheVcpuCannotAnswer)
{
    std::unique_ptr<Machine> m;  // ends after the hold: its end needs the devices
    // Holds the device layer's two threads until released, on every path
    // out of the test (the layer joins them).
    struct Hold {
        std::promise<void> promise;
        std::shared_future<void> released = promise.get_future().share();
        bool done = false;
        void release()
        {
            if (!std::exchange(done, true)) {
                promise.set_value();
            }
        }
        ~Hold() { release(); }
    } hold;
    for (int i = 0; i < 2; i++) {
        boost::asio::post(layer_.context(), [released = hold.released] { released.wait(); });
    }
    m = boot(flat_spec("stuck", GUEST_BYTES(port_hammer)));
    ASSERT_TRUE(m);
    // Its first exit is a port read: from then on it waits for the devices.
    ASSERT_TRUE(wait_until([&] { return m->exit_counters().io > 0; }, 10s));
    nvmm_x64_state state;
    std::string error;
    auto soon = [] { return std::chrono::steady_clock::now() + 200ms; };
    EXPECT_EQ(m->get_state(0, NVMM_X64_STATE_GPRS, &state, &error, soon()), runtime::Outcome::Late);
    EXPECT_NE(error.find("did not answer in time"), std::string::npos) << error;
    EXPECT_EQ(m->pause(soon()), runtime::Outcome::Late);
    EXPECT_EQ(m->status().state, MachineState::Running);

    hold.release();
    const auto later = std::chrono::steady_clock::now() + 10s;
    EXPECT_EQ(m->get_state(0, NVMM_X64_STATE_GPRS, &state, &error, later), runtime::Outcome::Done) << error;
    EXPECT_EQ(m->pause(later), runtime::Outcome::Done);
    EXPECT_EQ(m->status().state, MachineState::Paused);
    EXPECT_TRUE(m->resume());
    m->stop("enough");
}

}  // namespace
}  // namespace vmruntime::runtime_test
