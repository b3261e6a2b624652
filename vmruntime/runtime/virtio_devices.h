// SPDX-License-Identifier: BSD-2-Clause
//
// A machine's virtio-mmio devices: one 4 KiB window each, from kBase up
// (above the largest RAM, below 4 GiB), each on a PIC line of its own that
// the PC leaves free, announced to Linux on its command line
// (virtio_mmio.device=4K@ADDR:IRQ), so that no ACPI table or device tree is
// needed.  Lives on the machine's device strand, like PcDevices; only
// claims() is asked from vCPU threads (the windows never move).
#pragma once

#include <cstdint>
#include <functional>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "vmruntime/dev/mmio_bus.h"
#include "vmruntime/dev/virtio_mmio.h"
#include "vmruntime/dev/virtio_vsock.h"
#include "vmruntime/runtime/device_layer.h"
#include "vmruntime/runtime/machine_spec.h"

namespace vmruntime::runtime {

class VirtioDevices {
public:
    static constexpr uint64_t kBase = 0xD0000000;
    static constexpr uint64_t kWindow = dev::VirtioMmio::kWindowSize;
    // The lines the PC's own devices and the cascade leave free, without
    // 7 and 15, which the PIC also raises for spurious interrupts.
    static constexpr unsigned kIrqs[] = {5, 6, 9, 10, 11, 14, 3};
    static constexpr size_t kMaxDevices = std::size(kIrqs);

    using IrqLines = std::function<dev::IrqLine&(unsigned irq)>;

    // The devices of `spec` on guest RAM [ram, ram + ram_bytes), their host
    // descriptors watched on `strand`; nullptr and a message for devices
    // that cannot be.
    static std::unique_ptr<VirtioDevices> create(const MachineSpec& spec, uint8_t* ram, uint64_t ram_bytes,
                                                 const IrqLines& irqs, const Strand& strand, std::string* error);

    // What the guest kernel's command line gains: " virtio_mmio.device=..."
    // per device, or nothing.
    std::string cmdline() const;

    bool claims(uint64_t gpa) const { return bus_.claims(gpa); }
    uint64_t read(uint64_t gpa, unsigned size) { return bus_.read(gpa, size); }
    void write(uint64_t gpa, unsigned size, uint64_t value) { bus_.write(gpa, size, value); }

private:
    class Ram final : public dev::GuestRam {
    public:
        Ram(uint8_t* base, uint64_t bytes) : base_(base), bytes_(bytes) {}
        std::span<uint8_t> at(uint64_t gpa, uint64_t len) override;

    private:
        uint8_t* base_;
        uint64_t bytes_;
    };
    // How a vsock device reaches the host: the spec's connect, and
    // readiness on the strand.
    class VsockHost final : public dev::VirtioVsock::Host {
    public:
        VsockHost(VsockSpec spec, const Strand& strand) : spec_(std::move(spec)), strand_(strand) {}
        base::UniqueFd connect(uint32_t port) override { return spec_.connect(port); }
        std::unique_ptr<dev::FdWatch> watch(int fd) override;

    private:
        VsockSpec spec_;
        Strand strand_;
    };
    struct Slot {  // the transport goes first, then the device it drives
        std::unique_ptr<dev::FdWatch> watch;  // what the device waits on, if anything
        std::unique_ptr<VsockHost> host;      // a vsock device's
        std::unique_ptr<dev::VirtioDevice> device;
        std::unique_ptr<dev::VirtioMmio> transport;
    };

    VirtioDevices(uint8_t* ram, uint64_t ram_bytes) : ram_(ram, ram_bytes) {}
    bool add_disk(const DiskSpec& disk, size_t index, const IrqLines& irqs, std::string* error);
    bool add_net(const NetSpec& net, const std::string& machine, size_t index, const IrqLines& irqs,
                 const Strand& strand, std::string* error);
    bool add_vsock(const VsockSpec& vsock, const IrqLines& irqs, const Strand& strand, std::string* error);
    void add(Slot slot, const IrqLines& irqs);

    Ram ram_;
    std::vector<std::shared_ptr<const base::UniqueFd>> files_;  // the devices' descriptors, kept open
    std::vector<Slot> slots_;
    dev::MmioBus bus_;
};

}  // namespace vmruntime::runtime
