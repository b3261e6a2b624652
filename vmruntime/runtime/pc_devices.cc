// SPDX-License-Identifier: BSD-2-Clause
//
// Port map and IRQ routing of the PC/AT: PIT on IRQ 0, COM1 on IRQ 4, the
// keyboard controller on IRQ 1 and 12, the RTC on IRQ 8.  The PIC, the PIT
// and port 0x61 share one lock and are reached from the vCPU thread too.
#include "vmruntime/runtime/pc_devices.h"

#include <stdexcept>

namespace vmruntime::runtime {
namespace {

constexpr uint16_t kPicMaster = 0x20;
constexpr uint16_t kPicSlave = 0xA0;
constexpr uint16_t kElcr = 0x4D0;
constexpr uint16_t kPit = 0x40;
constexpr uint16_t kPort61 = 0x61;
constexpr uint16_t kCom1 = 0x3F8;
constexpr uint16_t kRtc = 0x70;
constexpr uint16_t kI8042Data = 0x60;
constexpr uint16_t kI8042Command = 0x64;
constexpr uint16_t kPciConfig = 0xCF8;

constexpr unsigned kIrqs = 16;

// Reserved first: the lines' addresses must not move once devices hold them.
std::vector<LockedIrqLine> locked_lines(std::mutex& mutex, dev::Pic8259Pair& pic)
{
    std::vector<LockedIrqLine> lines;
    lines.reserve(kIrqs);
    for (unsigned irq = 0; irq < kIrqs; irq++) {
        lines.emplace_back(mutex, pic.line(irq));
    }
    return lines;
}

}  // namespace

uint32_t LockedPort::read(uint16_t offset, unsigned size)
{
    std::lock_guard lock(mutex_);
    return device_.read(offset, size);
}

void LockedPort::write(uint16_t offset, unsigned size, uint32_t value)
{
    std::lock_guard lock(mutex_);
    device_.write(offset, size, value);
}

void LockedIrqLine::set_level(bool high)
{
    std::lock_guard lock(mutex_);
    line_.set_level(high);
}

PcDevices::PcDevices(std::string_view machine, const Strand& strand, dev::Clock& clock,
                     dev::ByteSink& console, PlatformEvents events)
    : events_(std::move(events)),
      guest_log_(machine, clock),
      pic_master_(pic_mutex_, pic_.master()),
      pic_slave_(pic_mutex_, pic_.slave()),
      pic_elcr_(pic_mutex_, pic_.elcr()),
      irq_(locked_lines(pic_mutex_, pic_)),
      pit_timer_(pic_mutex_, clock, strand),
      rtc_timer_(strand),
      pit_(clock, pit_timer_, pic_.line(0)),
      port61_(pit_),
      pit_port_(pic_mutex_, pit_),
      port61_port_(pic_mutex_, port61_),
      uart_(irq_[4], console),
      rtc_(clock, rtc_timer_, irq_[8]),
      i8042_(irq_[1], irq_[12], [this] { events_.reset(); }),
      debug_exit_([this](uint32_t status) { events_.power_off(status); })
{
    // Called with pic_mutex_ held: the observer must not come back.
    pic_.on_intr_change([this](bool level) { events_.intr(level); });
    wire();
}

void PcDevices::wire()
{
    bool ok = bus_.register_device(kPicMaster, 2, pic_master_) &&
              bus_.register_device(kPicSlave, 2, pic_slave_) &&
              bus_.register_device(kElcr, 2, pic_elcr_) &&
              bus_.register_device(kPit, 4, pit_port_) &&
              bus_.register_device(kPort61, 1, port61_port_) &&
              bus_.register_device(kCom1, 8, uart_) &&
              bus_.register_device(kRtc, 2, rtc_) &&
              bus_.register_device(kI8042Data, 1, i8042_.data_port()) &&
              bus_.register_device(kI8042Command, 1, i8042_.command_port()) &&
              bus_.register_device(dev::kPostCodePort, 1, post_) &&
              bus_.register_device(dev::kDefaultDebugExitPort, 1, debug_exit_) &&
              bus_.register_device(kPciConfig, 8, pci_);
    if (!ok) {
        throw std::logic_error("PC port map overlaps");  // a bug in the table above
    }
}

bool PcDevices::is_vcpu_port(uint16_t port)
{
    const uint16_t pair = port & ~1;
    return pair == kPicMaster || pair == kPicSlave || pair == kElcr || (port & ~3) == kPit || port == kPort61;
}

// The bus holds the locked wrappers of these ports; finding a claimed port
// only reads its map, so the vCPU thread may share it with the strand.
uint32_t PcDevices::vcpu_read(uint16_t port, unsigned size)
{
    return bus_.read(port, size);
}

void PcDevices::vcpu_write(uint16_t port, unsigned size, uint32_t value)
{
    bus_.write(port, size, value);
}

// The PIC first: the others' restores drive its inputs.  The devices the
// vCPU reaches are taken under their lock; the others drive the PIC through
// locked lines, so they are not.
template <class Fn>
void PcDevices::each_saved_device(Fn fn)
{
    auto locked = [&](const char* name, auto& device) {
        std::lock_guard lock(pic_mutex_);
        fn(name, device);
    };
    locked("pic", pic_);
    locked("pit", pit_);
    locked("port61", port61_);
    fn("uart", uart_);
    fn("rtc", rtc_);
    fn("i8042", i8042_);
    fn("pci", pci_);
    fn("post", post_);
}

bool PcDevices::saves(std::string_view name)
{
    for (const char* saved : {"pic", "pit", "port61", "uart", "rtc", "i8042", "pci", "post"}) {
        if (name == saved) {
            return true;
        }
    }
    return false;
}

void PcDevices::save(SnapshotSections& out)
{
    each_saved_device([&](const char* name, auto& device) {
        dev::StateWriter w;
        device.save(w);
        out.add(name, w.bytes());
    });
}

bool PcDevices::restore(const SnapshotSections& in, std::string* error)
{
    bool ok = true;
    each_saved_device([&](const char* name, auto& device) {
        const std::vector<uint8_t>* bytes = in.find(name);
        if (!ok) {
            return;
        }
        dev::StateReader r(bytes ? std::span<const uint8_t>(*bytes) : std::span<const uint8_t>());
        if (!bytes || !device.restore(r) || !r.done()) {
            *error = std::string("snapshot: the ") + name + (bytes ? " state is invalid" : " state is missing");
            ok = false;
        }
    });
    return ok;
}

std::optional<uint8_t> PcDevices::acknowledge()
{
    std::lock_guard lock(pic_mutex_);
    return pic_.acknowledge();
}

}  // namespace vmruntime::runtime
