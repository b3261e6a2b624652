// SPDX-License-Identifier: BSD-2-Clause
#include "vmruntime/dev/virtio_chain.h"

#include <algorithm>
#include <cstring>

namespace vmruntime::dev {

bool chain_iovecs(const Virtqueue::Chain& chain, bool writable, size_t skip, std::vector<iovec>& out, size_t limit)
{
    out.clear();
    for (const auto& s : chain.segments) {
        if (s.device_writable != writable) continue;
        const size_t cut = std::min(skip, s.bytes.size());
        skip -= cut;
        const size_t n = std::min(s.bytes.size() - cut, limit);
        if (n > 0) {
            out.push_back({s.bytes.data() + cut, n});
            limit -= n;
        }
    }
    return skip == 0;
}

bool chain_read(const Virtqueue::Chain& chain, std::span<uint8_t> out)
{
    size_t done = 0;
    for (const auto& s : chain.segments) {
        if (s.device_writable || done == out.size()) continue;
        const size_t n = std::min(s.bytes.size(), out.size() - done);
        std::memcpy(out.data() + done, s.bytes.data(), n);
        done += n;
    }
    return done == out.size();
}

bool chain_write(const Virtqueue::Chain& chain, std::span<const uint8_t> bytes)
{
    size_t done = 0;
    for (const auto& s : chain.segments) {
        if (!s.device_writable || done == bytes.size()) continue;
        const size_t n = std::min(s.bytes.size(), bytes.size() - done);
        std::memcpy(s.bytes.data(), bytes.data() + done, n);
        done += n;
    }
    return done == bytes.size();
}

}  // namespace vmruntime::dev
