// SPDX-License-Identifier: BSD-2-Clause
//
// Two Intel 8259A programmable interrupt controllers wired as in the PC/AT:
// the master at ports 0x20/0x21 (IRQ 0-7), the slave at 0xa0/0xa1 (IRQ 8-15)
// with its INT output on master IR2, plus the PIIX edge/level control
// registers (ELCR) at 0x4d0/0x4d1.  Register and bit names follow the Intel
// 8259A datasheet (ICW1-ICW4, OCW1-OCW3); Linux's arch/x86/kernel/i8259.c is
// the guest driver this is checked against.
//
// Modelled: the ICW sequence (single/cascade, ICW4 or not, vector base,
// AEOI, special fully nested mode), IMR, non-specific/specific EOI and the
// rotation commands, IRR/ISR reads, the poll command, special mask mode,
// fixed and rotating priority, edge and level sensing, spurious IRQ 7/15 and
// the INTA sequence.  Not modelled: MCS-80 mode (ICW4 uPM=0 and ICW1 ADI are
// ignored: vectors are always 8086-style), buffered mode, and the slave ID in
// the slave's ICW3 (the slave answers any cascade acknowledge).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>

#include "vmruntime/dev/device.h"
#include "vmruntime/dev/device_state.h"

namespace vmruntime::dev {

// ICW1: written to the command port with bit 4 set.
inline constexpr uint8_t ICW1_IC4 = 0x01;   // ICW4 follows
inline constexpr uint8_t ICW1_SNGL = 0x02;  // single chip: no ICW3
inline constexpr uint8_t ICW1_ADI = 0x04;   // call address interval (MCS-80 only, ignored)
inline constexpr uint8_t ICW1_LTIM = 0x08;  // every input level-sensitive
inline constexpr uint8_t ICW1_INIT = 0x10;  // marks ICW1 on the command port

// ICW4
inline constexpr uint8_t ICW4_UPM = 0x01;   // 8086 mode (MCS-80 mode is not modelled)
inline constexpr uint8_t ICW4_AEOI = 0x02;  // automatic end of interrupt
inline constexpr uint8_t ICW4_MS = 0x04;    // buffered-mode master/slave (ignored)
inline constexpr uint8_t ICW4_BUF = 0x08;   // buffered mode (ignored)
inline constexpr uint8_t ICW4_SFNM = 0x10;  // special fully nested mode

// OCW2: R, SL and EOI in bits 7-5 select the command; L2-L0 the level.
inline constexpr uint8_t OCW2_LEVEL = 0x07;
inline constexpr unsigned OCW2_CMD_SHIFT = 5;
enum class Ocw2 : uint8_t {
    RotateAeoiClear = 0,       // clear rotate in automatic EOI mode
    NonSpecificEoi = 1,
    Nop = 2,
    SpecificEoi = 3,
    RotateAeoiSet = 4,         // set rotate in automatic EOI mode
    RotateNonSpecificEoi = 5,
    SetPriority = 6,           // L becomes the lowest priority
    RotateSpecificEoi = 7,
};

// OCW3: written to the command port with bit 3 set and bit 4 clear.
inline constexpr uint8_t OCW3_RIS = 0x01;   // read ISR (else IRR) when RR is set
inline constexpr uint8_t OCW3_RR = 0x02;    // RIS is valid
inline constexpr uint8_t OCW3_P = 0x04;     // poll: the next read is an acknowledge
inline constexpr uint8_t OCW3_SEL = 0x08;   // marks OCW3
inline constexpr uint8_t OCW3_SMM = 0x20;   // special mask mode on (off when clear)
inline constexpr uint8_t OCW3_ESMM = 0x40;  // SMM is valid

inline constexpr uint8_t PIC_POLL_INT = 0x80;  // poll word: a request was pending

inline constexpr unsigned kPicCascadeIrq = 2;   // master input the slave drives
inline constexpr unsigned kPicIrqCount = 16;
// ELCR bits the PIIX implements: IRQ 0, 1, 2, 8 and 13 are always edge.
inline constexpr uint8_t kElcrMasterMask = 0xf8;
inline constexpr uint8_t kElcrSlaveMask = 0xde;

// One chip's registers, named as in the datasheet.
struct PicChipState {
    enum class Init : uint8_t { Uninitialized, Ready, Icw2, Icw3, Icw4 };

    uint8_t irr = 0;          // interrupt request register
    uint8_t isr = 0;          // in-service register
    uint8_t imr = 0;          // interrupt mask register (OCW1)
    uint8_t lines = 0;        // input levels as last driven (edge detection)
    uint8_t elcr = 0;         // per-input level sensitivity (PIIX ELCR)
    uint8_t vector_base = 0;  // ICW2 T7-T3
    uint8_t icw3 = 0;         // master: inputs with a slave; slave: its ID
    uint8_t highest = 0;      // input with the highest priority (rotation)
    Init init = Init::Uninitialized;
    bool icw4_needed = false;
    bool single = false;
    bool ltim = false;
    bool auto_eoi = false;
    bool rotate_on_aeoi = false;
    bool sfnm = false;        // special fully nested mode
    bool read_isr = false;    // OCW3 RIS: command-port reads return ISR
    bool poll = false;        // OCW3 P: the next read is a poll
    bool special_mask = false;
};

// The master/slave pair.  Driven from the device strand only; the vCPU side
// (has_interrupt, acknowledge) is called through that strand too.
class Pic8259Pair {
public:
    Pic8259Pair();
    Pic8259Pair(const Pic8259Pair&) = delete;
    Pic8259Pair& operator=(const Pic8259Pair&) = delete;

    // Port devices: master at 0x20 and slave at 0xa0 (offset 0 = command,
    // 1 = data), ELCR at 0x4d0 (offset 0 = IRQ 0-7, 1 = IRQ 8-15).
    PioDevice& master() { return ports_[0]; }
    PioDevice& slave() { return ports_[1]; }
    PioDevice& elcr() { return elcr_port_; }

    // The request line for IRQ `irq` (0-15), for devices to hold.
    // Throws std::out_of_range for irq >= 16.
    IrqLine& line(unsigned irq) { return lines_.at(irq); }

    // Drives input `irq` (0-15) to `level`.  Edge-sensitive inputs latch a
    // request on a rising edge, which stays latched after the line falls
    // (so IrqLine::pulse() works); level-sensitive inputs request while high.
    // IRQ 2 is the cascade input, driven by the slave: requests on it and
    // on irq >= 16 are ignored.
    void set_irq(unsigned irq, bool level);

    // The master's INT output: an unmasked request outranks what is in service.
    bool has_interrupt() const { return intr_; }

    // The INTA sequence: returns the vector and moves the request to the
    // in-service register, through the slave for a cascaded request.  If the
    // request went away since INT rose (masked, or a level input dropped) it
    // returns the spurious vector of IRQ 7 (master base + 7) or IRQ 15 (slave
    // base + 7) without setting an ISR bit, as the 8259A does.  Returns
    // nullopt only while the master has not been given its ICW sequence: it
    // has no vector to supply.
    std::optional<uint8_t> acknowledge();

    // Called with the new INT level whenever it changes, after the state is
    // consistent (the observer may call back into the pair).
    void on_intr_change(std::function<void(bool)> observer) { observer_ = std::move(observer); }

    // Accesses of a width other than 1 or offsets the chip does not decode:
    // ignored (reads return all ones) and counted.
    uint64_t ignored_accesses() const { return ignored_accesses_; }

    // Snapshots: both chips' registers and input levels.  Restore tells
    // the observer the INT level they imply if it changed; false: the state
    // is not one the chips could reach, and the pair is to be dropped.
    void save(StateWriter& out) const;
    bool restore(StateReader& in);

private:
    class ChipPort final : public PioDevice {
    public:
        ChipPort(Pic8259Pair& pic, unsigned chip) : pic_(pic), chip_(chip) {}
        uint32_t read(uint16_t offset, unsigned size) override;
        void write(uint16_t offset, unsigned size, uint32_t value) override;

    private:
        Pic8259Pair& pic_;
        unsigned chip_;
    };

    class ElcrPort final : public PioDevice {
    public:
        explicit ElcrPort(Pic8259Pair& pic) : pic_(pic) {}
        uint32_t read(uint16_t offset, unsigned size) override;
        void write(uint16_t offset, unsigned size, uint32_t value) override;

    private:
        Pic8259Pair& pic_;
    };

    class Line final : public IrqLine {
    public:
        void set_level(bool high) override { pic_->set_irq(irq_, high); }

    private:
        friend class Pic8259Pair;
        Pic8259Pair* pic_ = nullptr;
        unsigned irq_ = 0;
    };

    uint8_t read_chip(unsigned chip, uint16_t offset);
    void write_chip(unsigned chip, uint16_t offset, uint8_t value);
    void write_elcr(unsigned chip, uint8_t value);
    uint8_t poll(PicChipState& c);
    bool cascades(unsigned master_irq) const;
    void update();

    std::array<PicChipState, 2> chips_{};  // [0] master, [1] slave
    std::array<ChipPort, 2> ports_{ChipPort{*this, 0}, ChipPort{*this, 1}};
    ElcrPort elcr_port_{*this};
    std::array<Line, kPicIrqCount> lines_{};
    std::function<void(bool)> observer_;
    bool intr_ = false;
    uint64_t ignored_accesses_ = 0;
};

}  // namespace vmruntime::dev
