// SPDX-License-Identifier: BSD-2-Clause
//
// tcpecho PORT: listens on TCP port PORT of every address, says so, and
// sends back every byte of each connection, one connection after another,
// until killed.  For bench/linux-boot's network runs (busybox's nc cannot
// echo).
#include "tool.h"

#define AF_INET 2
#define SOCK_STREAM 1
#define SOL_SOCKET 1
#define SO_REUSEADDR 2
#define IPPROTO_TCP 6
#define TCP_NODELAY 1
#define SYS_setsockopt 54

struct sockaddr_in {
    uint16_t family, port;  // port in network order
    uint32_t addr;
    unsigned char zero[8];
};

static unsigned char buffer[65536];

int main(int argc, char** argv)
{
    if (argc != 2) {
        put(2, "usage: tcpecho PORT\n");
        return 2;
    }
    const uint16_t port = (uint16_t)text_u64(argv[1]);
    struct sockaddr_in any = {AF_INET, (uint16_t)(port << 8 | port >> 8), 0, {0}};
    long fd = sys(SYS_socket, AF_INET, SOCK_STREAM, 0);
    int on = 1;
    syscall6(SYS_setsockopt, fd, SOL_SOCKET, SO_REUSEADDR, (long)&on, sizeof on, 0);
    if (fd < 0 || sys(SYS_bind, fd, &any, sizeof any) != 0 || sys(SYS_listen, fd, 4, 0) != 0) {
        put(1, "tcpecho: cannot listen\n");
        return 1;
    }
    put(1, "tcpecho: listening\n");
    for (;;) {
        long peer = sys(SYS_accept, fd, 0, 0);
        if (peer < 0) continue;
        syscall6(SYS_setsockopt, peer, IPPROTO_TCP, TCP_NODELAY, (long)&on, sizeof on, 0);
        long n;
        while ((n = sys(SYS_read, peer, buffer, sizeof buffer)) > 0) {
            for (long done = 0, w; done < n; done += w) {
                if ((w = sys(SYS_write, peer, buffer + done, n - done)) <= 0) break;
            }
        }
        sys(SYS_close, peer, 0, 0);
    }
}
