// SPDX-License-Identifier: BSD-2-Clause
//
// 16550A UART: COM1-4 at 0x3f8/0x2f8/0x3e8/0x2e8, IRQ 4/3, eight byte-wide
// registers from the base port.  Register and bit names follow Linux's
// <linux/serial_reg.h> (defined here; that header's macros would clash).
//
// The transmitter is infinitely fast: a byte written to THR goes to the
// ByteSink at once, so THR and the shift register are always empty again by
// the next access.  The receiver has the 16-byte FIFO of the datasheet, fed
// from a bounded host-side queue that stands for the wire: host input waits
// there until the FIFO has room, so nothing is lost while the guest is slow.
// The line is idle whenever that queue is empty, so the character-timeout
// interrupt fires as soon as the FIFO holds data below its trigger level.
// Modem inputs are a connected null-modem (DCD, DSR, CTS asserted, RI not).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <span>

#include "vmruntime/dev/device.h"
#include "vmruntime/dev/device_state.h"

namespace vmruntime::dev {

// Register offsets from the base port (DLAB selects DLL/DLM at 0 and 1).
inline constexpr uint16_t UART_RX = 0;   // receive buffer (read)
inline constexpr uint16_t UART_TX = 0;   // transmit holding (write)
inline constexpr uint16_t UART_DLL = 0;  // divisor latch low (DLAB = 1)
inline constexpr uint16_t UART_IER = 1;  // interrupt enable
inline constexpr uint16_t UART_DLM = 1;  // divisor latch high (DLAB = 1)
inline constexpr uint16_t UART_IIR = 2;  // interrupt identification (read)
inline constexpr uint16_t UART_FCR = 2;  // FIFO control (write)
inline constexpr uint16_t UART_LCR = 3;  // line control
inline constexpr uint16_t UART_MCR = 4;  // modem control
inline constexpr uint16_t UART_LSR = 5;  // line status
inline constexpr uint16_t UART_MSR = 6;  // modem status
inline constexpr uint16_t UART_SCR = 7;  // scratch
inline constexpr uint16_t kUartPorts = 8;

inline constexpr uint8_t UART_IER_RDI = 0x01;   // received data available
inline constexpr uint8_t UART_IER_THRI = 0x02;  // transmit holding register empty
inline constexpr uint8_t UART_IER_RLSI = 0x04;  // receiver line status
inline constexpr uint8_t UART_IER_MSI = 0x08;   // modem status
inline constexpr uint8_t kUartIerMask = 0x0f;   // the 16550A has no bits 4-7

inline constexpr uint8_t UART_IIR_NO_INT = 0x01;      // no interrupt pending
inline constexpr uint8_t UART_IIR_ID = 0x0e;          // interrupt identity
inline constexpr uint8_t UART_IIR_MSI = 0x00;         // modem status
inline constexpr uint8_t UART_IIR_THRI = 0x02;        // THR empty
inline constexpr uint8_t UART_IIR_RDI = 0x04;         // received data at trigger level
inline constexpr uint8_t UART_IIR_RLSI = 0x06;        // receiver line status
inline constexpr uint8_t UART_IIR_RX_TIMEOUT = 0x0c;  // character timeout
inline constexpr uint8_t UART_IIR_FIFO_ENABLED_16550A = 0xc0;

inline constexpr uint8_t UART_FCR_ENABLE_FIFO = 0x01;
inline constexpr uint8_t UART_FCR_CLEAR_RCVR = 0x02;
inline constexpr uint8_t UART_FCR_CLEAR_XMIT = 0x04;
inline constexpr uint8_t UART_FCR_TRIGGER_MASK = 0xc0;
inline constexpr uint8_t UART_FCR_TRIGGER_1 = 0x00;
inline constexpr uint8_t UART_FCR_TRIGGER_4 = 0x40;
inline constexpr uint8_t UART_FCR_TRIGGER_8 = 0x80;
inline constexpr uint8_t UART_FCR_TRIGGER_14 = 0xc0;

inline constexpr uint8_t UART_LCR_DLAB = 0x80;   // divisor latch access
inline constexpr uint8_t UART_LCR_WLEN8 = 0x03;  // 8 data bits

inline constexpr uint8_t UART_MCR_DTR = 0x01;
inline constexpr uint8_t UART_MCR_RTS = 0x02;
inline constexpr uint8_t UART_MCR_OUT1 = 0x04;
inline constexpr uint8_t UART_MCR_OUT2 = 0x08;  // gates the IRQ line on PCs
inline constexpr uint8_t UART_MCR_LOOP = 0x10;  // internal loopback
inline constexpr uint8_t kUartMcrMask = 0x1f;

inline constexpr uint8_t UART_LSR_DR = 0x01;    // receiver data ready
inline constexpr uint8_t UART_LSR_OE = 0x02;    // overrun error
inline constexpr uint8_t UART_LSR_PE = 0x04;    // parity error
inline constexpr uint8_t UART_LSR_FE = 0x08;    // framing error
inline constexpr uint8_t UART_LSR_BI = 0x10;    // break interrupt
inline constexpr uint8_t UART_LSR_THRE = 0x20;  // transmit holding register empty
inline constexpr uint8_t UART_LSR_TEMT = 0x40;  // transmitter empty
inline constexpr uint8_t UART_LSR_BRK_ERROR_BITS = 0x1e;

inline constexpr uint8_t UART_MSR_DCTS = 0x01;  // delta CTS
inline constexpr uint8_t UART_MSR_DDSR = 0x02;  // delta DSR
inline constexpr uint8_t UART_MSR_TERI = 0x04;  // trailing edge of RI
inline constexpr uint8_t UART_MSR_DDCD = 0x08;  // delta DCD
inline constexpr uint8_t UART_MSR_CTS = 0x10;
inline constexpr uint8_t UART_MSR_DSR = 0x20;
inline constexpr uint8_t UART_MSR_RI = 0x40;
inline constexpr uint8_t UART_MSR_DCD = 0x80;
inline constexpr uint8_t UART_MSR_ANY_DELTA = 0x0f;

struct Uart16550Counters {
    uint64_t tx_bytes = 0;      // to the sink (loopback excluded)
    uint64_t rx_bytes = 0;      // read by the guest from RBR
    uint64_t overruns = 0;      // loopback bytes lost to a full FIFO
    uint64_t bad_accesses = 0;  // wrong width or offset: ignored
};

class Uart16550 final : public PioDevice {
public:
    static constexpr size_t kFifoSize = 16;
    static constexpr size_t kDefaultInputCapacity = 4096;

    // `irq` and `out` must outlive the UART.  `input_capacity` bounds the
    // host bytes waiting behind the FIFO.
    Uart16550(IrqLine& irq, ByteSink& out, size_t input_capacity = kDefaultInputCapacity);

    // Offsets 0..7 from the base port; only 1-byte accesses are decoded.
    uint32_t read(uint16_t offset, unsigned size) override;
    void write(uint16_t offset, unsigned size, uint32_t value) override;

    // Host -> guest.  Takes as much of `bytes` as fits in the FIFO plus the
    // input queue and returns how many bytes it took; the rest is the
    // caller's to retry once the guest has read some.
    size_t push_input(std::span<const uint8_t> bytes);

    // Host bytes queued behind the FIFO, not yet visible to the guest.
    size_t input_pending() const { return input_.size(); }

    const Uart16550Counters& counters() const { return counters_; }

    // Snapshots (device_state.h): the UART's whole guest-visible state, the
    // receive FIFO included.  Host bytes still queued behind the FIFO are the
    // host side's, like the sink: they are not saved, and a restore drops
    // them (they were typed to the guest it replaces).  Restore drives the
    // IRQ line to the level the state implies.
    void save(StateWriter& out) const;
    bool restore(StateReader& in);  // false: `in` failed or held a value the UART cannot have; discard it

private:
    uint8_t read_register(uint16_t offset);
    void write_register(uint16_t offset, uint8_t value);
    uint8_t read_rbr();
    uint8_t read_iir();
    uint8_t read_lsr();
    uint8_t read_msr();
    void write_thr(uint8_t value);
    void write_ier(uint8_t value);
    void write_fcr(uint8_t value);
    void write_mcr(uint8_t value);

    bool fifo_enabled() const { return (fcr_ & UART_FCR_ENABLE_FIFO) != 0; }
    bool loopback() const { return (mcr_ & UART_MCR_LOOP) != 0; }
    size_t rx_capacity() const { return fifo_enabled() ? kFifoSize : 1; }
    size_t trigger_level() const;
    uint8_t modem_inputs() const;
    void receive(uint8_t byte);
    void refill_fifo();
    uint8_t pending_interrupt() const;
    void update_irq();  // the only place iir_ and the line change
    bool plausible(size_t fifo_level) const;

    IrqLine& irq_;
    ByteSink& out_;
    const size_t input_capacity_;

    uint8_t ier_ = 0;
    uint8_t iir_ = UART_IIR_NO_INT;
    uint8_t fcr_ = 0;  // write-only in hardware: kept for FIFO mode and trigger
    uint8_t lcr_ = 0;
    uint8_t mcr_ = 0;
    uint8_t lsr_ = UART_LSR_THRE | UART_LSR_TEMT;  // DR is derived from rx_
    uint8_t msr_ = 0;                              // status bits derived; deltas kept here
    uint8_t scr_ = 0;
    uint16_t divisor_ = 12;     // 9600 baud from the 1.8432 MHz crystal
    bool thr_pending_ = false;  // THRE interrupt latched (cleared by IIR read / THR write)
    bool line_ = false;
    std::deque<uint8_t> rx_;     // the receive FIFO (one byte deep in 16450 mode)
    std::deque<uint8_t> input_;  // host bytes still on the wire
    Uart16550Counters counters_;
};

}  // namespace vmruntime::dev
