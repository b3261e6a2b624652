// SPDX-License-Identifier: BSD-2-Clause
//
// dev::FdWatch on the device layer: Asio's reactor waits for the
// descriptor and runs the device's callback on the machine's strand.
#pragma once

#include <boost/asio/posix/stream_descriptor.hpp>

#include <functional>
#include <memory>

#include "vmruntime/dev/device.h"
#include "vmruntime/runtime/device_layer.h"

namespace vmruntime::runtime {

class StrandFdWatch final : public dev::FdWatch {
public:
    // Watches `fd` (not owned: the watch holds a duplicate of its own).
    // Throws std::system_error if it cannot be duplicated.
    StrandFdWatch(const Strand& strand, int fd);
    ~StrandFdWatch() override;

    void when_readable(std::function<void()> fire) override;
    void when_writable(std::function<void()> fire) override;
    void cancel() override;

private:
    // Shared with the reactor's pending waits, which may complete after
    // the watch is gone.  A wait stays pending until the descriptor is
    // ready whatever the callbacks become: replacing or dropping a callback
    // only changes what its completion finds.
    struct State {
        std::function<void()> fire[2];  // read, write
        bool waiting[2] = {};
        bool alive = true;
    };

    void wait(int direction, std::function<void()> fire);

    boost::asio::posix::stream_descriptor descriptor_;
    std::shared_ptr<State> state_;
};

}  // namespace vmruntime::runtime
