// SPDX-License-Identifier: BSD-2-Clause
// The split virtqueue against a driver written from the spec (virtio 1.x,
// 2.7): chains of readable and writable buffers, indirect tables, the used
// ring and both interrupt-suppression schemes; and a driver that lies, whose
// queue breaks instead of being followed.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "fakes.h"
#include "virtqueue_driver.h"
#include "vmruntime/dev/virtqueue.h"

namespace vmruntime::dev {
namespace {

using testing::VectorRam;
using testing::VirtqueueDriver;

constexpr uint64_t kRamSize = 1 << 20;
constexpr uint16_t kQueueSize = 8;
constexpr uint64_t kDesc = 0x1000, kAvail = 0x2000, kUsed = 0x3000, kBuffers = 0x10000;
constexpr uint16_t kNext = VirtqueueDriver::kNext, kWrite = VirtqueueDriver::kWrite,
                   kIndirect = VirtqueueDriver::kIndirect;

class VirtqueueTest : public ::testing::Test {
protected:
    void SetUp() override { ASSERT_TRUE(queue_.set_layout({kQueueSize, kDesc, kAvail, kUsed})); }

    VectorRam ram_;
    VirtqueueDriver driver_{ram_, {kQueueSize, kDesc, kAvail, kUsed}};
    Virtqueue queue_{ram_, true, false};
};

TEST_F(VirtqueueTest, NothingAvailableIsNothing)
{
    EXPECT_FALSE(queue_.pop());
    EXPECT_FALSE(queue_.broken());
}

TEST_F(VirtqueueTest, ChainOfReadableThenWritableBuffers)
{
    std::memcpy(ram_.bytes.data() + kBuffers, "request", 7);
    driver_.desc(3, kBuffers, 7, kNext, 5);
    driver_.desc(5, kBuffers + 0x100, 64, kWrite | kNext, 6);
    driver_.desc(6, kBuffers + 0x200, 1, kWrite);
    driver_.offer(3);
    auto chain = queue_.pop();
    ASSERT_TRUE(chain);
    EXPECT_EQ(chain->head, 3);
    ASSERT_EQ(chain->segments.size(), 3u);
    EXPECT_EQ(std::string(chain->segments[0].bytes.begin(), chain->segments[0].bytes.end()), "request");
    EXPECT_FALSE(chain->segments[0].device_writable);
    EXPECT_TRUE(chain->segments[1].device_writable);
    EXPECT_EQ(chain->segments[1].bytes.data(), ram_.bytes.data() + kBuffers + 0x100) << "in place";
    EXPECT_EQ(chain->segments[2].bytes.size(), 1u);
    EXPECT_FALSE(queue_.pop());

    EXPECT_TRUE(queue_.push(3, 65)) << "no suppression asked";
    EXPECT_EQ(driver_.used_idx(), 1);
    EXPECT_EQ(driver_.used_id(0), 3u);
    EXPECT_EQ(driver_.used_len(0), 65u);
}

TEST_F(VirtqueueTest, ChainsComeInTheDriversOrderAcrossTheRingsEnd)
{
    for (uint16_t i = 0; i < kQueueSize; i++) {
        driver_.desc(i, kBuffers + 16 * i, 16, 0);
    }
    for (int round = 0; round < 3; round++) {
        for (uint16_t i = 0; i < kQueueSize; i++) {
            driver_.offer(static_cast<uint16_t>((i * 3) % kQueueSize));
        }
        for (uint16_t i = 0; i < kQueueSize; i++) {
            auto chain = queue_.pop();
            ASSERT_TRUE(chain);
            EXPECT_EQ(chain->head, (i * 3) % kQueueSize);
            queue_.push(chain->head, 0);
        }
        EXPECT_FALSE(queue_.pop());
    }
    EXPECT_EQ(driver_.used_idx(), 3 * kQueueSize);
}

TEST_F(VirtqueueTest, EmptyBuffersAreLeftOut)
{
    driver_.desc(0, 0, 0, kNext, 1);
    driver_.desc(1, kBuffers, 4, kWrite | kNext, 2);
    driver_.desc(2, ~0ULL, 0, kWrite);
    driver_.offer(0);
    auto chain = queue_.pop();
    ASSERT_TRUE(chain);
    ASSERT_EQ(chain->segments.size(), 1u);
    EXPECT_EQ(chain->segments[0].bytes.size(), 4u);
}

TEST_F(VirtqueueTest, IndirectTable)
{
    constexpr uint64_t kTable = 0x4000;
    driver_.desc(0, kBuffers, 4, kNext, 1, kTable);
    driver_.desc(1, kBuffers + 0x100, 8, kWrite, 0, kTable);
    driver_.desc(2, kTable, 2 * 16, kIndirect);
    driver_.offer(2);
    auto chain = queue_.pop();
    ASSERT_TRUE(chain);
    EXPECT_EQ(chain->head, 2);
    ASSERT_EQ(chain->segments.size(), 2u);
    EXPECT_FALSE(chain->segments[0].device_writable);
    EXPECT_TRUE(chain->segments[1].device_writable);
}

TEST_F(VirtqueueTest, NoInterruptFlagIsHonoured)
{
    driver_.desc(0, kBuffers, 4, 0);
    driver_.no_interrupt(true);
    driver_.offer(0);
    ASSERT_TRUE(queue_.pop());
    EXPECT_FALSE(queue_.push(0, 0));
    driver_.no_interrupt(false);
    driver_.offer(0);
    ASSERT_TRUE(queue_.pop());
    EXPECT_TRUE(queue_.push(0, 0));
}

TEST(VirtqueueEventIdx, InterruptOnlyWhenTheUsedIndexPassesTheDriversEvent)
{
    VectorRam ram;
    VirtqueueDriver driver(ram, {kQueueSize, kDesc, kAvail, kUsed});
    Virtqueue queue(ram, false, true);
    ASSERT_TRUE(queue.set_layout({kQueueSize, kDesc, kAvail, kUsed}));
    driver.desc(0, kBuffers, 4, 0);
    driver.used_event(1);  // wake me when entry 1 is used
    for (int i = 0; i < 3; i++) driver.offer(0);
    ASSERT_TRUE(queue.pop());
    EXPECT_EQ(driver.avail_event(), 1) << "the device asks to be notified past what it took";
    EXPECT_FALSE(queue.push(0, 0)) << "used index 1 does not pass event 1";
    ASSERT_TRUE(queue.pop());
    EXPECT_TRUE(queue.push(0, 0)) << "used index 2 passes event 1";
    ASSERT_TRUE(queue.pop());
    EXPECT_FALSE(queue.push(0, 0));
}

TEST(VirtqueueLayout, RefusesWhatTheSpecForbids)
{
    VectorRam ram;
    Virtqueue queue(ram, false, false);
    EXPECT_FALSE(queue.set_layout({0, kDesc, kAvail, kUsed}));
    EXPECT_FALSE(queue.set_layout({6, kDesc, kAvail, kUsed})) << "not a power of two";
    EXPECT_FALSE(queue.set_layout({8, kDesc + 8, kAvail, kUsed})) << "descriptor table misaligned";
    EXPECT_FALSE(queue.set_layout({8, kDesc, kAvail + 1, kUsed})) << "available ring misaligned";
    EXPECT_FALSE(queue.set_layout({8, kDesc, kAvail, kUsed + 2})) << "used ring misaligned";
    EXPECT_FALSE(queue.set_layout({8, kRamSize - 64, kAvail, kUsed})) << "table past RAM";
    EXPECT_FALSE(queue.set_layout({8, kDesc, kAvail, kRamSize - 16})) << "used ring past RAM";
    EXPECT_FALSE(queue.set_layout({8, kDesc, ~0ULL - 1, kUsed})) << "wrapping address";
    EXPECT_FALSE(queue.pop());
    EXPECT_FALSE(queue.push(0, 0));
    EXPECT_TRUE(queue.set_layout({Virtqueue::kMaxSize, 0, 0xE0000, 0x80000})) << "the largest queue";
}

// Each lie breaks the queue: nothing of the chain is handed out.
struct Lie {
    const char* what;
    void (*tell)(VirtqueueDriver&);
};

const Lie kLies[] = {
    {"a head past the queue", [](VirtqueueDriver& d) { d.offer(kQueueSize); }},
    {"an available index a whole queue ahead", [](VirtqueueDriver& d) { d.set_avail_idx(kQueueSize + 1); }},
    {"a buffer outside RAM",
     [](VirtqueueDriver& d) {
         d.desc(0, kRamSize - 4, 8, 0);
         d.offer(0);
     }},
    {"a loop",
     [](VirtqueueDriver& d) {
         d.desc(0, kBuffers, 4, kNext, 1);
         d.desc(1, kBuffers, 4, kNext, 0);
         d.offer(0);
     }},
    {"a next past the table",
     [](VirtqueueDriver& d) {
         d.desc(0, kBuffers, 4, kNext, kQueueSize);
         d.offer(0);
     }},
    {"a readable buffer after a writable one",
     [](VirtqueueDriver& d) {
         d.desc(0, kBuffers, 4, kWrite | kNext, 1);
         d.desc(1, kBuffers, 4, 0);
         d.offer(0);
     }},
    {"an indirect table inside another",
     [](VirtqueueDriver& d) {
         d.desc(0, 0x4000, 16, kIndirect, 0, 0x4000);
         d.desc(0, 0x4000, 16, kIndirect);
         d.offer(0);
     }},
    {"an indirect descriptor with NEXT",
     [](VirtqueueDriver& d) {
         d.desc(0, 0x4000, 16, kIndirect | kNext, 1);
         d.offer(0);
     }},
    {"an indirect table of a partial descriptor",
     [](VirtqueueDriver& d) {
         d.desc(0, 0x4000, 17, kIndirect);
         d.offer(0);
     }},
    {"an indirect table outside RAM",
     [](VirtqueueDriver& d) {
         d.desc(0, kRamSize - 16, 32, kIndirect);
         d.offer(0);
     }},
};

TEST(VirtqueueLies, EachBreaksTheQueue)
{
    for (const Lie& lie : kLies) {
        SCOPED_TRACE(lie.what);
        VectorRam ram;
        VirtqueueDriver driver(ram, {kQueueSize, kDesc, kAvail, kUsed});
        Virtqueue queue(ram, true, false);
        ASSERT_TRUE(queue.set_layout({kQueueSize, kDesc, kAvail, kUsed}));
        lie.tell(driver);
        EXPECT_FALSE(queue.pop());
        EXPECT_TRUE(queue.broken());
        EXPECT_FALSE(queue.pop()) << "and stays broken";
    }
}

TEST(VirtqueueLies, IndirectWithoutTheFeatureBreaksTheQueue)
{
    VectorRam ram;
    VirtqueueDriver driver(ram, {kQueueSize, kDesc, kAvail, kUsed});
    Virtqueue queue(ram, false, false);
    ASSERT_TRUE(queue.set_layout({kQueueSize, kDesc, kAvail, kUsed}));
    driver.desc(0, 0x4000, 16, kIndirect);
    driver.offer(0);
    EXPECT_FALSE(queue.pop());
    EXPECT_TRUE(queue.broken());
}

}  // namespace
}  // namespace vmruntime::dev
