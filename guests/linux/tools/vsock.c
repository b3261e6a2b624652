// SPDX-License-Identifier: BSD-2-Clause
//
// The guest's end of the vsock tests (busybox has no AF_VSOCK):
//   vsock call PORT TEXT  connects to host port PORT, sends TEXT and a
//                         newline, stops sending, and prints what the host
//                         sends back until it closes;
//   vsock echo PORT       listens on PORT, says so, sends back every byte
//                         of one connection until the peer stops sending,
//                         and says how many there were.
#include "tool.h"

#define AF_VSOCK 40
#define SOCK_STREAM 1
#define SHUT_WR 1
#define VMADDR_CID_ANY 0xFFFFFFFFu
#define VMADDR_CID_HOST 2u

struct sockaddr_vm {
    uint16_t family, reserved;
    uint32_t port, cid;
    unsigned char flags, zero[3];
};

static unsigned char buffer[65536];

static int fail(const char* what, long err)
{
    char n[24];
    put(1, "vsock: ");
    put(1, what);
    put(1, " failed, errno ");
    put(1, u64_text((uint64_t)-err, n));
    put(1, "\n");
    return 1;
}

static int write_all(long fd, const unsigned char* p, long n)
{
    while (n > 0) {
        long done = sys(SYS_write, fd, p, n);
        if (done <= 0) return 0;
        p += done, n -= done;
    }
    return 1;
}

static int call(uint32_t port, const char* text)
{
    struct sockaddr_vm host = {AF_VSOCK, 0, port, VMADDR_CID_HOST, 0, {0}};
    long fd = sys(SYS_socket, AF_VSOCK, SOCK_STREAM, 0);
    if (fd < 0) return fail("socket", fd);
    long err = sys(SYS_connect, fd, &host, sizeof host);
    if (err < 0) return fail("connect", err);
    if (!write_all(fd, (const unsigned char*)text, (long)str_len(text)) || !write_all(fd, (const unsigned char*)"\n", 1))
        return fail("write", -1);
    sys(SYS_shutdown, fd, SHUT_WR, 0);
    long n;
    while ((n = sys(SYS_read, fd, buffer, sizeof buffer)) > 0) sys(SYS_write, 1, buffer, n);
    return n < 0 ? fail("read", n) : 0;
}

static int echo(uint32_t port)
{
    struct sockaddr_vm any = {AF_VSOCK, 0, port, VMADDR_CID_ANY, 0, {0}};
    long fd = sys(SYS_socket, AF_VSOCK, SOCK_STREAM, 0);
    if (fd < 0) return fail("socket", fd);
    long err = sys(SYS_bind, fd, &any, sizeof any);
    if (err == 0) err = sys(SYS_listen, fd, 1, 0);
    if (err < 0) return fail("listen", err);
    put(1, "vsock: listening\n");
    long peer = sys(SYS_accept, fd, 0, 0);
    if (peer < 0) return fail("accept", peer);
    uint64_t total = 0;
    long n;
    while ((n = sys(SYS_read, peer, buffer, sizeof buffer)) > 0) {
        if (!write_all(peer, buffer, n)) return fail("write", -1);
        total += (uint64_t)n;
    }
    sys(SYS_close, peer, 0, 0);
    char text[24];
    put(1, "vsock: echoed ");
    put(1, u64_text(total, text));
    put(1, " bytes\n");
    return n < 0 ? fail("read", n) : 0;
}

int main(int argc, char** argv)
{
    if (argc == 4 && str_eq(argv[1], "call")) return call((uint32_t)text_u64(argv[2]), argv[3]);
    if (argc == 3 && str_eq(argv[1], "echo")) return echo((uint32_t)text_u64(argv[2]));
    put(2, "usage: vsock call PORT TEXT | vsock echo PORT\n");
    return 2;
}
