// SPDX-License-Identifier: BSD-2-Clause
// virtio-blk on a file, driven through its queue as Linux's virtio_blk
// driver fills it: a header, the data buffers and a status byte per
// request.  Reads land in the guest's buffers and writes come from them;
// flush, GET_ID and discard; a read-only disk refuses writes; requests past
// the disk's end or malformed ones get IOERR, unknown ones UNSUPP.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "fakes.h"
#include "virtqueue_driver.h"
#include "vmruntime/base/unique_fd.h"
#include "vmruntime/dev/virtio_blk.h"

namespace vmruntime::dev {
namespace {

using testing::VectorRam;
using testing::VirtqueueDriver;

constexpr uint16_t kNext = VirtqueueDriver::kNext, kWrite = VirtqueueDriver::kWrite;
constexpr uint64_t kDiskBytes = 1 << 20;
constexpr uint64_t kHeader = 0x10000, kData = 0x20000, kStatus = 0x30000;
constexpr uint8_t kOk = 0, kIoErr = 1, kUnsupported = 2;
constexpr Virtqueue::Layout kLayout{16, 0x1000, 0x2000, 0x3000};

class VirtioBlkTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        ASSERT_TRUE(disk_);
        ASSERT_EQ(ftruncate(disk_.get(), kDiskBytes), 0);
        std::vector<uint8_t> pattern(kDiskBytes);
        for (size_t i = 0; i < pattern.size(); i++) pattern[i] = static_cast<uint8_t>(i / 512 + i);
        ASSERT_EQ(pwrite(disk_.get(), pattern.data(), pattern.size(), 0), static_cast<ssize_t>(kDiskBytes));
        ASSERT_TRUE(queue_.set_layout(kLayout));
        attach(false);
    }

    void attach(bool read_only)
    {
        blk_ = std::make_unique<VirtioBlk>(disk_.get(), kDiskBytes, read_only, "vmruntime-disk-0");
        Virtqueue* queues[] = {&queue_};
        blk_->activate(queues, 0, link_);
    }

    void header(uint32_t type, uint64_t sector)
    {
        ram_.put<uint32_t>(kHeader, type);
        ram_.put<uint32_t>(kHeader + 4, 0);
        ram_.put<uint64_t>(kHeader + 8, sector);
    }

    // header, one data buffer of `len` bytes (device-writable if `in`),
    // status; returns the status byte, the used length in `*used_len`.
    uint8_t request(uint32_t type, uint64_t sector, uint32_t len, bool in, uint32_t* used_len = nullptr)
    {
        header(type, sector);
        ram_.put<uint8_t>(kStatus, 0xEE);
        const uint16_t head = next_head();
        uint16_t at = head;
        driver_.desc(at, kHeader, 16, kNext, at + 1);
        at++;
        if (len) {
            driver_.desc(at, kData, len, kNext | (in ? kWrite : 0), at + 1);
            at++;
        }
        driver_.desc(at, kStatus, 1, kWrite);
        driver_.offer(head);
        blk_->notify(0);
        const uint16_t last = static_cast<uint16_t>(driver_.used_idx() - 1);
        EXPECT_EQ(driver_.used_id(last % kLayout.size), head);
        if (used_len) *used_len = driver_.used_len(last % kLayout.size);
        return ram_.get<uint8_t>(kStatus);
    }

    uint16_t next_head()
    {
        uint16_t h = head_;
        head_ = static_cast<uint16_t>((head_ + 4) % kLayout.size);
        return h;
    }

    std::vector<uint8_t> file(uint64_t offset, size_t len)
    {
        std::vector<uint8_t> bytes(len);
        EXPECT_EQ(pread(disk_.get(), bytes.data(), len, static_cast<off_t>(offset)), static_cast<ssize_t>(len));
        return bytes;
    }
    std::vector<uint8_t> guest(uint64_t gpa, size_t len)
    {
        return {ram_.bytes.begin() + static_cast<ptrdiff_t>(gpa), ram_.bytes.begin() + static_cast<ptrdiff_t>(gpa + len)};
    }

    base::UniqueFd disk_{memfd_create("virtio-blk-test", MFD_CLOEXEC)};
    VectorRam ram_;
    VirtqueueDriver driver_{ram_, kLayout};
    Virtqueue queue_{ram_, true, false};
    testing::CountingLink link_;
    std::unique_ptr<VirtioBlk> blk_;
    uint16_t head_ = 0;
};

TEST_F(VirtioBlkTest, ConfigurationAndFeatures)
{
    uint64_t capacity;
    std::memcpy(&capacity, blk_->config().data(), 8);
    EXPECT_EQ(capacity, kDiskBytes / 512);
    EXPECT_EQ(blk_->device_id(), 2u);
    EXPECT_EQ(blk_->device_features(),
              VirtioBlk::kFeatureSegMax | VirtioBlk::kFeatureFlush | VirtioBlk::kFeatureDiscard);
    attach(true);
    EXPECT_EQ(blk_->device_features(), VirtioBlk::kFeatureSegMax | VirtioBlk::kFeatureFlush | VirtioBlk::kFeatureRo);
}

TEST_F(VirtioBlkTest, ReadLandsInTheGuestsBuffers)
{
    uint32_t used = 0;
    EXPECT_EQ(request(0, 3, 2048, true, &used), kOk);
    EXPECT_EQ(used, 2049u) << "the data and the status byte";
    EXPECT_EQ(guest(kData, 2048), file(3 * 512, 2048));
    EXPECT_EQ(link_.used_, 1u);
}

TEST_F(VirtioBlkTest, ReadScattersOverSeveralBuffersAndASplitHeader)
{
    header(0, 10);
    driver_.desc(0, kHeader, 5, kNext, 1);
    driver_.desc(1, kHeader + 5, 11, kNext, 2);
    driver_.desc(2, kData, 512, kWrite | kNext, 3);
    driver_.desc(3, kData + 0x1000, 1024, kWrite | kNext, 4);
    driver_.desc(4, kStatus, 1, kWrite);
    driver_.offer(0);
    blk_->notify(0);
    EXPECT_EQ(ram_.get<uint8_t>(kStatus), kOk);
    EXPECT_EQ(guest(kData, 512), file(10 * 512, 512));
    EXPECT_EQ(guest(kData + 0x1000, 1024), file(11 * 512, 1024));
    EXPECT_EQ(driver_.used_len(0), 1537u);
}

TEST_F(VirtioBlkTest, WriteComesFromTheGuestAndFlushSucceeds)
{
    for (size_t i = 0; i < 1024; i++) ram_.bytes[kData + i] = static_cast<uint8_t>(0xA0 ^ i);
    uint32_t used = 0;
    EXPECT_EQ(request(1, 7, 1024, false, &used), kOk);
    EXPECT_EQ(used, 1u);
    EXPECT_EQ(file(7 * 512, 1024), guest(kData, 1024));
    EXPECT_EQ(request(4, 0, 0, false), kOk);
}

TEST_F(VirtioBlkTest, ReadOnlyDiskRefusesWritesAndDiscards)
{
    attach(true);
    const auto before = file(0, kDiskBytes);
    std::memset(ram_.bytes.data() + kData, 0x55, 512);
    EXPECT_EQ(request(1, 0, 512, false), kIoErr);
    ram_.put<uint64_t>(kData, 0);
    ram_.put<uint32_t>(kData + 8, 8);
    ram_.put<uint32_t>(kData + 12, 0);
    EXPECT_EQ(request(11, 0, 16, false), kIoErr);
    EXPECT_EQ(request(4, 0, 0, false), kOk) << "nothing to flush";
    EXPECT_EQ(request(0, 0, 512, true), kOk) << "reads work";
    EXPECT_EQ(file(0, kDiskBytes), before);
}

TEST_F(VirtioBlkTest, RequestsPastTheEndOrOfPartSectorsFail)
{
    const uint64_t last = kDiskBytes / 512 - 1;
    EXPECT_EQ(request(0, last, 512, true), kOk);
    EXPECT_EQ(request(0, last, 1024, true), kIoErr);
    EXPECT_EQ(request(1, last + 1, 512, false), kIoErr);
    EXPECT_EQ(request(0, ~0ULL, 512, true), kIoErr) << "no overflow into range";
    EXPECT_EQ(request(0, 0, 100, true), kIoErr) << "not whole sectors";
}

TEST_F(VirtioBlkTest, GetIdAndUnknownRequests)
{
    uint32_t used = 0;
    EXPECT_EQ(request(8, 0, 20, true, &used), kOk);
    EXPECT_EQ(used, 21u);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(&ram_.bytes[kData])), "vmruntime-disk-0");
    EXPECT_EQ(request(99, 0, 0, false), kUnsupported);
}

TEST_F(VirtioBlkTest, DiscardPunchesAHole)
{
    ram_.put<uint64_t>(kData, 8);
    ram_.put<uint32_t>(kData + 8, 16);
    ram_.put<uint32_t>(kData + 12, 0);
    EXPECT_EQ(request(11, 0, 16, false), kOk);
    EXPECT_EQ(file(8 * 512, 16 * 512), std::vector<uint8_t>(16 * 512, 0));
    EXPECT_NE(file(7 * 512, 512), std::vector<uint8_t>(512, 0)) << "only the range";
    ram_.put<uint64_t>(kData, kDiskBytes / 512);
    EXPECT_EQ(request(11, 0, 16, false), kIoErr) << "past the end";
}

// A chain with no writable byte cannot carry a status: it goes back empty.
TEST_F(VirtioBlkTest, AChainWithoutStatusByteComesBackEmpty)
{
    header(0, 0);
    driver_.desc(0, kHeader, 16, 0);
    driver_.offer(0);
    blk_->notify(0);
    EXPECT_EQ(driver_.used_idx(), 1);
    EXPECT_EQ(driver_.used_len(0), 0u);
    header(0, 0);
    driver_.desc(1, kHeader, 8, kNext, 2);  // a header cut short
    driver_.desc(2, kStatus, 1, kWrite);
    driver_.offer(1);
    blk_->notify(0);
    EXPECT_EQ(ram_.get<uint8_t>(kStatus), kIoErr);
    EXPECT_EQ(link_.needs_reset_, 0u);
}

}  // namespace
}  // namespace vmruntime::dev
