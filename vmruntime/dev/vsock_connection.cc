// SPDX-License-Identifier: BSD-2-Clause
#include "vmruntime/dev/vsock_connection.h"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <string>

namespace vmruntime::dev {
namespace {

// sendmsg, not writev: a host end that closed gets EPIPE, not SIGPIPE.
ssize_t send_iov(int fd, std::span<const iovec> iov)
{
    msghdr msg{};
    msg.msg_iov = const_cast<iovec*>(iov.data());
    msg.msg_iovlen = std::min<size_t>(iov.size(), IOV_MAX);
    ssize_t n;
    do {
        n = ::sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    } while (n == -1 && errno == EINTR);
    return n;
}

size_t size_of(std::span<const iovec> iov)
{
    size_t n = 0;
    for (const iovec& v : iov) n += v.iov_len;
    return n;
}

}  // namespace

VsockConnection::VsockConnection(base::UniqueFd stream, std::unique_ptr<FdWatch> watch, uint32_t host_port,
                                 uint32_t guest_port, bool open, std::function<void()> wake)
    : stream_(std::move(stream)),
      watch_(std::move(watch)),
      host_port_(host_port),
      guest_port_(guest_port),
      open_(open),
      wake_(std::move(wake))
{
}

bool VsockConnection::accept()
{
    const std::string ok = "OK " + std::to_string(host_port_) + "\n";
    const iovec line{const_cast<char*>(ok.data()), ok.size()};
    open_ = send_iov(stream_.get(), {&line, 1}) == static_cast<ssize_t>(ok.size());
    return open_;
}

void VsockConnection::heard(const vsock::Header& from_guest)
{
    peer_buf_alloc_ = from_guest.buf_alloc;
    peer_fwd_cnt_ = from_guest.fwd_cnt;
}

void VsockConnection::stamp(vsock::Header& to_guest)
{
    to_guest.src_port = host_port_;
    to_guest.dst_port = guest_port_;
    to_guest.buf_alloc = kBufferBytes;
    to_guest.fwd_cnt = forwarded_;
    reported_ = forwarded_;
    update_queued_ = false;
}

bool VsockConnection::send(std::span<const iovec> payload)
{
    const size_t bytes = size_of(payload);
    received_ += static_cast<uint32_t>(bytes);
    if (broken_ || send_shut_ || received_ - forwarded_ > kBufferBytes) {
        return false;
    }
    size_t written = 0;
    if (flushed()) {
        const ssize_t n = send_iov(stream_.get(), payload);
        if (n == -1 && errno != EAGAIN) {
            broken_ = true;
            return false;
        }
        written = n == -1 ? 0 : static_cast<size_t>(n);
        forwarded_ += static_cast<uint32_t>(written);
    }
    for (const iovec& v : payload) {  // what the stream did not take, kept
        const size_t skip = std::min(written, v.iov_len);
        written -= skip;
        const auto* from = static_cast<const uint8_t*>(v.iov_base);
        kept_.insert(kept_.end(), from + skip, from + v.iov_len);
    }
    if (!flushed()) {
        wait_writable();
    }
    return true;
}

void VsockConnection::wait_writable()
{
    watch_->when_writable([this] {
        flush();
        auto wake = wake_;  // the device may drop this connection
        wake();
    });
}

void VsockConnection::flush()
{
    const iovec rest{kept_.data() + kept_from_, kept_.size() - kept_from_};
    const ssize_t n = send_iov(stream_.get(), {&rest, 1});
    if (n == -1 && errno != EAGAIN) {
        broken_ = true;
        return;
    }
    if (n > 0) {
        kept_from_ += static_cast<size_t>(n);
        forwarded_ += static_cast<uint32_t>(n);
    }
    if (!flushed()) {
        if (kept_from_ >= kept_.size() / 2) {  // a host that keeps up only in part must not grow it
            kept_.erase(kept_.begin(), kept_.begin() + static_cast<std::ptrdiff_t>(kept_from_));
            kept_from_ = 0;
        }
        wait_writable();
        return;
    }
    kept_.clear();
    kept_from_ = 0;
    if (send_shut_) {
        ::shutdown(stream_.get(), SHUT_WR);
    }
}

void VsockConnection::guest_stopped_sending()
{
    if (!send_shut_ && flushed()) {
        ::shutdown(stream_.get(), SHUT_WR);
    }
    send_shut_ = true;
}

bool VsockConnection::credit_update_due() const
{
    return forwarded_ - reported_ >= kBufferBytes / 4;
}

uint32_t VsockConnection::credit() const
{
    const uint32_t in_flight = sent_ - peer_fwd_cnt_;
    return in_flight >= peer_buf_alloc_ ? 0 : peer_buf_alloc_ - in_flight;
}

bool VsockConnection::can_receive() const
{
    return open_ && readable_ && !end_ && !receive_shut_ && credit() > 0;
}

VsockConnection::Read VsockConnection::receive(std::span<const iovec> buffers, size_t* got)
{
    std::vector<iovec> iov(buffers.begin(), buffers.end());
    size_t room = credit();
    for (iovec& v : iov) {  // the guest's credit bounds the read, not its buffers
        v.iov_len = std::min(v.iov_len, room);
        room -= v.iov_len;
    }
    ssize_t n;
    do {
        n = ::readv(stream_.get(), iov.data(), static_cast<int>(std::min<size_t>(iov.size(), IOV_MAX)));
    } while (n == -1 && errno == EINTR);
    if (n > 0) {
        *got = static_cast<size_t>(n);
        sent_ += static_cast<uint32_t>(n);
        return Read::kData;
    }
    if (n == 0) {
        end_ = true;
        return Read::kEnd;
    }
    if (errno != EAGAIN) {
        return Read::kError;
    }
    readable_ = false;
    watch_->when_readable([this] {
        readable_ = true;
        auto wake = wake_;  // the device may drop this connection
        wake();
    });
    return Read::kLater;
}

}  // namespace vmruntime::dev
