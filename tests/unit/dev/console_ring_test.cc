// SPDX-License-Identifier: BSD-2-Clause
//
// ConsoleRing: absolute offsets, overwrite of the oldest bytes, and readers
// on other threads following a writer without polling.
#include "vmruntime/dev/console_ring.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "tests/unit/dev/fakes.h"
#include "vmruntime/dev/uart16550.h"

namespace vmruntime::dev {
namespace {

using namespace std::chrono_literals;

std::span<const uint8_t> bytes_of(const std::string& s)
{
    return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::string str(const ConsoleRing::Chunk& c)
{
    return std::string(c.bytes.begin(), c.bytes.end());
}

TEST(ConsoleRing, ReadsByAbsoluteOffset)
{
    ConsoleRing ring(16);
    EXPECT_EQ(ring.end_offset(), 0u);
    ring.append(bytes_of("hello "));
    ring.append(bytes_of("world"));
    EXPECT_EQ(ring.begin_offset(), 0u);
    EXPECT_EQ(ring.end_offset(), 11u);

    auto all = ring.read(0, 100);
    EXPECT_EQ(all.offset, 0u);
    EXPECT_EQ(str(all), "hello world");
    auto mid = ring.read(6, 3);
    EXPECT_EQ(mid.offset, 6u);
    EXPECT_EQ(str(mid), "wor");
}

TEST(ConsoleRing, OverwrittenBytesShowAsALaterOffset)
{
    ConsoleRing ring(8);
    ring.append(bytes_of("abcdefghijkl"));  // 12 bytes into 8
    EXPECT_EQ(ring.begin_offset(), 4u);
    EXPECT_EQ(ring.end_offset(), 12u);
    auto c = ring.read(0, 100);
    EXPECT_EQ(c.offset, 4u);  // 0..3 were lost
    EXPECT_EQ(str(c), "efghijkl");
    EXPECT_EQ(str(ring.read(10, 100)), "kl");
}

TEST(ConsoleRing, WrapsAcrossManyAppends)
{
    ConsoleRing ring(5);
    std::string all;
    for (int i = 0; i < 20; ++i) {
        const std::string piece(static_cast<size_t>(i % 3 + 1), static_cast<char>('a' + i));
        ring.append(bytes_of(piece));
        all += piece;
        auto c = ring.read(0, 100);
        ASSERT_EQ(c.offset, all.size() > 5 ? all.size() - 5 : 0);
        ASSERT_EQ(str(c), all.substr(c.offset)) << i;
    }
}

TEST(ConsoleRing, AppendLargerThanCapacityKeepsTheTail)
{
    ConsoleRing ring(4);
    ring.append(bytes_of("xy"));
    ring.append(bytes_of("0123456789"));
    EXPECT_EQ(ring.end_offset(), 12u);
    auto c = ring.read(0, 100);
    EXPECT_EQ(c.offset, 8u);
    EXPECT_EQ(str(c), "6789");
}

TEST(ConsoleRing, ReadAtOrPastTheEndIsEmpty)
{
    ConsoleRing ring(8);
    ring.append(bytes_of("abc"));
    auto at_end = ring.read(3, 10);
    EXPECT_EQ(at_end.offset, 3u);
    EXPECT_TRUE(at_end.bytes.empty());
    auto past = ring.read(50, 10);
    EXPECT_EQ(past.offset, 3u);
    EXPECT_TRUE(past.bytes.empty());
}

TEST(ConsoleRing, ZeroCapacityIsOne)
{
    ConsoleRing ring(0);
    EXPECT_EQ(ring.capacity(), 1u);
    ring.append(bytes_of("ab"));
    EXPECT_EQ(str(ring.read(0, 10)), "b");
}

TEST(ConsoleRing, WaitReturnsAtOnceWhenDataIsThere)
{
    ConsoleRing ring(8);
    ring.append(bytes_of("a"));
    EXPECT_TRUE(ring.wait_for(0, 10s));
}

TEST(ConsoleRing, WaitTimesOutWithoutData)
{
    ConsoleRing ring(8);
    ring.append(bytes_of("a"));
    const auto start = std::chrono::steady_clock::now();
    EXPECT_FALSE(ring.wait_for(1, 20ms));
    EXPECT_GE(std::chrono::steady_clock::now() - start, 20ms);
}

TEST(ConsoleRing, AppendWakesAWaiter)
{
    ConsoleRing ring(8);
    std::atomic<bool> woke{false};
    std::thread reader([&] { woke = ring.wait_for(0, std::chrono::nanoseconds::max()); });
    std::this_thread::sleep_for(10ms);
    ring.append(bytes_of("x"));
    reader.join();
    EXPECT_TRUE(woke);
}

TEST(ConsoleRing, CloseWakesWaitersForGood)
{
    ConsoleRing ring(8);
    std::atomic<bool> result{true};
    std::thread reader([&] { result = ring.wait_for(0, std::chrono::nanoseconds::max()); });
    std::this_thread::sleep_for(10ms);
    ring.close();
    reader.join();
    EXPECT_FALSE(result);
    EXPECT_TRUE(ring.closed());
    EXPECT_FALSE(ring.wait_for(0, 10s));  // returns at once
    ring.append(bytes_of("bye"));
    EXPECT_EQ(str(ring.read(0, 100)), "bye");
}

// One writer, two readers: a fast one and one that sleeps between reads so
// the writer laps it.  Every byte a reader gets must be the byte written at
// that offset, offsets must never go back, and both must reach the end.
TEST(ConsoleRing, TwoReadersFollowAWriterAcrossOverwrites)
{
    constexpr size_t kCapacity = 64;
    constexpr uint64_t kTotal = 200'000;
    ConsoleRing ring(kCapacity);
    auto expected = [](uint64_t offset) { return static_cast<uint8_t>(offset * 7 % 251); };

    struct Result {
        uint64_t received = 0;
        uint64_t lost = 0;
        bool ok = true;
    };
    auto follow = [&](Result& r, bool slow) {
        uint64_t pos = 0;
        while (pos < kTotal) {
            if (!ring.wait_for(pos, 5s)) {
                r.ok = false;
                return;
            }
            auto c = ring.read(pos, 16);
            if (c.offset < pos) {
                r.ok = false;
                return;
            }
            r.lost += c.offset - pos;
            for (size_t i = 0; i < c.bytes.size(); ++i) {
                if (c.bytes[i] != expected(c.offset + i)) {
                    r.ok = false;
                    return;
                }
            }
            r.received += c.bytes.size();
            pos = c.offset + c.bytes.size();
            if (slow) {
                std::this_thread::sleep_for(50us);
            }
        }
    };

    Result fast, slow;
    std::thread t1(follow, std::ref(fast), false);
    std::thread t2(follow, std::ref(slow), true);
    std::vector<uint8_t> chunk;
    for (uint64_t off = 0; off < kTotal;) {
        chunk.clear();
        const uint64_t n = std::min<uint64_t>(1 + off % 37, kTotal - off);
        for (uint64_t i = 0; i < n; ++i) {
            chunk.push_back(expected(off + i));
        }
        ring.append(chunk);
        off += n;
    }
    t1.join();
    t2.join();

    EXPECT_TRUE(fast.ok);
    EXPECT_TRUE(slow.ok);
    EXPECT_EQ(fast.received + fast.lost, kTotal);
    EXPECT_EQ(slow.received + slow.lost, kTotal);
    EXPECT_GT(slow.lost, 0u);  // the writer did lap it
    EXPECT_EQ(ring.end_offset(), kTotal);
}

TEST(ConsoleRing, IsTheUartsSink)
{
    ConsoleRing ring(1024);
    testing::FakeIrqLine irq;
    Uart16550 uart(irq, ring);
    for (char ch : std::string("Linux version 6.1\n")) {
        uart.write(UART_TX, 1, static_cast<uint8_t>(ch));
    }
    EXPECT_EQ(str(ring.read(0, 1024)), "Linux version 6.1\n");
}

}  // namespace
}  // namespace vmruntime::dev
