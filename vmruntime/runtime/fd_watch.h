// SPDX-License-Identifier: BSD-2-Clause
//
// dev::FdWatch on the device layer: Asio's reactor waits for the
// descriptor and runs the device's callback on the machine's strand.
#pragma once

#include <boost/asio/posix/stream_descriptor.hpp>

#include <cstdint>
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
    void cancel() override;

private:
    struct Generation {
        uint64_t value = 0;
        bool alive = true;
    };

    boost::asio::posix::stream_descriptor descriptor_;
    // As StrandTimer's: a completion from an older wait is stale.
    std::shared_ptr<Generation> generation_;
};

}  // namespace vmruntime::runtime
