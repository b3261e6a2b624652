// SPDX-License-Identifier: BSD-2-Clause
//
// ConsoleRing: absolute offsets, overwrite of the oldest bytes, readers on
// other threads following a writer without polling, and one-shot
// notifications for readers that must not block.
#include "vmruntime/dev/console_ring.h"

#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <functional>
#include <future>
#include <memory>
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

TEST(ConsoleRingNotify, CalledAtOnceWhenTheRingAlreadyEndsPastTheOffset)
{
    ConsoleRing ring(8);
    ring.append(bytes_of("ab"));
    int calls = 0;
    EXPECT_EQ(ring.notify_when(1, [&] { ++calls; }), 0u);
    EXPECT_EQ(calls, 1);
}

TEST(ConsoleRingNotify, CalledOnceByTheAppendThatPassesTheOffset)
{
    ConsoleRing ring(8);
    ring.append(bytes_of("a"));
    int calls = 0;
    EXPECT_NE(ring.notify_when(3, [&] { ++calls; }), 0u);
    ring.append(bytes_of("bc"));  // ends at 3: nothing at offset 3 yet
    EXPECT_EQ(calls, 0);
    ring.append(bytes_of("d"));
    EXPECT_EQ(calls, 1);
    ring.append(bytes_of("e"));
    ring.close();
    EXPECT_EQ(calls, 1);
}

TEST(ConsoleRingNotify, EmptyAppendDoesNotNotify)
{
    ConsoleRing ring(8);
    int calls = 0;
    ring.notify_when(0, [&] { ++calls; });
    ring.append({});
    EXPECT_EQ(calls, 0);
}

TEST(ConsoleRingNotify, OverwrittenOffsetStillCounts)
{
    ConsoleRing ring(4);
    int calls = 0;
    ring.notify_when(2, [&] { ++calls; });
    ring.append(bytes_of("0123456789"));  // offset 2 is gone at once
    EXPECT_EQ(calls, 1);
}

TEST(ConsoleRingNotify, CloseCallsEveryPendingNotification)
{
    ConsoleRing ring(8);
    int first = 0, second = 0;
    ring.notify_when(0, [&] { ++first; });
    ring.notify_when(100, [&] { ++second; });
    ring.close();
    EXPECT_EQ(first, 1);
    EXPECT_EQ(second, 1);
    int late = 0;
    EXPECT_EQ(ring.notify_when(100, [&] { ++late; }), 0u);  // closed: at once
    EXPECT_EQ(late, 1);
}

TEST(ConsoleRingNotify, EachReaderIsCalledWhenItsOwnOffsetIsPassed)
{
    ConsoleRing ring(64);
    std::vector<int> calls(3, 0);
    ring.notify_when(0, [&] { ++calls[0]; });
    ring.notify_when(4, [&] { ++calls[1]; });
    ring.notify_when(9, [&] { ++calls[2]; });
    ring.append(bytes_of("abcde"));
    EXPECT_EQ(calls, (std::vector<int>{1, 1, 0}));
    ring.append(bytes_of("fghij"));
    EXPECT_EQ(calls, (std::vector<int>{1, 1, 1}));
}

TEST(ConsoleRingNotify, CancelledNotificationIsNotCalled)
{
    ConsoleRing ring(8);
    int kept = 0, cancelled = 0;
    ring.notify_when(0, [&] { ++kept; });
    const uint64_t id = ring.notify_when(0, [&] { ++cancelled; });
    ring.cancel_notify(id);
    ring.cancel_notify(id);  // twice: ignored
    ring.cancel_notify(0);   // the "called at once" id: ignored
    ring.append(bytes_of("x"));
    EXPECT_EQ(kept, 1);
    EXPECT_EQ(cancelled, 0);
}

TEST(ConsoleRingNotify, IdsAreDistinct)
{
    ConsoleRing ring(8);
    const uint64_t a = ring.notify_when(0, [] {});
    const uint64_t b = ring.notify_when(0, [] {});
    EXPECT_NE(a, 0u);
    EXPECT_NE(b, 0u);
    EXPECT_NE(a, b);
}

// The stream re-reads the ring from its notification (on another thread);
// that must not wait for the appender's lock.
TEST(ConsoleRingNotify, CalledWithTheRingUnlocked)
{
    ConsoleRing ring(8);
    std::atomic<bool> unlocked{false};
    ring.notify_when(0, [&] {
        auto other = std::async(std::launch::async, [&] { return ring.end_offset(); });
        unlocked = other.wait_for(5s) == std::future_status::ready;
    });
    ring.append(bytes_of("x"));
    EXPECT_TRUE(unlocked);
}

TEST(ConsoleRingNotify, MayAskForTheNextOneFromInside)
{
    ConsoleRing ring(8);
    std::vector<uint64_t> seen;
    std::function<void()> follow = [&] {
        seen.push_back(ring.end_offset());
        ring.notify_when(ring.end_offset(), follow);
    };
    ring.notify_when(0, follow);
    ring.append(bytes_of("a"));
    ring.append(bytes_of("bc"));
    ring.append(bytes_of("d"));
    EXPECT_EQ(seen, (std::vector<uint64_t>{1, 3, 4}));
}

// A reader that only ever waits through notifications follows a writer on
// another thread.  The writer appends each chunk the moment the reader
// starts reading, so the append races the reader's read and registration:
// a wake-up lost between the two shows up as a 10 s stall.  Every 64th
// chunk waits until the reader is registered, so notifications do come
// from the writer's thread.
TEST(ConsoleRingNotify, ReaderFollowsAWriterOnAnotherThread)
{
    constexpr uint64_t kChunks = 5000;
    constexpr uint64_t kUnsure = ~uint64_t{0};
    auto chunk_size = [](uint64_t i) { return 1 + i % 7; };
    auto expected = [](uint64_t offset) { return static_cast<uint8_t>(offset * 13 % 253); };
    uint64_t total = 0;
    for (uint64_t i = 0; i < kChunks; ++i) {
        total += chunk_size(i);
    }
    ConsoleRing ring(total);  // nothing is overwritten

    std::string error;
    uint64_t notifications = 0;
    std::atomic<uint64_t> reading_at{kUnsure}, waiting_at{kUnsure};
    std::atomic<bool> reader_gone{false};
    std::thread reader([&] {
        uint64_t pos = 0;
        while (pos < total && error.empty()) {
            reading_at = pos;
            auto c = ring.read(pos, 64);
            if (c.offset != pos) {
                error = "read at " + std::to_string(pos) + " returned offset " + std::to_string(c.offset);
                break;
            }
            for (size_t i = 0; i < c.bytes.size() && error.empty(); ++i) {
                if (c.bytes[i] != expected(pos + i)) {
                    error = "wrong byte at " + std::to_string(pos + i);
                }
            }
            pos += c.bytes.size();
            if (!c.bytes.empty()) {
                continue;
            }
            auto told = std::make_shared<std::promise<void>>();
            auto future = told->get_future();
            ring.notify_when(pos, [told] { told->set_value(); });
            waiting_at = pos;
            if (future.wait_for(10s) != std::future_status::ready) {
                error = "no notification past " + std::to_string(pos);
                break;
            }
            ++notifications;
        }
        reader_gone = true;
    });
    std::vector<uint8_t> chunk;
    uint64_t off = 0;
    for (uint64_t i = 0; i < kChunks; ++i) {
        const auto& gate = i % 64 == 0 ? waiting_at : reading_at;
        while (gate != off && !reader_gone) {
            std::this_thread::yield();
        }
        chunk.clear();
        for (uint64_t k = 0; k < chunk_size(i); ++k) {
            chunk.push_back(expected(off + k));
        }
        ring.append(chunk);
        off += chunk.size();
    }
    reader.join();
    EXPECT_EQ(error, "");
    EXPECT_GE(notifications, kChunks / 64);
}

// Registering and cancelling on one thread while another appends: a
// notification never cancelled is called exactly once, a cancelled one at
// most once (it may already have been on its way).
TEST(ConsoleRingNotify, CancelRacingAppendsCallsEachAtMostOnce)
{
    constexpr int kRounds = 2000;
    ConsoleRing ring(64);
    std::vector<std::atomic<int>> calls(kRounds);
    std::vector<bool> cancelled(kRounds, false);
    std::atomic<bool> done{false};
    std::thread writer([&] {
        while (!done) {
            ring.append(bytes_of("z"));
        }
    });
    for (int i = 0; i < kRounds; ++i) {
        const uint64_t id = ring.notify_when(ring.end_offset() + 1, [&calls, i] { ++calls[i]; });
        if (i % 2 == 0) {
            ring.cancel_notify(id);
            cancelled[i] = true;
        }
    }
    done = true;
    writer.join();
    ring.close();  // calls whatever the writer did not reach
    for (int i = 0; i < kRounds; ++i) {
        if (cancelled[i]) {
            EXPECT_LE(calls[i].load(), 1) << i;
        } else {
            EXPECT_EQ(calls[i].load(), 1) << i;
        }
    }
}

uint64_t resident_kib()
{
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("VmRSS:", 0) == 0) {
            return std::stoull(line.substr(6));
        }
    }
    return 0;
}

// Thousands of machines hold a ring each, most of them printing little: a
// ring costs the bytes it was given, not its capacity.  (It held its whole
// megabyte from the start, 1.2 MiB of daemon memory per idle machine.)
TEST(ConsoleRing, CostsWhatWasWrittenNotItsCapacity)
{
    constexpr size_t kRings = 64;
    const uint64_t before = resident_kib();
    std::vector<std::unique_ptr<ConsoleRing>> rings;
    for (size_t i = 0; i < kRings; i++) {
        rings.push_back(std::make_unique<ConsoleRing>());
        rings.back()->append(bytes_of("vmruntime hello guest\r\n"));
    }
    const uint64_t grown = resident_kib() - before;
    EXPECT_LT(grown, kRings * (ConsoleRing::kDefaultCapacity >> 10) / 4) << "KiB for " << kRings << " rings";

    // Filled, one wraps as before.
    ConsoleRing& ring = *rings.front();
    const std::string line(1000, 'x');
    for (size_t i = 0; i < 2 * ConsoleRing::kDefaultCapacity / line.size(); i++) {
        ring.append(bytes_of(line));
    }
    EXPECT_EQ(ring.end_offset() - ring.begin_offset(), ConsoleRing::kDefaultCapacity);
    EXPECT_EQ(str(ring.read(ring.end_offset() - 4, 4)), "xxxx");
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
