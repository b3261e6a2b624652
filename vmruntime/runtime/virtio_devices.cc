// SPDX-License-Identifier: BSD-2-Clause
#include "vmruntime/runtime/virtio_devices.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include "vmruntime/dev/virtio_blk.h"

namespace vmruntime::runtime {
namespace {

constexpr size_t kMaxIdBytes = 20;

uint64_t window_of(size_t index)
{
    return VirtioDevices::kBase + index * VirtioDevices::kWindow;
}

}  // namespace

std::span<uint8_t> VirtioDevices::Ram::at(uint64_t gpa, uint64_t len)
{
    if (len == 0 || gpa > bytes_ || len > bytes_ - gpa) {
        return {};
    }
    return {base_ + gpa, len};
}

std::unique_ptr<VirtioDevices> VirtioDevices::create(const MachineSpec& spec, uint8_t* ram, uint64_t ram_bytes,
                                                     const IrqLines& irqs, std::string* error)
{
    if (spec.disks.size() > kMaxDevices) {
        *error = "a machine has at most " + std::to_string(kMaxDevices) + " virtio devices";
        return nullptr;
    }
    std::unique_ptr<VirtioDevices> devices(new VirtioDevices(ram, ram_bytes));
    for (size_t i = 0; i < spec.disks.size(); i++) {
        if (!devices->add_disk(spec.disks[i], i, irqs, error)) {
            return nullptr;
        }
    }
    return devices;
}

bool VirtioDevices::add_disk(const DiskSpec& disk, size_t index, const IrqLines& irqs, std::string* error)
{
    const std::string name = "disk " + std::to_string(index);
    if (!disk.file || !*disk.file) {
        *error = name + " has no file";
        return false;
    }
    if (disk.id.size() > kMaxIdBytes) {
        *error = name + ": an id has at most 20 bytes";
        return false;
    }
    const off_t bytes = ::lseek(disk.file->get(), 0, SEEK_END);
    if (bytes == -1) {
        *error = name + ": " + std::strerror(errno);
        return false;
    }
    if (static_cast<uint64_t>(bytes) < dev::VirtioBlk::kSectorSize) {
        *error = name + " is smaller than one 512-byte sector";
        return false;
    }
    disks_.push_back(disk);
    std::string id = disk.id.empty() ? "vmruntime-disk" + std::to_string(index) : disk.id;
    add(std::make_unique<dev::VirtioBlk>(disk.file->get(), static_cast<uint64_t>(bytes), disk.read_only,
                                         std::move(id)),
        irqs);
    return true;
}

void VirtioDevices::add(std::unique_ptr<dev::VirtioDevice> device, const IrqLines& irqs)
{
    const size_t index = slots_.size();
    auto transport = std::make_unique<dev::VirtioMmio>(*device, ram_, irqs(kIrqs[index]));
    if (!bus_.register_device(window_of(index), kWindow, *transport)) {
        throw std::logic_error("virtio windows overlap");  // a bug in window_of
    }
    slots_.push_back({std::move(device), std::move(transport)});
}

std::string VirtioDevices::cmdline() const
{
    std::string line;
    for (size_t i = 0; i < slots_.size(); i++) {
        char arg[64];
        std::snprintf(arg, sizeof arg, " virtio_mmio.device=4K@0x%llx:%u",
                      static_cast<unsigned long long>(window_of(i)), kIrqs[i]);
        line += arg;
    }
    return line;
}

}  // namespace vmruntime::runtime
