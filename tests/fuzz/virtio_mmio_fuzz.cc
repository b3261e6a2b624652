// SPDX-License-Identifier: BSD-2-Clause
//
// The virtio-mmio transport and its split virtqueues, driven as a hostile
// guest would: the input fills 64 KiB of guest RAM (rings, descriptors,
// indirect tables, buffers), then is a sequence of register writes and
// reads in the window, RAM pokes between them, and notifications.  Behind
// the transport an echo device takes every chain of a notified queue,
// reads its readable bytes, fills its writable ones and gives it back; or,
// as the input says, virtio-blk on a 64 KiB in-memory file takes the
// chains as disk requests, or virtio-net sends them to a datagram socket
// and fills receive buffers from frames the input queued there, or
// virtio-vsock takes them as packets, with host streams and clients the
// input drives.
#include <fuzzer/FuzzedDataProvider.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <set>

#include "tests/unit/dev/fakes.h"
#include "vmruntime/base/unique_fd.h"
#include "vmruntime/dev/virtio_blk.h"
#include "vmruntime/dev/virtio_mmio.h"
#include "vmruntime/dev/virtio_net.h"
#include "vmruntime/dev/virtio_vsock.h"

namespace {

using namespace vmruntime::dev;

constexpr size_t kRam = 64 * 1024;

class SmallRam final : public GuestRam {
public:
    std::span<uint8_t> at(uint64_t gpa, uint64_t len) override
    {
        if (len == 0 || gpa > kRam || len > kRam - gpa) {
            return {};
        }
        return {bytes + gpa, len};
    }
    uint8_t bytes[kRam] = {};
};

class EchoDevice final : public VirtioDevice {
public:
    uint32_t device_id() const override { return 0x42; }
    uint64_t device_features() const override { return 1; }
    unsigned queue_count() const override { return 2; }
    uint16_t queue_max_size() const override { return 64; }
    std::span<const uint8_t> config() const override { return config_; }
    void activate(std::span<Virtqueue*> queues, uint64_t, VirtioLink& link) override
    {
        queues_.assign(queues.begin(), queues.end());
        link_ = &link;
    }
    void notify(unsigned index) override
    {
        Virtqueue* q = index < queues_.size() ? queues_[index] : nullptr;
        if (!q) {
            return;
        }
        while (auto chain = q->pop()) {
            uint32_t sum = 0, written = 0;
            for (auto& s : chain->segments) {
                if (s.device_writable) {
                    std::memset(s.bytes.data(), static_cast<int>(sum), s.bytes.size());
                    written += static_cast<uint32_t>(s.bytes.size());
                } else {
                    for (uint8_t b : s.bytes) sum += b;
                }
            }
            if (q->push(chain->head, written)) {
                link_->used();
            }
        }
        if (q->broken()) {
            link_->needs_reset();
        }
    }
    void reset() override
    {
        queues_.clear();
        link_ = nullptr;
    }

private:
    uint8_t config_[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    std::vector<Virtqueue*> queues_;
    VirtioLink* link_ = nullptr;
};

// A driver's bring-up, with the input's features and queue layouts, so
// that every input reaches the queues before the hostile part.
void bring_up(VirtioMmio& mmio, FuzzedDataProvider& in)
{
    mmio.write(0x070, 4, VirtioMmio::kStatusAcknowledge | VirtioMmio::kStatusDriver);
    mmio.write(0x024, 4, 0);
    mmio.write(0x020, 4, in.ConsumeIntegral<uint32_t>());
    mmio.write(0x024, 4, 1);
    mmio.write(0x020, 4, in.ConsumeBool() ? in.ConsumeIntegral<uint32_t>() : 1);  // mostly VERSION_1
    mmio.write(0x070, 4, VirtioMmio::kStatusAcknowledge | VirtioMmio::kStatusDriver | VirtioMmio::kStatusFeaturesOk);
    for (uint32_t q = 0; q < 2; q++) {
        mmio.write(0x030, 4, q);
        mmio.write(0x038, 4, 1U << in.ConsumeIntegralInRange<int>(0, 7));
        for (uint64_t reg : {0x080, 0x090, 0x0A0}) {
            mmio.write(reg, 4, in.ConsumeIntegralInRange<uint32_t>(0, kRam));
        }
        mmio.write(0x044, 4, 1);
    }
    mmio.write(0x070, 4, VirtioMmio::kStatusAcknowledge | VirtioMmio::kStatusDriver |
                             VirtioMmio::kStatusFeaturesOk | VirtioMmio::kStatusDriverOk);
}

// The disk behind virtio-blk: one file for the whole run, rewritten by the
// inputs' requests (its content does not matter, its bounds do).
int disk_file()
{
    static const vmruntime::base::UniqueFd fd = [] {
        vmruntime::base::UniqueFd f(memfd_create("virtio-blk-fuzz", MFD_CLOEXEC));
        if (!f || ftruncate(f.get(), kRam) != 0) {
            abort();
        }
        return f;
    }();
    return fd.get();
}

// The network card's wire: the device's end and the far end of a
// datagram socket pair, emptied between inputs.
struct Wire {
    Wire()
    {
        int fds[2];
        if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0) {
            abort();
        }
        device.reset(fds[0]);
        far.reset(fds[1]);
    }
    void drain()
    {
        uint8_t frame[2048];
        while (recv(far.get(), frame, sizeof frame, 0) >= 0 || recv(device.get(), frame, sizeof frame, 0) >= 0) {
        }
    }
    vmruntime::base::UniqueFd device, far;
};

// The host side of virtio-vsock: socket pairs for the host's listeners
// (the input writes into and closes their far ends), an abstract listening
// socket for host clients, and watches the input fires.
class VsockWires final : public VirtioVsock::Host {
public:
    VsockWires()
    {
        listener.reset(socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
        address.sun_family = AF_UNIX;
        std::snprintf(address.sun_path + 1, sizeof address.sun_path - 1, "vmrt-vsock-fuzz-%d", getpid());
        if (bind(listener.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
            ::listen(listener.get(), 16) != 0) {
            abort();
        }
    }
    // Forgets the last input's streams and clients.
    void clear()
    {
        while (vmruntime::base::UniqueFd(accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC))) {
        }
        programs.clear();
    }
    vmruntime::base::UniqueFd connect(uint32_t port) override
    {
        int fds[2];
        if (port % 4 == 0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0) {
            return {};  // some ports refused
        }
        programs.emplace_back(fds[1]);
        return vmruntime::base::UniqueFd(fds[0]);
    }
    // A watch that leaves `live` when its connection goes.
    class Watch final : public FdWatch {
    public:
        explicit Watch(std::set<Watch*>& live) : live_(live) { live_.insert(this); }
        ~Watch() override { live_.erase(this); }
        void when_readable(std::function<void()> fire) override { fake.when_readable(std::move(fire)); }
        void when_writable(std::function<void()> fire) override { fake.when_writable(std::move(fire)); }
        void cancel() override { fake.cancel(); }
        testing::FakeWatch fake;

    private:
        std::set<Watch*>& live_;
    };
    std::unique_ptr<FdWatch> watch(int) override { return std::make_unique<Watch>(watches); }
    // The input's turn on the host side: a program writes or closes, a
    // client connects and says something; then the event loop looks.
    void act(FuzzedDataProvider& in)
    {
        std::vector<uint8_t> bytes = in.ConsumeBytes<uint8_t>(in.ConsumeIntegralInRange<size_t>(0, 300));
        switch (in.ConsumeIntegralInRange<int>(0, 2)) {
        case 0:
            if (!programs.empty()) {
                auto& p = programs[in.ConsumeIntegralInRange<size_t>(0, programs.size() - 1)];
                (void)!(bytes.empty() ? (p.reset(), 0) : send(p.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL));
            }
            break;
        case 1: {
            vmruntime::base::UniqueFd client(socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
            if (::connect(client.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) {
                (void)!send(client.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
                programs.push_back(std::move(client));
            }
            break;
        }
        default:
            break;
        }
        // Firing one watch may add or drop others: walk a copy, skip the dropped.
        for (Watch* w : std::vector<Watch*>(watches.begin(), watches.end())) {
            if (watches.contains(w)) w->fake.readable();
            if (watches.contains(w)) w->fake.writable();
        }
    }
    vmruntime::base::UniqueFd listener;
    sockaddr_un address{};
    std::vector<vmruntime::base::UniqueFd> programs;
    std::set<Watch*> watches;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    FuzzedDataProvider in(data, size);
    SmallRam ram;
    std::vector<uint8_t> image = in.ConsumeBytes<uint8_t>(in.ConsumeIntegralInRange<size_t>(0, kRam));
    std::copy(image.begin(), image.end(), ram.bytes);
    testing::FakeIrqLine irq;
    EchoDevice echo;
    VirtioBlk blk(disk_file(), kRam, in.ConsumeBool(), "fuzz");
    static Wire wire;
    wire.drain();
    testing::FakeWatch watch;
    VirtioNet net(wire.device.get(), watch, {2, 0, 0, 0, 0, 1});
    static VsockWires vsock_wires;
    vsock_wires.clear();
    VirtioVsock vsock(3, vsock_wires.listener.get(), vsock_wires);
    VirtioDevice* devices[] = {&echo, &blk, &net, &vsock};
    VirtioMmio mmio(*devices[in.ConsumeIntegralInRange<int>(0, 3)], ram, irq);
    bring_up(mmio, in);
    static constexpr unsigned kSizes[] = {1, 2, 4, 8};
    while (in.remaining_bytes() > 0) {
        switch (in.ConsumeIntegralInRange<int>(0, 4)) {
        case 0: {  // a register write, mostly at real registers
            uint64_t offset = in.ConsumeBool() ? in.ConsumeIntegralInRange<uint64_t>(0, 0xFF) & ~3ULL
                                               : in.ConsumeIntegralInRange<uint64_t>(0, 0xFFF);
            mmio.write(offset, kSizes[in.ConsumeIntegralInRange<int>(0, 3)], in.ConsumeIntegral<uint32_t>());
            break;
        }
        case 1:
            mmio.read(in.ConsumeIntegralInRange<uint64_t>(0, 0xFFF), kSizes[in.ConsumeIntegralInRange<int>(0, 3)]);
            break;
        case 2:  // the guest rewrites its rings between notifications
            ram.bytes[in.ConsumeIntegralInRange<size_t>(0, kRam - 1)] = in.ConsumeIntegral<uint8_t>();
            break;
        case 3: {  // a frame from the host, and the event loop seeing it
            std::vector<uint8_t> frame = in.ConsumeBytes<uint8_t>(in.ConsumeIntegralInRange<size_t>(0, 1600));
            (void)send(wire.far.get(), frame.data(), frame.size(), 0);
            watch.readable();
            vsock_wires.act(in);
            break;
        }
        default:
            mmio.write(0x050, 4, in.ConsumeIntegralInRange<uint32_t>(0, 2));
            break;
        }
    }
    return 0;
}
