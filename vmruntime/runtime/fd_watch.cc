// SPDX-License-Identifier: BSD-2-Clause
#include "vmruntime/runtime/fd_watch.h"

#include <fcntl.h>

#include <cerrno>
#include <system_error>

namespace vmruntime::runtime {
namespace {

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
    : descriptor_(strand, duplicate(fd)), generation_(std::make_shared<Generation>())
{
}

StrandFdWatch::~StrandFdWatch()
{
    generation_->alive = false;
}

void StrandFdWatch::when_readable(std::function<void()> fire)
{
    const uint64_t generation = ++generation_->value;
    descriptor_.cancel();
    descriptor_.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                           [state = generation_, generation, fire = std::move(fire)](const boost::system::error_code& ec) {
                               if (!ec && state->alive && generation == state->value) {
                                   fire();
                               }
                           });
}

void StrandFdWatch::cancel()
{
    ++generation_->value;
    descriptor_.cancel();
}

}  // namespace vmruntime::runtime
