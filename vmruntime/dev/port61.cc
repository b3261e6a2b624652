// SPDX-License-Identifier: BSD-2-Clause
//
// System Control Port B (port 0x61): PIT GATE2/OUT2 and the refresh toggle.
#include "vmruntime/dev/port61.h"

namespace vmruntime::dev {

// The refresh bit flips on every read rather than every 15 us: code that
// polls it for a change (old delay loops) then always makes progress, and
// nothing can measure time with it.
uint32_t Port61::read(uint16_t offset, unsigned size)
{
    if (offset != 0 || size != 1) {
        ++ignored_accesses_;
        return ~0u;
    }
    refresh_ = !refresh_;
    return control_ | (refresh_ ? PORT61_REFRESH : 0) | (pit_.output(2) ? PORT61_TIM2_OUT : 0);
}

void Port61::write(uint16_t offset, unsigned size, uint32_t value)
{
    if (offset != 0 || size != 1) {
        ++ignored_accesses_;
        return;
    }
    control_ = value & PORT61_WRITABLE;
    pit_.set_gate(2, control_ & PORT61_TIM2_GATE);
}

void Port61::save(StateWriter& out) const
{
    out.put(control_);
    out.put(refresh_);
}

bool Port61::restore(StateReader& in)
{
    control_ = in.get<uint8_t>();
    refresh_ = in.get<bool>();
    const bool gate = (control_ & PORT61_TIM2_GATE) != 0;
    return in.check((control_ & ~PORT61_WRITABLE) == 0 && gate == pit_.gate(2));
}

}  // namespace vmruntime::dev
