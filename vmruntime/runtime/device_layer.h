// SPDX-License-Identifier: BSD-2-Clause
//
// The device layer: one Boost.Asio io_context run by a small pool of threads,
// shared by every machine of the process.  Each machine serializes its
// devices on a strand of it, so devices need no locks and no machine can
// block another's.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>

#include <thread>
#include <vector>

namespace vmruntime::runtime {

using Strand = boost::asio::strand<boost::asio::io_context::executor_type>;

class DeviceLayer {
public:
    explicit DeviceLayer(unsigned threads = 2);
    ~DeviceLayer();
    DeviceLayer(const DeviceLayer&) = delete;
    DeviceLayer& operator=(const DeviceLayer&) = delete;

    boost::asio::io_context& context() { return io_; }
    Strand make_strand() { return boost::asio::make_strand(io_); }

private:
    boost::asio::io_context io_;
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
    std::vector<std::thread> threads_;
};

}  // namespace vmruntime::runtime
