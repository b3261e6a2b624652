// SPDX-License-Identifier: BSD-2-Clause
#include "vmruntime/dev/virtio_net.h"

#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "vmruntime/dev/virtio_chain.h"

namespace vmruntime::dev {
namespace {

constexpr uint16_t kLinkUp = 1;
constexpr size_t kConfigSize = 8;  // mac[6], status
// Frames per wake-up at most, so that one busy card cannot hold the strand.
constexpr unsigned kBudget = 64;

// The receive header: no offloads, num_buffers 1 (little-endian).
constexpr uint8_t kReceiveHeader[VirtioNet::kHeaderSize] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0};

}  // namespace

VirtioNet::VirtioNet(int fd, FdWatch& watch, const std::array<uint8_t, 6>& mac)
    : fd_(fd), watch_(watch), config_(kConfigSize)
{
    std::memcpy(config_.data(), mac.data(), mac.size());
    std::memcpy(config_.data() + 6, &kLinkUp, sizeof kLinkUp);
}

void VirtioNet::activate(std::span<Virtqueue*> queues, uint64_t, VirtioLink& link)
{
    rx_ = queues.size() > kReceiveQueue ? queues[kReceiveQueue] : nullptr;
    tx_ = queues.size() > kTransmitQueue ? queues[kTransmitQueue] : nullptr;
    link_ = &link;
    receive();
}

void VirtioNet::reset()
{
    watch_.cancel();
    rx_ = tx_ = nullptr;
    link_ = nullptr;
}

void VirtioNet::notify(unsigned index)
{
    if (index == kTransmitQueue) {
        transmit();
    } else if (index == kReceiveQueue) {
        receive();  // new buffers: frames may flow again
    }
}

void VirtioNet::finish(Virtqueue& queue, bool interrupt)
{
    if (interrupt) {
        link_->used();
    }
    if (queue.broken()) {
        link_->needs_reset();
    }
}

// Every chain the guest made available goes out as one frame: its readable
// bytes after the header.
void VirtioNet::transmit()
{
    if (!tx_) {
        return;
    }
    bool interrupt = false;
    std::vector<iovec> iov;
    while (auto chain = tx_->pop()) {
        if (chain_iovecs(*chain, false, kHeaderSize, iov) && !iov.empty()) {
            ssize_t n;
            do {
                n = ::writev(fd_, iov.data(), static_cast<int>(std::min<size_t>(iov.size(), IOV_MAX)));
            } while (n == -1 && errno == EINTR);
            (n == -1 ? counters_.dropped : counters_.sent)++;
        } else {
            counters_.dropped++;
        }
        interrupt |= tx_->push(chain->head, 0);
    }
    finish(*tx_, interrupt);
}

// Frames from the descriptor into the guest's posted buffers while both
// last; then wait for whichever is missing.
void VirtioNet::receive()
{
    if (!rx_) {
        return;
    }
    bool interrupt = false, waiting = false;
    std::vector<iovec> iov;
    unsigned n = 0;
    for (; n < kBudget; n++) {
        auto chain = rx_->pop();
        if (!chain) {
            break;  // no buffers: the guest's next notify resumes
        }
        if (!chain_iovecs(*chain, true, kHeaderSize, iov) || iov.empty() || !chain_write(*chain, kReceiveHeader)) {
            interrupt |= rx_->push(chain->head, 0);  // too small for any frame
            continue;
        }
        ssize_t got;
        do {
            got = ::readv(fd_, iov.data(), static_cast<int>(std::min<size_t>(iov.size(), IOV_MAX)));
        } while (got == -1 && errno == EINTR);
        if (got <= 0) {
            rx_->unpop();
            waiting = true;
            break;
        }
        counters_.received++;
        interrupt |= rx_->push(chain->head, static_cast<uint32_t>(kHeaderSize + static_cast<size_t>(got)));
    }
    // A spent budget goes on after others had a turn (the tap is still
    // readable, or the next turn finds no buffers and stops).
    if (waiting || n == kBudget) {
        watch_.when_readable([this] { receive(); });
    }
    finish(*rx_, interrupt);
}

}  // namespace vmruntime::dev
