// SPDX-License-Identifier: BSD-2-Clause
//
// The POST code latch and the debug-exit port.
#include "vmruntime/dev/debug_port.h"

#include <utility>

#include "vmruntime/base/log.h"
#include "vmruntime/dev/io_bus.h"

namespace vmruntime::dev {

uint32_t PostCodePort::read(uint16_t offset, unsigned size)
{
    if (offset != 0 || size != 1) {
        return all_ones(size);
    }
    return last_;
}

// Only a change is logged: Linux's I/O delay writes the same byte over and
// over.
void PostCodePort::write(uint16_t offset, unsigned size, uint32_t value)
{
    if (offset != 0 || size != 1) {
        return;
    }
    ++writes_;
    const auto code = static_cast<uint8_t>(value);
    if (code != last_) {
        base::log_debug("post", "POST code ", base::hex(code));
    }
    last_ = code;
}

void PostCodePort::save(StateWriter& out) const
{
    out.put(last_);
}

bool PostCodePort::restore(StateReader& in)
{
    last_ = in.get<uint8_t>();
    return in.ok();
}

DebugExitPort::DebugExitPort(std::function<void(uint32_t)> power_off) : power_off_(std::move(power_off))
{
}

uint32_t DebugExitPort::read(uint16_t, unsigned size)
{
    return all_ones(size);
}

void DebugExitPort::write(uint16_t offset, unsigned size, uint32_t value)
{
    if (offset != 0 || (size != 1 && size != 2 && size != 4)) {
        return;
    }
    if (power_off_) {
        power_off_(value & all_ones(size));
    }
}

}  // namespace vmruntime::dev
