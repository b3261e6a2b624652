// SPDX-License-Identifier: BSD-2-Clause
#include "vmruntime/runtime/device_layer.h"

#include <pthread.h>

#include <string>

namespace vmruntime::runtime {

DeviceLayer::DeviceLayer(unsigned threads) : work_(boost::asio::make_work_guard(io_))
{
    for (unsigned i = 0; i < (threads ? threads : 1); i++) {
        threads_.emplace_back([this, i] {
            std::string name = "dev-" + std::to_string(i);
            pthread_setname_np(pthread_self(), name.c_str());
            io_.run();
        });
    }
}

DeviceLayer::~DeviceLayer()
{
    work_.reset();
    io_.stop();
    for (auto& t : threads_) {
        t.join();
    }
}

}  // namespace vmruntime::runtime
