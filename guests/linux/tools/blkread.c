// SPDX-License-Identifier: BSD-2-Clause
//
// blkread DEVICE seq|rand COUNT BYTES: COUNT reads of BYTES each from a
// block device with O_DIRECT (no page cache between the guest and the
// virtio disk), in order from the start or at random aligned offsets, and
// one line with the time they took, in microseconds of CLOCK_MONOTONIC.
// For bench/linux-boot's disk runs.
#include "tool.h"

#define O_RDONLY 0
#define O_DIRECT 040000
#define BLKGETSIZE64 0x80081272UL
#define CLOCK_MONOTONIC 1
#define MAX_BYTES (1 << 20)

struct timespec_ {
    long sec, nsec;
};

static unsigned char buffer[MAX_BYTES] __attribute__((aligned(4096)));

static uint64_t now_us(void)
{
    struct timespec_ t;
    sys(SYS_clock_gettime, CLOCK_MONOTONIC, &t, 0);
    return (uint64_t)t.sec * 1000000 + (uint64_t)t.nsec / 1000;
}

int main(int argc, char** argv)
{
    if (argc != 5 || (!str_eq(argv[2], "seq") && !str_eq(argv[2], "rand"))) {
        put(2, "usage: blkread DEVICE seq|rand COUNT BYTES\n");
        return 2;
    }
    const int random = str_eq(argv[2], "rand");
    const uint64_t count = text_u64(argv[3]), bytes = text_u64(argv[4]);
    uint64_t size = 0;
    long fd = sys(SYS_open, argv[1], O_RDONLY | O_DIRECT, 0);
    if (fd < 0 || sys(SYS_ioctl, fd, BLKGETSIZE64, &size) != 0) {
        put(2, "blkread: cannot open the device\n");
        return 1;
    }
    if (count == 0 || bytes == 0 || bytes % 512 != 0 || bytes > MAX_BYTES || size < bytes) {
        put(2, "blkread: bad count or size\n");
        return 2;
    }
    const uint64_t blocks = size / bytes;
    uint64_t state = 0x9E3779B97F4A7C15ULL;
    const uint64_t start = now_us();
    for (uint64_t i = 0; i < count; i++) {
        uint64_t block = i % blocks;
        if (random) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            block = state % blocks;
        }
        if (sys4(SYS_pread64, fd, buffer, bytes, block * bytes) != (long)bytes) {
            put(2, "blkread: read failed\n");
            return 1;
        }
    }
    char text[24];
    put(1, "blkread: ");
    put(1, u64_text(now_us() - start, text));
    put(1, " us\n");
    return 0;
}
