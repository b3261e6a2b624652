// SPDX-License-Identifier: BSD-2-Clause
//
// Guest memory of nvmm-bench and its fatal-error helpers; see guest_ram.h.
#include "guest_ram.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

extern "C" const uint8_t bench_guest_begin[], bench_guest_end[];
extern "C" const uint8_t bench_mmio_guest_begin[], bench_mmio_guest_end[];

namespace vmruntime::bench {

GuestRam::GuestRam()
{
    void* p = mmap(nullptr, kGuestRamSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        die_errno("mmap guest RAM");
    }
    bytes_ = static_cast<uint8_t*>(p);
}

GuestRam::~GuestRam()
{
    munmap(bytes_, kGuestRamSize);
}

void GuestRam::load_guest()
{
    std::memcpy(bytes_ + kGuestEntry, bench_guest_begin,
                static_cast<size_t>(bench_guest_end - bench_guest_begin));
    std::memcpy(bytes_ + kMmioEntry, bench_mmio_guest_begin,
                static_cast<size_t>(bench_mmio_guest_end - bench_mmio_guest_begin));
}

void die_errno(const char* what)
{
    std::fprintf(stderr, "nvmm-bench: %s: %s\n", what, std::strerror(errno));
    std::exit(1);
}

void die(const char* message)
{
    std::fprintf(stderr, "nvmm-bench: %s\n", message);
    std::exit(1);
}

}  // namespace vmruntime::bench
