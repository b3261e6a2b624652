// SPDX-License-Identifier: BSD-2-Clause
#include "vmruntime/runtime/virtio_devices.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <system_error>

#include "vmruntime/dev/virtio_blk.h"
#include "vmruntime/dev/virtio_net.h"
#include "vmruntime/runtime/fd_watch.h"

namespace vmruntime::runtime {
namespace {

constexpr size_t kMaxIdBytes = 20;

// Locally administered and unicast (02 first), the rest an FNV-1a hash of
// the machine's name and the card's index: stable across restarts.
std::array<uint8_t, 6> mac_for(const std::string& machine, size_t index)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (char c : machine + "/" + std::to_string(index)) {
        h = (h ^ static_cast<uint8_t>(c)) * 0x100000001b3ULL;
    }
    std::array<uint8_t, 6> mac{0x02};
    for (size_t i = 1; i < mac.size(); i++, h >>= 8) {
        mac[i] = static_cast<uint8_t>(h);
    }
    return mac;
}

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
                                                     const IrqLines& irqs, const Strand& strand, std::string* error)
{
    if (spec.disks.size() + spec.nets.size() + (spec.vsock ? 1 : 0) > kMaxDevices) {
        *error = "a machine has at most " + std::to_string(kMaxDevices) + " virtio devices";
        return nullptr;
    }
    std::unique_ptr<VirtioDevices> devices(new VirtioDevices(ram, ram_bytes));
    for (size_t i = 0; i < spec.disks.size(); i++) {
        if (!devices->add_disk(spec.disks[i], i, irqs, error)) {
            return nullptr;
        }
    }
    for (size_t i = 0; i < spec.nets.size(); i++) {
        if (!devices->add_net(spec.nets[i], spec.name, i, irqs, strand, error)) {
            return nullptr;
        }
    }
    if (spec.vsock && !devices->add_vsock(*spec.vsock, irqs, strand, error)) {
        return nullptr;
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
    files_.push_back(disk.file);
    std::string id = disk.id.empty() ? "vmruntime-disk" + std::to_string(index) : disk.id;
    Slot slot;
    slot.device = std::make_unique<dev::VirtioBlk>(disk.file->get(), static_cast<uint64_t>(bytes), disk.read_only,
                                                   std::move(id));
    add(std::move(slot), irqs);
    return true;
}

bool VirtioDevices::add_net(const NetSpec& net, const std::string& machine, size_t index, const IrqLines& irqs,
                            const Strand& strand, std::string* error)
{
    if (!net.tap || !*net.tap) {
        *error = "network card " + std::to_string(index) + " has no tap";
        return false;
    }
    if (net.mac[0] & 1) {
        *error = "network card " + std::to_string(index) + ": a multicast MAC address";
        return false;
    }
    files_.push_back(net.tap);
    const bool chosen = net.mac != std::array<uint8_t, 6>{};
    Slot slot;
    slot.watch = std::make_unique<StrandFdWatch>(strand, net.tap->get());
    slot.device = std::make_unique<dev::VirtioNet>(net.tap->get(), *slot.watch,
                                                   chosen ? net.mac : mac_for(machine, index));
    add(std::move(slot), irqs);
    return true;
}

bool VirtioDevices::add_vsock(const VsockSpec& vsock, const IrqLines& irqs, const Strand& strand,
                              std::string* error)
{
    if (vsock.cid < 3) {
        *error = "a vsock context ID is 3 or more (0 to 2 name the hypervisor and the host)";
        return false;
    }
    if (!vsock.listener || !*vsock.listener || !vsock.connect) {
        *error = "the vsock device has no host socket";
        return false;
    }
    files_.push_back(vsock.listener);
    Slot slot;
    slot.host = std::make_unique<VsockHost>(vsock, strand);
    slot.device = std::make_unique<dev::VirtioVsock>(vsock.cid, vsock.listener->get(), *slot.host);
    add(std::move(slot), irqs);
    return true;
}

std::unique_ptr<dev::FdWatch> VirtioDevices::VsockHost::watch(int fd)
{
    try {
        return std::make_unique<StrandFdWatch>(strand_, fd);
    } catch (const std::system_error&) {
        return nullptr;  // out of descriptors: the connection is refused
    }
}

void VirtioDevices::add(Slot slot, const IrqLines& irqs)
{
    const size_t index = slots_.size();
    slot.transport = std::make_unique<dev::VirtioMmio>(*slot.device, ram_, irqs(kIrqs[index]));
    if (!bus_.register_device(window_of(index), kWindow, *slot.transport)) {
        throw std::logic_error("virtio windows overlap");  // a bug in window_of
    }
    slots_.push_back(std::move(slot));
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
