// SPDX-License-Identifier: BSD-2-Clause
//
// What the small guest's programs need of Linux, without a libc: a static
// glibc binary would add most of a megabyte to the initramfs, which the
// guest kernel unpacks instruction by instruction on hosts that emulate
// kernel code.  Raw x86-64 system calls, an entry point that hands main()
// its arguments, and a few string helpers.
#pragma once

typedef unsigned long size_t;
typedef long ssize_t;
typedef unsigned long long uint64_t;
typedef unsigned int uint32_t;
typedef unsigned short uint16_t;

enum {
    SYS_read = 0, SYS_write = 1, SYS_open = 2, SYS_close = 3, SYS_ioctl = 16, SYS_pread64 = 17,
    SYS_socket = 41, SYS_connect = 42, SYS_accept = 43, SYS_shutdown = 48, SYS_bind = 49, SYS_listen = 50,
    SYS_exit_group = 231, SYS_clock_gettime = 228,
};

static inline long syscall6(long n, long a, long b, long c, long d, long e, long f)
{
    long ret;
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    register long r9 __asm__("r9") = f;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return ret;
}
#define sys(n, a, b, c) syscall6((n), (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define sys4(n, a, b, c, d) syscall6((n), (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)

static inline size_t str_len(const char* s)
{
    size_t n = 0;
    while (s[n]) n++;
    return n;
}

static inline int str_eq(const char* a, const char* b)
{
    while (*a && *a == *b) a++, b++;
    return *a == *b;
}

static inline void put(int fd, const char* s)
{
    sys(SYS_write, fd, s, str_len(s));
}

// Decimal digits of `v` into `out` (20 bytes at least); returns out.
static inline char* u64_text(uint64_t v, char* out)
{
    char tmp[21];
    int n = 0;
    do tmp[n++] = (char)('0' + v % 10); while (v /= 10);
    for (int i = 0; i < n; i++) out[i] = tmp[n - 1 - i];
    out[n] = 0;
    return out;
}

static inline uint64_t text_u64(const char* s)
{
    uint64_t v = 0;
    while (*s >= '0' && *s <= '9') v = v * 10 + (uint64_t)(*s++ - '0');
    return v;
}

int main(int argc, char** argv);

// The kernel starts us with argc at the stack pointer and argv above it.
__attribute__((used)) static void start_c(long* sp)
{
    sys(SYS_exit_group, main((int)sp[0], (char**)(sp + 1)), 0, 0);
}
__asm__(".globl _start\n_start:\n\tmov %rsp, %rdi\n\tand $-16, %rsp\n\tcall start_c\n\thlt\n");
