// SPDX-License-Identifier: BSD-2-Clause
//
// virtio-vsock under the small Linux kernel, with Firecracker's host side:
// the guest's program (guests/linux/tools/vsock.c) reaches a Unix socket
// the test listens on, and the test reaches a guest port through the
// machine's socket with "CONNECT <port>".  A megabyte echoed through the
// guest runs both directions out of credit more than once.
#include <sys/socket.h>
#include <sys/un.h>

#include <cstring>
#include <filesystem>
#include <future>

#include "linux_guest.h"

namespace vmruntime::testing {
namespace {

constexpr size_t kEchoBytes = 1 << 20;

sockaddr_un address_of(const std::string& path)
{
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
    return address;
}

// A stream socket whose reads and writes give up after a while, so that no
// test hangs on a guest that does not answer.
int unix_socket()
{
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const timeval patience{60, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &patience, sizeof patience);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &patience, sizeof patience);
    return fd;
}

int listen_at(const std::string& path)
{
    int fd = unix_socket();
    const sockaddr_un address = address_of(path);
    if (::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0 || ::listen(fd, 4) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

int connect_to(const std::string& path)
{
    int fd = unix_socket();
    const sockaddr_un address = address_of(path);
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

// One line, without its newline; what came before the end otherwise.
std::string read_line(int fd)
{
    std::string line;
    char c;
    while (::read(fd, &c, 1) == 1 && c != '\n') line += c;
    return line;
}

bool write_all(int fd, const std::string& bytes)
{
    size_t done = 0;
    while (done < bytes.size()) {
        ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
        if (n <= 0) return false;
        done += static_cast<size_t>(n);
    }
    return true;
}

std::string read_to_end(int fd)
{
    std::string all;
    char chunk[65536];
    ssize_t n;
    while ((n = ::read(fd, chunk, sizeof chunk)) > 0) all.append(chunk, static_cast<size_t>(n));
    return all;
}

// Accepts one connection, answers "got <line>" to the line it reads and
// closes; returns the line.
std::string answer_one(int listener)
{
    int peer = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (peer == -1) return "<accept failed>";
    std::string line = read_line(peer);
    write_all(peer, "got " + line + "\n");
    ::close(peer);
    return line;
}

class VsockTest : public LinuxTest {
protected:
    void SetUp() override
    {
        LinuxTest::SetUp();
        char dir[] = "/tmp/vmrt-vsock.XXXXXX";
        ASSERT_NE(::mkdtemp(dir), nullptr);
        dir_ = dir;
        socket_ = dir_ + "/vm.sock";
    }
    void TearDown() override
    {
        LinuxTest::TearDown();
        std::filesystem::remove_all(dir_);
    }

    std::string dir_, socket_;
};

TEST_F(VsockTest, GuestAndHostOpenStreamsToEachOther)
{
    const int host_listener = listen_at(socket_ + "_5000");
    ASSERT_NE(host_listener, -1) << std::strerror(errno);
    v1::MachineSpec spec = small_kernel("vsock", kernel_.vmlinux);
    spec.mutable_vsock()->set_cid(7);
    spec.mutable_vsock()->set_socket(socket_);
    grpc::Status created = create(spec);
    ASSERT_TRUE(created.ok()) << created.error_message();
    ASSERT_TRUE(call(&v1::Machines::Stub::Start, "vsock").ok());
    ConsoleSession console(*stub_, "vsock");
    ASSERT_NE(console.wait_for(kPrompt, kBootTimeout), std::string::npos) << console.text();
    EXPECT_EQ(console.command("cat /sys/bus/virtio/devices/virtio0/device"), "0x0013\r\n");

    // The guest connects to host port 5000: the test's socket answers.
    auto answered = std::async(std::launch::async, answer_one, host_listener);
    EXPECT_EQ(console.command("vsock call 5000 from-guest"), "got from-guest\r\n");
    EXPECT_EQ(answered.get(), "from-guest");
    // Nobody listens for port 5001: the guest's connection is refused.
    EXPECT_EQ(console.command("vsock call 5001 x").rfind("vsock: connect failed", 0), 0u);

    // The host connects to guest port 6000 and has a megabyte echoed.
    console.type("vsock echo 6000 &\n");
    ASSERT_NE(console.wait_for("vsock: listening", kAnswerTimeout), std::string::npos) << console.text();
    const int stream = connect_to(socket_);
    ASSERT_NE(stream, -1) << std::strerror(errno);
    ASSERT_TRUE(write_all(stream, "CONNECT 6000\n"));
    const std::string ok = read_line(stream);
    ASSERT_EQ(ok.rfind("OK ", 0), 0u) << ok;
    EXPECT_GE(std::stoul(ok.substr(3)), 1UL << 30) << "host ports of host clients' connections";
    std::string sent(kEchoBytes, '\0');
    for (size_t i = 0; i < sent.size(); i++) sent[i] = static_cast<char>(i * 7 + i / 4096);
    auto writer = std::async(std::launch::async, [&] {
        bool all = write_all(stream, sent);
        ::shutdown(stream, SHUT_WR);
        return all;
    });
    const std::string echoed = read_to_end(stream);
    EXPECT_TRUE(writer.get());
    EXPECT_EQ(echoed.size(), sent.size());
    EXPECT_TRUE(echoed == sent) << "the echo differs";
    EXPECT_NE(console.wait_for("vsock: echoed 1048576 bytes", kAnswerTimeout), std::string::npos) << console.text();
    ::close(stream);
    EXPECT_NE(console.command("wait; echo waited").find("waited"), std::string::npos);

    // A port nobody listens on, and a request that is not one: the socket
    // is closed.
    for (const char* request : {"CONNECT 6001\n", "HELLO\n"}) {
        const int refused = connect_to(socket_);
        ASSERT_TRUE(write_all(refused, request));
        EXPECT_EQ(read_to_end(refused), "") << request;
        ::close(refused);
    }
    EXPECT_EQ(console.command("echo $((6*7))"), "42\r\n") << "the guest lives on";

    ::close(host_listener);
    ASSERT_TRUE(force_delete(*stub_, "vsock").ok());
    EXPECT_FALSE(std::filesystem::exists(socket_)) << "the machine's socket goes with it";
}

}  // namespace
}  // namespace vmruntime::testing
