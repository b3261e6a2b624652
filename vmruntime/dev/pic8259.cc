// SPDX-License-Identifier: BSD-2-Clause
//
// Intel 8259A PIC pair (0x20/0x21, 0xa0/0xa1, slave on master IR2) and the
// PIIX ELCR (0x4d0/0x4d1).  Priority, EOI and acknowledge work on one chip's
// PicChipState; the pair wires the slave's INT into master IR2 and the
// master's INT to the vCPU side.  Names follow the 8259A datasheet.
#include "vmruntime/dev/pic8259.h"

namespace vmruntime::dev {

namespace {

constexpr unsigned kNoRequest = 8;  // priority() result when no bit is set
constexpr unsigned kSpuriousIrq = 7;
constexpr uint8_t kAllOnes = 0xff;

uint8_t bit(unsigned irq)
{
    return static_cast<uint8_t>(1u << (irq & 7));
}

// Priority level (0 = highest) of the highest-priority bit in `mask`,
// counting from the input that currently has the highest priority.
unsigned priority(const PicChipState& c, uint8_t mask)
{
    for (unsigned p = 0; p < 8; ++p) {
        if (mask & bit(c.highest + p)) {
            return p;
        }
    }
    return kNoRequest;
}

unsigned irq_at(const PicChipState& c, unsigned prio)
{
    return (c.highest + prio) & 7;
}

uint8_t level_sensitive(const PicChipState& c)
{
    return c.ltim ? kAllOnes : c.elcr;
}

// The input the chip would deliver now, if any: the highest-priority
// unmasked request that outranks every input in service.  In special mask
// mode masked in-service inputs do not block; in special fully nested mode
// the master lets its cascade input interrupt itself, so a slave request of
// higher priority can nest.
std::optional<unsigned> pending_irq(const PicChipState& c, bool is_master)
{
    if (c.init != PicChipState::Init::Ready) {
        return std::nullopt;
    }
    unsigned req = priority(c, c.irr & ~c.imr);
    if (req == kNoRequest) {
        return std::nullopt;
    }
    uint8_t in_service = c.isr;
    if (c.special_mask) {
        in_service &= ~c.imr;
    }
    if (is_master && c.sfnm) {
        in_service &= ~bit(kPicCascadeIrq);
    }
    if (req >= priority(c, in_service)) {
        return std::nullopt;
    }
    return irq_at(c, req);
}

// The chip's half of INTA (or of a poll): the request becomes in service,
// or with AEOI is done at once.  A level-sensitive IRR bit follows its line.
void intack(PicChipState& c, unsigned irq)
{
    if (c.auto_eoi) {
        if (c.rotate_on_aeoi) {
            c.highest = (irq + 1) & 7;
        }
    } else {
        c.isr |= bit(irq);
    }
    if (!(level_sensitive(c) & bit(irq))) {
        c.irr &= ~bit(irq);
    }
}

void end_of_interrupt(PicChipState& c, unsigned irq, bool rotate)
{
    c.isr &= ~bit(irq);
    if (rotate) {
        c.highest = (irq + 1) & 7;  // the serviced input becomes lowest
    }
}

void non_specific_eoi(PicChipState& c, bool rotate)
{
    unsigned p = priority(c, c.isr);
    if (p != kNoRequest) {
        end_of_interrupt(c, irq_at(c, p), rotate);
    }
}

void write_ocw2(PicChipState& c, uint8_t value)
{
    unsigned level = value & OCW2_LEVEL;
    switch (static_cast<Ocw2>(value >> OCW2_CMD_SHIFT)) {
    case Ocw2::RotateAeoiClear: c.rotate_on_aeoi = false; break;
    case Ocw2::RotateAeoiSet: c.rotate_on_aeoi = true; break;
    case Ocw2::NonSpecificEoi: non_specific_eoi(c, false); break;
    case Ocw2::RotateNonSpecificEoi: non_specific_eoi(c, true); break;
    case Ocw2::SpecificEoi: end_of_interrupt(c, level, false); break;
    case Ocw2::RotateSpecificEoi: end_of_interrupt(c, level, true); break;
    case Ocw2::SetPriority: c.highest = (level + 1) & 7; break;
    case Ocw2::Nop: break;
    }
}

void write_ocw3(PicChipState& c, uint8_t value)
{
    if (value & OCW3_ESMM) {
        c.special_mask = value & OCW3_SMM;
    }
    if (value & OCW3_RR) {
        c.read_isr = value & OCW3_RIS;
    }
    c.poll = value & OCW3_P;
}

// ICW1 resets the chip: IMR and ISR clear, IR0 highest, IRR selected for
// reads, special mask mode off, and the edge-sense latches reset so an input
// already high must fall and rise again before it requests.
void write_icw1(PicChipState& c, uint8_t value)
{
    uint8_t elcr = c.elcr;
    uint8_t lines = c.lines;
    c = PicChipState{};
    c.elcr = elcr;
    c.lines = lines;
    c.icw4_needed = value & ICW1_IC4;
    c.single = value & ICW1_SNGL;
    c.ltim = value & ICW1_LTIM;
    c.irr = lines & level_sensitive(c);
    c.init = PicChipState::Init::Icw2;
}

PicChipState::Init after_icw3(const PicChipState& c)
{
    return c.icw4_needed ? PicChipState::Init::Icw4 : PicChipState::Init::Ready;
}

void write_data(PicChipState& c, uint8_t value)
{
    using Init = PicChipState::Init;
    switch (c.init) {
    case Init::Icw2:
        c.vector_base = value & 0xf8;
        c.init = c.single ? after_icw3(c) : Init::Icw3;
        break;
    case Init::Icw3:
        c.icw3 = value;
        c.init = after_icw3(c);
        break;
    case Init::Icw4:
        c.auto_eoi = value & ICW4_AEOI;
        c.sfnm = value & ICW4_SFNM;
        c.init = Init::Ready;
        break;
    case Init::Uninitialized:
    case Init::Ready:
        c.imr = value;  // OCW1
        break;
    }
}

void drive_input(PicChipState& c, uint8_t mask, bool level)
{
    if (level_sensitive(c) & mask) {
        c.irr = level ? (c.irr | mask) : (c.irr & ~mask);
    } else if (level && !(c.lines & mask)) {
        c.irr |= mask;
    }
    c.lines = level ? (c.lines | mask) : (c.lines & ~mask);
}

}  // namespace

Pic8259Pair::Pic8259Pair()
{
    for (unsigned irq = 0; irq < kPicIrqCount; ++irq) {
        lines_[irq].pic_ = this;
        lines_[irq].irq_ = irq;
    }
}

void Pic8259Pair::set_irq(unsigned irq, bool level)
{
    if (irq >= kPicIrqCount || irq == kPicCascadeIrq) {
        return;
    }
    drive_input(chips_[irq / 8], bit(irq), level);
    update();
}

bool Pic8259Pair::cascades(unsigned master_irq) const
{
    const PicChipState& m = chips_[0];
    return master_irq == kPicCascadeIrq && !m.single && (m.icw3 & bit(kPicCascadeIrq));
}

std::optional<uint8_t> Pic8259Pair::acknowledge()
{
    PicChipState& m = chips_[0];
    PicChipState& s = chips_[1];
    if (m.init != PicChipState::Init::Ready) {
        return std::nullopt;
    }
    std::optional<unsigned> irq = pending_irq(m, true);
    if (!irq) {
        return static_cast<uint8_t>(m.vector_base | kSpuriousIrq);
    }
    intack(m, *irq);
    uint8_t vector = static_cast<uint8_t>(m.vector_base | *irq);
    if (cascades(*irq)) {
        // Master IR2 stays in service for a spurious IRQ 15, as on the
        // 8259A: Linux answers that with an EOI to the master.
        std::optional<unsigned> slave_irq = pending_irq(s, false);
        if (slave_irq) {
            intack(s, *slave_irq);
        }
        // The slave's INT falls during INTA: a request still deliverable
        // afterwards (AEOI, or SFNM nesting) makes a fresh edge on IR2.
        m.lines &= ~bit(kPicCascadeIrq);
        vector = static_cast<uint8_t>(s.vector_base | slave_irq.value_or(kSpuriousIrq));
    }
    update();
    return vector;
}

void Pic8259Pair::save(StateWriter& out) const
{
    for (const PicChipState& c : chips_) {
        for (uint8_t reg : {c.irr, c.isr, c.imr, c.lines, c.elcr, c.vector_base, c.icw3, c.highest}) {
            out.put(reg);
        }
        out.put(c.init);
        for (bool flag : {c.icw4_needed, c.single, c.ltim, c.auto_eoi, c.rotate_on_aeoi, c.sfnm, c.read_isr,
                          c.poll, c.special_mask}) {
            out.put(flag);
        }
    }
}

bool Pic8259Pair::restore(StateReader& in)
{
    for (PicChipState& c : chips_) {
        for (uint8_t* reg : {&c.irr, &c.isr, &c.imr, &c.lines, &c.elcr, &c.vector_base, &c.icw3, &c.highest}) {
            *reg = in.get<uint8_t>();
        }
        c.init = in.get<PicChipState::Init>();
        for (bool* flag : {&c.icw4_needed, &c.single, &c.ltim, &c.auto_eoi, &c.rotate_on_aeoi, &c.sfnm,
                           &c.read_isr, &c.poll, &c.special_mask}) {
            *flag = in.get<bool>();
        }
        in.check(c.init <= PicChipState::Init::Icw4 && c.highest < 8 && (c.vector_base & 7) == 0);
    }
    in.check((chips_[0].elcr & ~kElcrMasterMask) == 0 && (chips_[1].elcr & ~kElcrSlaveMask) == 0);
    if (!in.ok()) {
        return false;
    }
    update();
    return true;
}

// The poll command: the read acts as an acknowledge on this chip alone (a
// cascaded slave must be polled separately, per the datasheet).
uint8_t Pic8259Pair::poll(PicChipState& c)
{
    c.poll = false;
    std::optional<unsigned> irq = pending_irq(c, &c == &chips_[0]);
    if (!irq) {
        return 0;
    }
    intack(c, *irq);
    return static_cast<uint8_t>(PIC_POLL_INT | *irq);
}

uint8_t Pic8259Pair::read_chip(unsigned chip, uint16_t offset)
{
    PicChipState& c = chips_[chip];
    if (c.poll) {
        uint8_t word = poll(c);
        update();
        return word;
    }
    if (offset == 1) {
        return c.imr;
    }
    return c.read_isr ? c.isr : c.irr;
}

void Pic8259Pair::write_chip(unsigned chip, uint16_t offset, uint8_t value)
{
    PicChipState& c = chips_[chip];
    if (offset == 1) {
        write_data(c, value);
    } else if (value & ICW1_INIT) {
        write_icw1(c, value);
    } else if (value & OCW3_SEL) {
        write_ocw3(c, value);
    } else {
        write_ocw2(c, value);
    }
    update();
}

void Pic8259Pair::write_elcr(unsigned chip, uint8_t value)
{
    PicChipState& c = chips_[chip];
    c.elcr = value & (chip == 0 ? kElcrMasterMask : kElcrSlaveMask);
    // An input that becomes level-sensitive requests exactly while high.
    uint8_t level = level_sensitive(c);
    c.irr = (c.irr & ~level) | (c.lines & level);
    update();
}

// The only place INT levels change.  The slave's INT drives master IR2 like
// any other input, so with IR2 edge-sensitive (the PC's setting) the master
// keeps the request latched even if the slave's request goes away: the
// acknowledge then yields the slave's spurious IRQ 15, as on the 8259A.
void Pic8259Pair::update()
{
    PicChipState& m = chips_[0];
    drive_input(m, bit(kPicCascadeIrq), pending_irq(chips_[1], false).has_value());
    bool intr = pending_irq(m, true).has_value();
    if (intr != intr_) {
        intr_ = intr;
        if (observer_) {
            observer_(intr);
        }
    }
}

uint32_t Pic8259Pair::ChipPort::read(uint16_t offset, unsigned size)
{
    if (size != 1 || offset > 1) {
        ++pic_.ignored_accesses_;
        return ~0u;
    }
    return pic_.read_chip(chip_, offset);
}

void Pic8259Pair::ChipPort::write(uint16_t offset, unsigned size, uint32_t value)
{
    if (size != 1 || offset > 1) {
        ++pic_.ignored_accesses_;
        return;
    }
    pic_.write_chip(chip_, offset, static_cast<uint8_t>(value));
}

uint32_t Pic8259Pair::ElcrPort::read(uint16_t offset, unsigned size)
{
    if (size != 1 || offset > 1) {
        ++pic_.ignored_accesses_;
        return ~0u;
    }
    return pic_.chips_[offset].elcr;
}

void Pic8259Pair::ElcrPort::write(uint16_t offset, unsigned size, uint32_t value)
{
    if (size != 1 || offset > 1) {
        ++pic_.ignored_accesses_;
        return;
    }
    pic_.write_elcr(offset, static_cast<uint8_t>(value));
}

}  // namespace vmruntime::dev
