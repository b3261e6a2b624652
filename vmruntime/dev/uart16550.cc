// SPDX-License-Identifier: BSD-2-Clause
//
// 16550A register model.  The interrupt sources are kept as plain state
// (LSR error bits, the receive FIFO level, a latched THRE event, MSR delta
// bits) and update_irq() turns them into IIR and the line level, so every
// register access ends in the same recomputation.
#include "vmruntime/dev/uart16550.h"

#include <algorithm>

#include "vmruntime/dev/io_bus.h"

namespace vmruntime::dev {

Uart16550::Uart16550(IrqLine& irq, ByteSink& out, size_t input_capacity)
    : irq_(irq), out_(out), input_capacity_(input_capacity)
{
}

uint32_t Uart16550::read(uint16_t offset, unsigned size)
{
    if (size != 1 || offset >= kUartPorts) {
        ++counters_.bad_accesses;
        return all_ones(size);
    }
    return read_register(offset);
}

void Uart16550::write(uint16_t offset, unsigned size, uint32_t value)
{
    if (size != 1 || offset >= kUartPorts) {
        ++counters_.bad_accesses;
        return;
    }
    write_register(offset, static_cast<uint8_t>(value));
}

uint8_t Uart16550::read_register(uint16_t offset)
{
    const bool dlab = (lcr_ & UART_LCR_DLAB) != 0;
    switch (offset) {
    case UART_RX:
        return dlab ? static_cast<uint8_t>(divisor_) : read_rbr();
    case UART_IER:
        return dlab ? static_cast<uint8_t>(divisor_ >> 8) : ier_;
    case UART_IIR:
        return read_iir();
    case UART_LCR:
        return lcr_;
    case UART_MCR:
        return mcr_;
    case UART_LSR:
        return read_lsr();
    case UART_MSR:
        return read_msr();
    default:
        return scr_;
    }
}

void Uart16550::write_register(uint16_t offset, uint8_t value)
{
    const bool dlab = (lcr_ & UART_LCR_DLAB) != 0;
    switch (offset) {
    case UART_TX:
        if (dlab) {
            divisor_ = static_cast<uint16_t>((divisor_ & 0xff00) | value);
        } else {
            write_thr(value);
        }
        break;
    case UART_IER:
        if (dlab) {
            divisor_ = static_cast<uint16_t>((divisor_ & 0x00ff) | (value << 8));
        } else {
            write_ier(value);
        }
        break;
    case UART_FCR:
        write_fcr(value);
        break;
    case UART_LCR:
        lcr_ = value;
        break;
    case UART_MCR:
        write_mcr(value);
        break;
    case UART_LSR:
    case UART_MSR:
        break;  // read-only (factory test registers on some parts)
    default:
        scr_ = value;
        break;
    }
}

uint8_t Uart16550::read_rbr()
{
    if (rx_.empty()) {
        return 0;
    }
    const uint8_t byte = rx_.front();
    rx_.pop_front();
    ++counters_.rx_bytes;
    refill_fifo();
    update_irq();
    return byte;
}

// Reading IIR acknowledges a THRE interrupt, but only when it is the one
// reported: Linux's 8250 driver relies on a lower-priority THRE surviving
// an IIR read that reported received data.
uint8_t Uart16550::read_iir()
{
    const uint8_t value = iir_;
    if ((value & (UART_IIR_ID | UART_IIR_NO_INT)) == UART_IIR_THRI) {
        thr_pending_ = false;
        update_irq();
    }
    return value;
}

uint8_t Uart16550::read_lsr()
{
    const uint8_t value = static_cast<uint8_t>(lsr_ | (rx_.empty() ? 0 : UART_LSR_DR));
    lsr_ &= static_cast<uint8_t>(~UART_LSR_BRK_ERROR_BITS);
    update_irq();
    return value;
}

uint8_t Uart16550::read_msr()
{
    const uint8_t value = static_cast<uint8_t>(modem_inputs() | (msr_ & UART_MSR_ANY_DELTA));
    msr_ &= static_cast<uint8_t>(~UART_MSR_ANY_DELTA);
    update_irq();
    return value;
}

// The byte leaves at once, so THR is empty again before the guest can look:
// the THRE interrupt is latched again by the same write that acknowledged it.
void Uart16550::write_thr(uint8_t value)
{
    if (loopback()) {
        receive(value);
    } else {
        out_.write(std::span<const uint8_t>(&value, 1));
        ++counters_.tx_bytes;
    }
    thr_pending_ = true;
    update_irq();
}

// Setting IER.THRI while THR is empty raises a THRE interrupt even if an
// earlier one was acknowledged by an IIR read.  Linux's serial8250_startup
// tests exactly this (UART_BUG_THRE), and its start_tx depends on it.
void Uart16550::write_ier(uint8_t value)
{
    const uint8_t old = ier_;
    ier_ = value & kUartIerMask;
    if ((old ^ ier_) & UART_IER_THRI) {
        thr_pending_ = (ier_ & UART_IER_THRI) != 0;
    }
    update_irq();
}

// Changing FCR0 clears the FIFOs, as does FCR1; both bits 1 and 2 clear
// themselves.  There is no transmit FIFO to clear.
void Uart16550::write_fcr(uint8_t value)
{
    const bool was_enabled = fifo_enabled();
    fcr_ = value & (UART_FCR_ENABLE_FIFO | UART_FCR_TRIGGER_MASK);
    if (was_enabled != fifo_enabled() || (value & UART_FCR_CLEAR_RCVR)) {
        rx_.clear();
    }
    refill_fifo();
    update_irq();
}

void Uart16550::write_mcr(uint8_t value)
{
    const uint8_t before = modem_inputs();
    mcr_ = value & kUartMcrMask;
    const uint8_t after = modem_inputs();
    const uint8_t changed = before ^ after;
    if (changed & UART_MSR_CTS) {
        msr_ |= UART_MSR_DCTS;
    }
    if (changed & UART_MSR_DSR) {
        msr_ |= UART_MSR_DDSR;
    }
    if (changed & UART_MSR_DCD) {
        msr_ |= UART_MSR_DDCD;
    }
    if ((before & UART_MSR_RI) && !(after & UART_MSR_RI)) {
        msr_ |= UART_MSR_TERI;
    }
    refill_fifo();
    update_irq();
}

size_t Uart16550::trigger_level() const
{
    switch (fcr_ & UART_FCR_TRIGGER_MASK) {
    case UART_FCR_TRIGGER_1:
        return 1;
    case UART_FCR_TRIGGER_4:
        return 4;
    case UART_FCR_TRIGGER_8:
        return 8;
    default:
        return 14;
    }
}

// In loopback the modem outputs drive the inputs inside the chip (used by
// Linux's autoconfig: MCR = LOOP|OUT2|RTS must read back MSR = DCD|CTS).
uint8_t Uart16550::modem_inputs() const
{
    if (!loopback()) {
        return UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS;
    }
    uint8_t in = 0;
    in |= (mcr_ & UART_MCR_RTS) ? UART_MSR_CTS : 0;
    in |= (mcr_ & UART_MCR_DTR) ? UART_MSR_DSR : 0;
    in |= (mcr_ & UART_MCR_OUT1) ? UART_MSR_RI : 0;
    in |= (mcr_ & UART_MCR_OUT2) ? UART_MSR_DCD : 0;
    return in;
}

// A byte arriving at the receiver from the loopback path.  A full FIFO
// drops it; in 16450 mode it overwrites the holding register.  Both are
// overruns.
void Uart16550::receive(uint8_t byte)
{
    if (rx_.size() < rx_capacity()) {
        rx_.push_back(byte);
        return;
    }
    if (!fifo_enabled()) {
        rx_.back() = byte;
    }
    lsr_ |= UART_LSR_OE;
    ++counters_.overruns;
}

// The serial input is disconnected from the receiver in loopback, so host
// bytes wait on the wire until the guest leaves it.
void Uart16550::refill_fifo()
{
    while (!loopback() && !input_.empty() && rx_.size() < rx_capacity()) {
        rx_.push_back(input_.front());
        input_.pop_front();
    }
}

// Fills the queue, lets the FIFO take from it, and fills it again, so the
// guest-visible FIFO counts toward what fits.
size_t Uart16550::push_input(std::span<const uint8_t> bytes)
{
    size_t accepted = 0;
    while (accepted < bytes.size()) {
        refill_fifo();
        const size_t room = input_capacity_ - std::min(input_capacity_, input_.size());
        if (room == 0) {
            break;
        }
        const size_t n = std::min(room, bytes.size() - accepted);
        const auto first = bytes.begin() + static_cast<std::ptrdiff_t>(accepted);
        input_.insert(input_.end(), first, first + static_cast<std::ptrdiff_t>(n));
        accepted += n;
    }
    refill_fifo();
    update_irq();
    return accepted;
}

// Priorities from the datasheet: line status, then received data (or the
// character timeout), then THRE, then modem status.
uint8_t Uart16550::pending_interrupt() const
{
    if ((ier_ & UART_IER_RLSI) && (lsr_ & UART_LSR_BRK_ERROR_BITS)) {
        return UART_IIR_RLSI;
    }
    if ((ier_ & UART_IER_RDI) && !rx_.empty()) {
        return (fifo_enabled() && rx_.size() < trigger_level()) ? UART_IIR_RX_TIMEOUT : UART_IIR_RDI;
    }
    if ((ier_ & UART_IER_THRI) && thr_pending_) {
        return UART_IIR_THRI;
    }
    if ((ier_ & UART_IER_MSI) && (msr_ & UART_MSR_ANY_DELTA)) {
        return UART_IIR_MSI;
    }
    return UART_IIR_NO_INT;
}

// On a PC the INTR pin reaches the PIC through a buffer enabled by the OUT2
// pin.  Loopback forces the modem output pins inactive, OUT2 included, so
// the IRQ is cut off then even though IIR still reports the interrupt.
void Uart16550::update_irq()
{
    const uint8_t id = pending_interrupt();
    iir_ = static_cast<uint8_t>(id | (fifo_enabled() ? UART_IIR_FIFO_ENABLED_16550A : 0));
    const bool level = id != UART_IIR_NO_INT && (mcr_ & UART_MCR_OUT2) && !loopback();
    if (level != line_) {
        line_ = level;
        irq_.set_level(level);
    }
}

// iir_ and the line are not saved: update_irq() derives them.
void Uart16550::save(StateWriter& out) const
{
    for (uint8_t reg : {ier_, fcr_, lcr_, mcr_, lsr_, msr_, scr_}) {
        out.put(reg);
    }
    out.put(divisor_);
    out.put(thr_pending_);
    out.put(static_cast<uint8_t>(rx_.size()));
    for (uint8_t byte : rx_) {
        out.put(byte);
    }
}

// The fresh UART's line may already be at the restored level while the
// wire is not, so the line is driven whatever update_irq() decided.
bool Uart16550::restore(StateReader& in)
{
    for (uint8_t* reg : {&ier_, &fcr_, &lcr_, &mcr_, &lsr_, &msr_, &scr_}) {
        *reg = in.get<uint8_t>();
    }
    divisor_ = in.get<uint16_t>();
    thr_pending_ = in.get<bool>();
    const auto fifo_level = in.get<uint8_t>();
    in.check(plausible(fifo_level));
    rx_.clear();  // a reset restores over what the FIFO holds
    input_.clear();  // and the host's bytes were typed to the machine it replaces
    for (size_t i = 0; i < fifo_level && in.ok(); i++) {
        rx_.push_back(in.get<uint8_t>());
    }
    if (!in.ok()) {
        return false;
    }
    update_irq();
    irq_.set_level(line_);
    return true;
}

// What register writes can leave behind: of the error bits only OE is ever
// set, MSR keeps only the deltas, and the FIFO holds at most its depth.
bool Uart16550::plausible(size_t fifo_level) const
{
    return (ier_ & ~kUartIerMask) == 0 && (fcr_ & ~(UART_FCR_ENABLE_FIFO | UART_FCR_TRIGGER_MASK)) == 0 &&
           (mcr_ & ~kUartMcrMask) == 0 && (lsr_ & ~UART_LSR_OE) == (UART_LSR_THRE | UART_LSR_TEMT) &&
           (msr_ & ~UART_MSR_ANY_DELTA) == 0 && fifo_level <= rx_capacity();
}

}  // namespace vmruntime::dev
