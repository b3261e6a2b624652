// SPDX-License-Identifier: BSD-2-Clause
//
// The written pages of a private file mapping, both ways the kernel tells
// them (PAGEMAP_SCAN and the page map read whole), against the pages a
// test wrote, read, dropped and left alone.
#include "vmruntime/runtime/written_pages.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <vector>

namespace vmruntime::runtime {
namespace {

constexpr size_t kPage = 4096;
constexpr size_t kPages = 600;

class WrittenPagesTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        char path[] = "/tmp/vmruntime-pages-XXXXXX";
        fd_ = mkstemp(path);
        ASSERT_NE(fd_, -1);
        unlink(path);
        std::vector<char> bytes(kPages * kPage, 'f');
        ASSERT_EQ(write(fd_, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
        void* map = mmap(nullptr, kPages * kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd_, 0);
        ASSERT_NE(map, MAP_FAILED);
        map_ = static_cast<volatile char*>(map);
    }
    void TearDown() override
    {
        munmap(const_cast<char*>(map_), kPages * kPage);
        close(fd_);
    }

    // Reads pages 0-39 (mapped, still the file's), writes the `written` ones.
    void touch(const std::vector<size_t>& written)
    {
        for (size_t page = 0; page < 40; page++) {
            (void)map_[page * kPage];
        }
        for (size_t page : written) {
            map_[page * kPage + 1] = 'w';
        }
    }

    int fd_ = -1;
    volatile char* map_ = nullptr;
};

using Runs = std::vector<PageRun>;

TEST_F(WrittenPagesTest, BothWaysFindTheWrittenPagesAndNoOthers)
{
    touch({3, 4, 5, 10, 41, 79});
    const Runs expected = {{3, 3}, {10, 1}, {41, 1}, {79, 1}};
    Runs read, found;
    ASSERT_TRUE(read_written_pages(const_cast<char*>(map_), kPages, &read));
    EXPECT_EQ(read, expected);
    ASSERT_TRUE(find_written_pages(const_cast<char*>(map_), kPages, &found));
    EXPECT_EQ(found, expected);
    Runs scanned;
    if (!scan_written_pages(const_cast<char*>(map_), kPages, &scanned)) {
        ASSERT_TRUE(errno == ENOTTY || errno == EINVAL) << errno;
        std::printf("*** this kernel has no PAGEMAP_SCAN: only the page map read is checked ***\n");
        return;
    }
    EXPECT_EQ(scanned, expected);
}

TEST_F(WrittenPagesTest, ADroppedPageIsTheFilesAgain)
{
    touch({7, 8, 9});
    ASSERT_EQ(madvise(const_cast<char*>(map_) + 8 * kPage, kPage, MADV_DONTNEED), 0);
    EXPECT_EQ(map_[8 * kPage + 1], 'f');
    Runs found;
    ASSERT_TRUE(find_written_pages(const_cast<char*>(map_), kPages, &found));
    EXPECT_EQ(found, (Runs{{7, 1}, {9, 1}}));
}

// More runs (300) than PAGEMAP_SCAN's vector takes at once (256): the walk
// goes on where it stopped.
TEST_F(WrittenPagesTest, EveryOtherPageWritten)
{
    std::vector<size_t> written;
    Runs expected;
    for (size_t page = 0; page < kPages; page += 2) {
        written.push_back(page);
        expected.push_back({page, 1});
    }
    touch(written);
    Runs found;
    ASSERT_TRUE(find_written_pages(const_cast<char*>(map_), kPages, &found));
    EXPECT_EQ(found, expected);
}

}  // namespace
}  // namespace vmruntime::runtime
