// SPDX-License-Identifier: BSD-2-Clause
#include "vmruntime/runtime/fd_watch.h"

#include <fcntl.h>

#include <cerrno>
#include <system_error>
#include <utility>

namespace vmruntime::runtime {
namespace {

constexpr int kRead = 0, kWrite = 1;

int duplicate(int fd)
{
    int copy = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (copy == -1) {
        throw std::system_error(errno, std::generic_category(), "dup");
    }
    return copy;
}

}  // namespace

StrandFdWatch::StrandFdWatch(const Strand& strand, int fd)
    : descriptor_(strand, duplicate(fd)), state_(std::make_shared<State>())
{
}

StrandFdWatch::~StrandFdWatch()
{
    state_->alive = false;
}

void StrandFdWatch::when_readable(std::function<void()> fire)
{
    wait(kRead, std::move(fire));
}

void StrandFdWatch::when_writable(std::function<void()> fire)
{
    wait(kWrite, std::move(fire));
}

void StrandFdWatch::wait(int direction, std::function<void()> fire)
{
    state_->fire[direction] = std::move(fire);
    if (state_->waiting[direction]) {
        return;
    }
    state_->waiting[direction] = true;
    const auto type = direction == kRead ? boost::asio::posix::stream_descriptor::wait_read
                                         : boost::asio::posix::stream_descriptor::wait_write;
    descriptor_.async_wait(type, [state = state_, direction](const boost::system::error_code& ec) {
        state->waiting[direction] = false;
        if (ec || !state->alive) {
            return;
        }
        if (auto fire = std::exchange(state->fire[direction], nullptr)) {
            fire();
        }
    });
}

void StrandFdWatch::cancel()
{
    state_->fire[kRead] = nullptr;
    state_->fire[kWrite] = nullptr;
}

}  // namespace vmruntime::runtime
