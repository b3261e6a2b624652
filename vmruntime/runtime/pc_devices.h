// SPDX-License-Identifier: BSD-2-Clause
//
// The legacy PC platform of a machine: 8259A pair, 8254 PIT with port 0x61,
// 16550A on COM1, CMOS RTC, i8042, POST port 0x80, the debug-exit port and
// an empty PCI configuration space, wired to one port bus.  Lives on the
// machine's device strand and must be destroyed there.
//
// The interrupt controller and the timer that drives it are the exception:
// their ports, the interrupt acknowledge and the timer's expiry are in the
// path of every tick, so the vCPU thread reaches them directly (as KVM's
// in-kernel irqchip and PIT do) instead of through the strand, which would
// cost a thread round trip per access.  A mutex of their own serializes them
// between the vCPU and the devices that drive the PIC's other inputs.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "vmruntime/dev/cmos_rtc.h"
#include "vmruntime/dev/debug_port.h"
#include "vmruntime/dev/guest_log.h"
#include "vmruntime/dev/i8042.h"
#include "vmruntime/dev/io_bus.h"
#include "vmruntime/dev/pci_config.h"
#include "vmruntime/dev/pic8259.h"
#include "vmruntime/dev/pit8254.h"
#include "vmruntime/dev/port61.h"
#include "vmruntime/dev/uart16550.h"
#include "vmruntime/runtime/host_time.h"
#include "vmruntime/runtime/snapshot_file.h"
#include "vmruntime/runtime/vcpu_timer.h"

namespace vmruntime::runtime {

struct PlatformEvents {
    std::function<void(uint32_t status)> power_off;  // debug-exit port
    std::function<void()> reset;                     // i8042 reset line
    std::function<void(bool level)> intr;            // the PIC's INT output
};

// A device taken under a lock, for the interrupt controller's ports and
// inputs.
class LockedPort final : public dev::PioDevice {
public:
    LockedPort(std::mutex& mutex, dev::PioDevice& device) : mutex_(mutex), device_(device) {}
    uint32_t read(uint16_t offset, unsigned size) override;
    void write(uint16_t offset, unsigned size, uint32_t value) override;

private:
    std::mutex& mutex_;
    dev::PioDevice& device_;
};

class LockedIrqLine final : public dev::IrqLine {
public:
    LockedIrqLine(std::mutex& mutex, dev::IrqLine& line) : mutex_(mutex), line_(line) {}
    void set_level(bool high) override;

private:
    std::mutex& mutex_;
    dev::IrqLine& line_;
};

class PcDevices {
public:
    // `machine` names the machine in what its guest makes the host log.
    PcDevices(std::string_view machine, const Strand& strand, dev::Clock& clock, dev::ByteSink& console,
              PlatformEvents events);

    // On the strand: every port but the interrupt controller's.
    uint32_t read(uint16_t port, unsigned size) { return bus_.read(port, size); }
    void write(uint16_t port, unsigned size, uint32_t value) { bus_.write(port, size, value); }
    size_t push_input(std::span<const uint8_t> bytes) { return uart_.push_input(bytes); }
    bool press_ctrl_alt_del() { return i8042_.press_ctrl_alt_del(); }

    // From any thread (the vCPU's): the PIC, the PIT and port 0x61, whose
    // devices take pic_mutex_.
    static bool is_vcpu_port(uint16_t port);
    uint32_t vcpu_read(uint16_t port, unsigned size);
    void vcpu_write(uint16_t port, unsigned size, uint32_t value);
    std::optional<uint8_t> acknowledge();

    // On the vCPU thread that takes the PIC's interrupts: the PIT's
    // expiries signal it with `signal`, or call `wake` (see VcpuTimer),
    // until detach.
    void attach_timer(int signal, std::function<void()> wake) { pit_timer_.attach(signal, std::move(wake)); }
    void detach_timer() { pit_timer_.detach(); }
    void expire_timer() { pit_timer_.expire_due(); }
    std::optional<std::chrono::nanoseconds> timer_deadline() const { return pit_timer_.deadline(); }

    // PIC input `irq` (0-15), for devices on the strand beyond the PC's own.
    dev::IrqLine& irq_line(unsigned irq) { return irq_.at(irq); }

    // From any thread: what the guest did that the platform refused.
    dev::GuestLog& guest_log() { return guest_log_; }

    // Snapshots, on the strand while no vCPU runs: each device's state as
    // a section of its own.  Restore replaces what the devices hold; false,
    // with the device that refused its state in `error`, leaves them to be
    // dropped (a reset restores only a state that was restored once).
    void save(SnapshotSections& out);
    bool restore(const SnapshotSections& in, std::string* error);
    // Whether `name` is a section save() writes.
    static bool saves(std::string_view name);

private:
    void wire();
    // The devices a snapshot holds, by section name.
    template <class Fn>
    void each_saved_device(Fn fn);

    PlatformEvents events_;
    dev::GuestLog guest_log_;
    std::mutex pic_mutex_;
    dev::Pic8259Pair pic_;
    LockedPort pic_master_;
    LockedPort pic_slave_;
    LockedPort pic_elcr_;
    std::vector<LockedIrqLine> irq_;  // the PIC's inputs as devices drive them
    VcpuTimer pit_timer_;
    StrandTimer rtc_timer_;
    dev::Pit8254 pit_;  // called under pic_mutex_ only, so it drives IRQ 0 unlocked
    dev::Port61 port61_;
    LockedPort pit_port_;
    LockedPort port61_port_;
    dev::Uart16550 uart_;
    dev::CmosRtc rtc_;
    dev::I8042 i8042_;
    dev::PostCodePort post_;
    dev::DebugExitPort debug_exit_;
    dev::PciConfig pci_;
    dev::IoBus bus_{guest_log_};
};

}  // namespace vmruntime::runtime
