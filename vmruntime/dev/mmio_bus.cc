// SPDX-License-Identifier: BSD-2-Clause
#include "vmruntime/dev/mmio_bus.h"

namespace vmruntime::dev {

bool MmioBus::register_device(uint64_t base, uint64_t length, MmioDevice& device)
{
    if (length == 0 || base + length < base) {
        return false;
    }
    for (const Window& w : windows_) {
        if (base < w.base + w.length && w.base < base + length) {
            return false;
        }
    }
    windows_.push_back({base, length, &device});
    return true;
}

const MmioBus::Window* MmioBus::find(uint64_t gpa) const
{
    for (const Window& w : windows_) {
        if (gpa - w.base < w.length) {
            return &w;
        }
    }
    return nullptr;
}

uint64_t MmioBus::read(uint64_t gpa, unsigned size)
{
    const Window* w = find(gpa);
    return w ? w->device->read(gpa - w->base, size) : ~uint64_t{0};
}

void MmioBus::write(uint64_t gpa, unsigned size, uint64_t value)
{
    if (const Window* w = find(gpa)) {
        w->device->write(gpa - w->base, size, value);
    }
}

}  // namespace vmruntime::dev
