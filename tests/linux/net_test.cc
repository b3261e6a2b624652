// SPDX-License-Identifier: BSD-2-Clause
//
// virtio-net under the small Linux kernel, inside a network namespace of
// the test's own (no address or interface of the host is touched): a tap
// there is the guest's eth0; the host pings the guest and the guest talks
// TCP with a listener of the test.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <future>

#include "linux_guest.h"

namespace vmruntime::testing {
namespace {

constexpr const char* kTap = "vmrt-tap0";
constexpr const char* kHostAddress = "10.0.2.1";
constexpr uint16_t kPort = 7000;

// The calling thread, and what it forks, in a fresh network namespace
// until the object goes.
class NetNamespace {
public:
    NetNamespace() : home_(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC))
    {
        entered_ = home_ != -1 && ::unshare(CLONE_NEWNET) == 0;
    }
    ~NetNamespace()
    {
        if (entered_) ::setns(home_, CLONE_NEWNET);
        if (home_ != -1) ::close(home_);
    }
    bool entered() const { return entered_; }

private:
    int home_;
    bool entered_ = false;
};

int shell(const std::string& command)
{
    return std::system((command + " >/dev/null 2>&1").c_str());
}

// Accepts one connection on `fd`, says "from-host" and returns the line the
// peer sent.
std::string serve_one(int fd)
{
    int peer = ::accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (peer == -1) return "<accept failed>";
    const char hello[] = "from-host\n";
    (void)!::write(peer, hello, sizeof hello - 1);
    std::string got;
    char c;
    while (::read(peer, &c, 1) == 1 && c != '\n') got += c;
    ::close(peer);
    return got;
}

TEST_F(LinuxTest, NetworkCardOnATapAnswersPingAndTcp)
{
    if (geteuid() != 0) {
        GTEST_SKIP() << "*** not root: no network namespace or tap; SKIPPED ***";
    }
    // The daemon must live in the namespace that holds the tap.
    daemon_.stop();
    NetNamespace ns;
    ASSERT_TRUE(ns.entered()) << std::strerror(errno);
    ASSERT_TRUE(daemon_.start()) << daemon_.log();
    ASSERT_EQ(shell(std::string("ip tuntap add dev ") + kTap + " mode tap"), 0);
    ASSERT_EQ(shell(std::string("ip addr add ") + kHostAddress + "/24 dev " + kTap), 0);
    ASSERT_EQ(shell(std::string("ip link set ") + kTap + " up"), 0);

    int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_NE(listener, -1);
    sockaddr_in at{};
    at.sin_family = AF_INET;
    at.sin_port = htons(kPort);
    inet_pton(AF_INET, kHostAddress, &at.sin_addr);
    ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&at), sizeof at), 0) << std::strerror(errno);
    ASSERT_EQ(::listen(listener, 1), 0);

    v1::MachineSpec spec = small_kernel("net", kernel_.vmlinux);
    v1::Net* net = spec.add_nets();
    net->set_tap(kTap);
    net->set_mac("02:00:00:00:00:22");
    ASSERT_TRUE(create(spec).ok());
    ASSERT_TRUE(call(&v1::Machines::Stub::Start, "net").ok());
    ConsoleSession console(*stub_, "net");
    ASSERT_NE(console.wait_for(kPrompt, kBootTimeout), std::string::npos) << console.text();

    EXPECT_EQ(console.command("cat /sys/class/net/eth0/address"), "02:00:00:00:00:22\r\n");
    EXPECT_EQ(console.command("ip addr add 10.0.2.2/24 dev eth0"), "");
    EXPECT_EQ(console.command("ip link set eth0 up; echo up"), "up\r\n");
    EXPECT_EQ(shell("ping -c 1 -W 20 10.0.2.2"), 0) << "the host pings the guest";

    auto served = std::async(std::launch::async, serve_one, listener);
    std::string answer = console.command("(echo from-guest; sleep 2) | nc 10.0.2.1 7000");
    EXPECT_EQ(answer, "from-host\r\n");
    if (served.wait_for(30s) != std::future_status::ready) {
        ::shutdown(listener, SHUT_RDWR);  // ends the accept: no test hangs on it
    }
    EXPECT_EQ(served.get(), "from-guest");
    std::string interrupts = console.command("grep virtio /proc/interrupts");
    EXPECT_NE(interrupts.find("virtio0"), std::string::npos) << interrupts;
    ::close(listener);
    console.type("poweroff -f\n");
    EXPECT_TRUE(console.wait_end(kAnswerTimeout));
    // Started again, the machine is built afresh on the same tap, which the
    // ended one gave back.
    grpc::Status again = call(&v1::Machines::Stub::Start, "net");
    EXPECT_TRUE(again.ok()) << again.error_message();
    EXPECT_TRUE(call(&v1::Machines::Stub::Stop, "net").ok());
}

}  // namespace
}  // namespace vmruntime::testing
