// SPDX-License-Identifier: BSD-2-Clause
//
// 16550A behaviour as Linux's 8250 driver exercises it: autoconfig (IER
// width, loopback, FIFO detection), serial8250_startup's THRE tests, the
// interrupt priorities of the datasheet, the receive FIFO and its trigger
// levels, and the OUT2 gate on the IRQ line.
#include "vmruntime/dev/uart16550.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/unit/dev/fakes.h"
#include "vmruntime/dev/device_state.h"

namespace vmruntime::dev {
namespace {

using testing::CaptureSink;
using testing::FakeIrqLine;

class UartTest : public ::testing::Test {
protected:
    uint8_t in(uint16_t offset) { return static_cast<uint8_t>(uart_.read(offset, 1)); }
    void out(uint16_t offset, uint8_t value) { uart_.write(offset, 1, value); }
    size_t push(const std::string& s)
    {
        return uart_.push_input(std::span(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
    }
    std::string drain()
    {
        std::string got;
        while (in(UART_LSR) & UART_LSR_DR) {
            got.push_back(static_cast<char>(in(UART_RX)));
        }
        return got;
    }

    FakeIrqLine irq_;
    CaptureSink sink_;
    Uart16550 uart_{irq_, sink_};
};

TEST_F(UartTest, PowerOnRegisters)
{
    EXPECT_EQ(in(UART_IER), 0x00);
    EXPECT_EQ(in(UART_IIR), 0x01);
    EXPECT_EQ(in(UART_LCR), 0x00);
    EXPECT_EQ(in(UART_MCR), 0x00);
    EXPECT_EQ(in(UART_LSR), 0x60);
    EXPECT_EQ(in(UART_MSR), 0xb0);  // DCD, DSR, CTS: a connected null modem
    EXPECT_EQ(in(UART_SCR), 0x00);
    EXPECT_FALSE(irq_.level());
    EXPECT_TRUE(irq_.history().empty());
}

TEST_F(UartTest, TransmitsToSinkAtOnce)
{
    out(UART_LCR, UART_LCR_WLEN8);
    for (char c : std::string("hello\n")) {
        ASSERT_EQ(in(UART_LSR) & (UART_LSR_THRE | UART_LSR_TEMT), UART_LSR_THRE | UART_LSR_TEMT);
        out(UART_TX, static_cast<uint8_t>(c));
    }
    EXPECT_EQ(sink_.str(), "hello\n");
    EXPECT_EQ(sink_.writes(), 6u);
    EXPECT_EQ(uart_.counters().tx_bytes, 6u);
}

TEST_F(UartTest, DivisorLatchSharesOffsetsZeroAndOne)
{
    out(UART_LCR, UART_LCR_DLAB | UART_LCR_WLEN8);
    out(UART_DLL, 0x01);  // 115200 baud
    out(UART_DLM, 0x00);
    EXPECT_EQ(in(UART_DLL), 0x01);
    EXPECT_EQ(in(UART_DLM), 0x00);
    out(UART_DLM, 0x12);
    EXPECT_EQ(in(UART_DLM), 0x12);
    EXPECT_EQ(in(UART_LCR), UART_LCR_DLAB | UART_LCR_WLEN8);
    EXPECT_TRUE(sink_.bytes().empty());  // DLL writes are not data
    EXPECT_EQ(in(UART_IER), 0x12);       // still DLM while DLAB is set

    out(UART_LCR, UART_LCR_WLEN8);
    EXPECT_EQ(in(UART_IER), 0x00);
    out(UART_TX, 'x');
    EXPECT_EQ(sink_.str(), "x");
    out(UART_LCR, UART_LCR_DLAB);
    EXPECT_EQ(in(UART_DLL), 0x01);  // the THR write did not touch the latch
    EXPECT_EQ(in(UART_DLM), 0x12);
}

TEST_F(UartTest, ScratchRegisterHoldsAnyByte)
{
    for (int v : {0x00, 0x55, 0xaa, 0xff}) {
        out(UART_SCR, static_cast<uint8_t>(v));
        EXPECT_EQ(in(UART_SCR), v);
    }
}

// The sequence of 8250_port.c autoconfig(): IER must hold exactly bits 0-3,
// loopback must echo MCR into MSR, FIFO enable must show in IIR bits 7:6,
// and none of the 16650/16750/XScale probes may match.
TEST_F(UartTest, LinuxAutoconfigSeesA16550A)
{
    out(UART_IER, 0x00);
    EXPECT_EQ(in(UART_IER) & 0x0f, 0x00);
    out(UART_IER, 0x0f);
    EXPECT_EQ(in(UART_IER) & 0x0f, 0x0f);
    out(UART_IER, 0x00);

    out(UART_MCR, UART_MCR_LOOP | 0x0a);
    EXPECT_EQ(in(UART_MSR) & 0xf0, 0x90);
    out(UART_MCR, 0x00);

    out(UART_LCR, 0xbf);  // EFR access on a 16650; a plain FCR write here
    out(UART_FCR, 0x00);
    out(UART_LCR, 0x00);
    out(UART_FCR, UART_FCR_ENABLE_FIFO);
    EXPECT_EQ(in(UART_IIR) >> 6, 3);  // 3 = 16550A

    out(UART_LCR, 0x80);
    EXPECT_NE(in(UART_IIR), 0x00);  // no EFR behind DLAB (ST16C650V1)
    out(UART_LCR, 0xbf);
    EXPECT_NE(in(UART_IIR), 0x00);  // nor behind 0xbf (16650V2)

    out(UART_LCR, 0x00);
    out(UART_FCR, UART_FCR_ENABLE_FIFO | 0x20);  // 16750 64-byte FIFO bit
    EXPECT_EQ(in(UART_IIR) & 0xe0, 0xc0);
    out(UART_LCR, 0x80);
    out(UART_FCR, UART_FCR_ENABLE_FIFO | 0x20);
    EXPECT_EQ(in(UART_IIR) & 0xe0, 0xc0);  // not a 16750
    out(UART_LCR, 0x00);

    out(UART_IER, 0x40);  // XScale UUE bit
    EXPECT_EQ(in(UART_IER), 0x00);
    out(UART_IER, 0xff);
    EXPECT_EQ(in(UART_IER), 0x0f);
}

TEST_F(UartTest, FifoEnableShowsInIirAndGoesAway)
{
    out(UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_TRIGGER_14);
    EXPECT_EQ(in(UART_IIR), 0xc1);
    out(UART_FCR, 0x00);
    EXPECT_EQ(in(UART_IIR), 0x01);
}

// serial8250_do_startup: enabling THRI with THR empty must raise a THRE
// interrupt at once, reading IIR acknowledges it, and enabling THRI again
// must raise it again (else Linux sets UART_BUG_THRE and polls).
TEST_F(UartTest, ThreInterruptOnEnableAndAfterReenable)
{
    out(UART_MCR, UART_MCR_OUT2 | UART_MCR_RTS | UART_MCR_DTR);
    out(UART_IER, UART_IER_THRI);
    EXPECT_TRUE(irq_.level());
    EXPECT_EQ(in(UART_LSR) & UART_LSR_TEMT, UART_LSR_TEMT);
    EXPECT_EQ(in(UART_IIR), UART_IIR_THRI);
    EXPECT_FALSE(irq_.level());
    EXPECT_EQ(in(UART_IIR), UART_IIR_NO_INT);

    out(UART_IER, 0);
    out(UART_IER, UART_IER_THRI);
    EXPECT_TRUE(irq_.level());
    EXPECT_EQ(in(UART_IIR), UART_IIR_THRI);
    EXPECT_EQ(irq_.rising_edges(), 2u);
}

TEST_F(UartTest, IerWriteWithThriAlreadySetDoesNotReraise)
{
    out(UART_MCR, UART_MCR_OUT2);
    out(UART_IER, UART_IER_THRI);
    EXPECT_EQ(in(UART_IIR), UART_IIR_THRI);
    out(UART_IER, UART_IER_THRI | UART_IER_RDI);
    EXPECT_EQ(in(UART_IIR), UART_IIR_NO_INT);
    EXPECT_FALSE(irq_.level());
}

TEST_F(UartTest, ThrWriteRaisesThreAgainOnceTheByteIsGone)
{
    out(UART_MCR, UART_MCR_OUT2);
    out(UART_IER, UART_IER_THRI);
    EXPECT_EQ(in(UART_IIR), UART_IIR_THRI);
    ASSERT_FALSE(irq_.level());
    out(UART_TX, 'a');
    EXPECT_TRUE(irq_.level());
    EXPECT_EQ(in(UART_IIR), UART_IIR_THRI);
    EXPECT_FALSE(irq_.level());
    EXPECT_EQ(sink_.str(), "a");
}

TEST_F(UartTest, Out2GatesTheLineButNotIir)
{
    out(UART_IER, UART_IER_THRI);
    EXPECT_FALSE(irq_.level());
    out(UART_MCR, UART_MCR_OUT2);
    EXPECT_TRUE(irq_.level());
    out(UART_MCR, 0);
    EXPECT_FALSE(irq_.level());
    EXPECT_EQ(in(UART_IIR), UART_IIR_THRI);  // still pending, and now acknowledged
    out(UART_MCR, UART_MCR_OUT2);
    EXPECT_FALSE(irq_.level());
}

TEST_F(UartTest, LoopbackCutsTheLine)
{
    out(UART_MCR, UART_MCR_OUT2);
    out(UART_IER, UART_IER_THRI);
    ASSERT_TRUE(irq_.level());
    out(UART_MCR, UART_MCR_OUT2 | UART_MCR_LOOP);
    EXPECT_FALSE(irq_.level());
    EXPECT_EQ(in(UART_IIR), UART_IIR_THRI);
}

TEST_F(UartTest, LoopbackSendsTransmitterToReceiver)
{
    out(UART_MCR, UART_MCR_LOOP);
    out(UART_TX, 'Z');
    EXPECT_TRUE(sink_.bytes().empty());
    EXPECT_EQ(uart_.counters().tx_bytes, 0u);
    EXPECT_EQ(in(UART_LSR), UART_LSR_DR | UART_LSR_THRE | UART_LSR_TEMT);
    EXPECT_EQ(in(UART_RX), 'Z');
    EXPECT_EQ(in(UART_LSR), UART_LSR_THRE | UART_LSR_TEMT);
}

TEST_F(UartTest, LoopbackMapsEachModemOutputToItsInput)
{
    in(UART_MSR);
    out(UART_MCR, UART_MCR_LOOP | UART_MCR_RTS);
    EXPECT_EQ(in(UART_MSR), UART_MSR_CTS | UART_MSR_DDSR | UART_MSR_DDCD);  // CTS stayed, DSR/DCD fell
    out(UART_MCR, UART_MCR_LOOP | UART_MCR_DTR);
    EXPECT_EQ(in(UART_MSR), UART_MSR_DSR | UART_MSR_DCTS | UART_MSR_DDSR);
    out(UART_MCR, UART_MCR_LOOP | UART_MCR_OUT1);
    EXPECT_EQ(in(UART_MSR), UART_MSR_RI | UART_MSR_DDSR);
    out(UART_MCR, UART_MCR_LOOP | UART_MCR_OUT2);
    EXPECT_EQ(in(UART_MSR), UART_MSR_DCD | UART_MSR_TERI | UART_MSR_DDCD);  // RI fell: trailing edge
    EXPECT_EQ(in(UART_MSR), UART_MSR_DCD);                                  // deltas cleared by the read
}

TEST_F(UartTest, InterruptPrioritiesFollowTheDatasheet)
{
    out(UART_MCR, UART_MCR_LOOP);  // drops DCD/DSR/CTS: modem status deltas
    out(UART_IER, 0x0f);           // and latches THRE
    out(UART_TX, 'a');
    out(UART_TX, 'b');  // 16450 mode: 'b' overwrites 'a', an overrun

    EXPECT_EQ(in(UART_IIR), UART_IIR_RLSI);
    EXPECT_EQ(in(UART_LSR), UART_LSR_DR | UART_LSR_OE | UART_LSR_THRE | UART_LSR_TEMT);
    EXPECT_EQ(in(UART_IIR), UART_IIR_RDI);
    EXPECT_EQ(in(UART_RX), 'b');
    EXPECT_EQ(in(UART_IIR), UART_IIR_THRI);
    EXPECT_EQ(in(UART_IIR), UART_IIR_MSI);
    EXPECT_EQ(in(UART_MSR), UART_MSR_DCTS | UART_MSR_DDSR | UART_MSR_DDCD);
    EXPECT_EQ(in(UART_IIR), UART_IIR_NO_INT);
    EXPECT_EQ(uart_.counters().overruns, 1u);
}

// Linux's handler reads IIR once, then services RX and TX by LSR: a THRE
// interrupt hidden behind received data must survive that IIR read.
TEST_F(UartTest, IirReadAcknowledgesThreOnlyWhenReported)
{
    out(UART_MCR, UART_MCR_OUT2);
    out(UART_IER, UART_IER_RDI | UART_IER_THRI);
    push("k");
    EXPECT_EQ(in(UART_IIR), UART_IIR_RDI);
    EXPECT_EQ(in(UART_RX), 'k');
    EXPECT_TRUE(irq_.level());
    EXPECT_EQ(in(UART_IIR), UART_IIR_THRI);
    EXPECT_FALSE(irq_.level());
}

TEST_F(UartTest, FifoTriggerLevelAndCharacterTimeout)
{
    out(UART_MCR, UART_MCR_OUT2);
    out(UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_TRIGGER_8);
    out(UART_IER, UART_IER_RDI);
    EXPECT_FALSE(irq_.level());

    push("12345");
    EXPECT_EQ(in(UART_IIR), 0xc0 | UART_IIR_RX_TIMEOUT);  // below trigger, line idle
    EXPECT_TRUE(irq_.level());
    push("678");
    EXPECT_EQ(in(UART_IIR), 0xc0 | UART_IIR_RDI);  // 8 bytes: at trigger
    EXPECT_EQ(drain(), "12345678");
    EXPECT_EQ(in(UART_IIR), 0xc1);
    EXPECT_FALSE(irq_.level());
    EXPECT_EQ(uart_.counters().rx_bytes, 8u);
}

TEST_F(UartTest, TriggerLevels)
{
    out(UART_IER, UART_IER_RDI);
    const std::pair<uint8_t, size_t> levels[] = {
        {UART_FCR_TRIGGER_1, 1}, {UART_FCR_TRIGGER_4, 4}, {UART_FCR_TRIGGER_8, 8}, {UART_FCR_TRIGGER_14, 14}};
    for (auto [bits, level] : levels) {
        out(UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_CLEAR_RCVR | bits);
        push(std::string(level - 1, 'x'));
        if (level > 1) {
            EXPECT_EQ(in(UART_IIR) & UART_IIR_ID, UART_IIR_RX_TIMEOUT) << level;
        }
        push("y");
        EXPECT_EQ(in(UART_IIR) & UART_IIR_ID, UART_IIR_RDI) << level;
        EXPECT_EQ(drain(), std::string(level - 1, 'x') + "y");
    }
}

TEST_F(UartTest, WithoutFifoOneByteAtATimeAndNoTimeout)
{
    out(UART_IER, UART_IER_RDI);
    EXPECT_EQ(push("abc"), 3u);
    EXPECT_EQ(uart_.input_pending(), 2u);
    EXPECT_EQ(in(UART_IIR), UART_IIR_RDI);
    EXPECT_EQ(in(UART_RX), 'a');
    EXPECT_EQ(uart_.input_pending(), 1u);
    EXPECT_EQ(drain(), "bc");
}

TEST_F(UartTest, InputQueueIsBoundedAndRefillsTheFifo)
{
    FakeIrqLine irq;
    CaptureSink sink;
    Uart16550 uart(irq, sink, 32);
    uart.write(UART_FCR, 1, UART_FCR_ENABLE_FIFO);

    std::vector<uint8_t> data(100);
    for (size_t i = 0; i < data.size(); ++i) {
        data[i] = static_cast<uint8_t>(i);
    }
    EXPECT_EQ(uart.push_input(data), 48u);  // 16 in the FIFO + 32 queued
    EXPECT_EQ(uart.input_pending(), 32u);
    EXPECT_EQ(uart.push_input(std::span(data).subspan(48)), 0u);

    for (int i = 0; i < 16; ++i) {
        ASSERT_EQ(uart.read(UART_RX, 1), static_cast<uint32_t>(i));
    }
    EXPECT_EQ(uart.input_pending(), 16u);
    EXPECT_EQ(uart.push_input(std::span(data).subspan(48)), 16u);

    for (int i = 16; i < 64; ++i) {
        ASSERT_EQ(uart.read(UART_LSR, 1) & UART_LSR_DR, UART_LSR_DR);
        ASSERT_EQ(uart.read(UART_RX, 1), static_cast<uint32_t>(i));
    }
    EXPECT_EQ(uart.read(UART_LSR, 1) & UART_LSR_DR, 0u);
}

TEST_F(UartTest, ClearingTheReceiverDropsFifoBytesOnly)
{
    out(UART_FCR, UART_FCR_ENABLE_FIFO);
    push(std::string(16, 'a') + "bcd");
    EXPECT_EQ(uart_.input_pending(), 3u);
    out(UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_CLEAR_RCVR);
    EXPECT_EQ(drain(), "bcd");  // the bytes still on the wire arrive afterwards
}

TEST_F(UartTest, HostInputWaitsWhileInLoopback)
{
    out(UART_MCR, UART_MCR_LOOP);
    EXPECT_EQ(push("hi"), 2u);
    EXPECT_EQ(in(UART_LSR) & UART_LSR_DR, 0);
    out(UART_MCR, 0);
    EXPECT_EQ(drain(), "hi");
}

TEST_F(UartTest, ModemStatusInterrupt)
{
    out(UART_IER, UART_IER_MSI);
    out(UART_MCR, UART_MCR_LOOP | UART_MCR_RTS | UART_MCR_DTR | UART_MCR_OUT2);
    EXPECT_EQ(in(UART_IIR), UART_IIR_NO_INT);  // loopback reproduces the same inputs: no change
    out(UART_MCR, UART_MCR_LOOP | UART_MCR_RTS | UART_MCR_OUT2);
    EXPECT_EQ(in(UART_IIR), UART_IIR_MSI);  // DSR fell
    EXPECT_EQ(in(UART_MSR), UART_MSR_CTS | UART_MSR_DCD | UART_MSR_DDSR);
    EXPECT_EQ(in(UART_IIR), UART_IIR_NO_INT);
}

TEST_F(UartTest, WrongWidthsAndOffsetsAreIgnored)
{
    EXPECT_EQ(uart_.read(UART_LSR, 2), 0xffffu);
    EXPECT_EQ(uart_.read(UART_LSR, 4), 0xffffffffu);
    EXPECT_EQ(uart_.read(8, 1), 0xffu);
    uart_.write(UART_TX, 2, 'x');
    uart_.write(UART_SCR, 4, 0x12345678);
    EXPECT_TRUE(sink_.bytes().empty());
    EXPECT_EQ(in(UART_SCR), 0);
    EXPECT_EQ(uart_.counters().bad_accesses, 5u);
}

// Snapshots.  A UART with every interrupt source pending at once: an
// overrun, a FIFO of loopback and host bytes at its trigger level, THRE,
// and a modem-status change; a divisor and a scratch byte.
void drive_busy(Uart16550& uart)
{
    auto out = [&](uint16_t offset, uint8_t value) { uart.write(offset, 1, value); };
    out(UART_LCR, UART_LCR_DLAB | UART_LCR_WLEN8);
    out(UART_DLL, 0x01);
    out(UART_DLM, 0x02);
    out(UART_LCR, UART_LCR_WLEN8);
    out(UART_SCR, 0x5a);
    out(UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_TRIGGER_8);
    out(UART_IER, UART_IER_RDI | UART_IER_THRI | UART_IER_RLSI | UART_IER_MSI);
    out(UART_MCR, UART_MCR_LOOP | UART_MCR_RTS | UART_MCR_OUT2);
    for (char c : std::string("0123456789abcdefg")) {
        out(UART_TX, static_cast<uint8_t>(c));  // the 17th overruns
    }
    out(UART_MCR, UART_MCR_DTR | UART_MCR_OUT2);
    for (int i = 0; i < 9; ++i) {
        uart.read(UART_RX, 1);
    }
    const std::string host = "XY";
    uart.push_input(std::span(reinterpret_cast<const uint8_t*>(host.data()), host.size()));
}

// Every register, each interrupt taken in turn (reads clear them), the
// FIFO in order, and the IRQ level after each read.
std::vector<int> observe(Uart16550& uart, const FakeIrqLine& irq)
{
    std::vector<int> seen;
    auto read = [&](uint16_t offset) {
        seen.push_back(static_cast<int>(uart.read(offset, 1)));
        seen.push_back(irq.level());
    };
    for (uint16_t offset : {UART_IIR, UART_LSR, UART_IIR}) {
        read(offset);
    }
    for (size_t i = 0; i < Uart16550::kFifoSize; ++i) {
        read(UART_RX);
    }
    for (uint16_t offset : {UART_IIR, UART_IIR, UART_MSR, UART_IIR, UART_IER, UART_LCR, UART_MCR, UART_SCR}) {
        read(offset);
    }
    uart.write(UART_LCR, 1, UART_LCR_DLAB | UART_LCR_WLEN8);
    read(UART_DLL);
    read(UART_DLM);
    return seen;
}

std::vector<uint8_t> busy_uart_state()
{
    FakeIrqLine irq;
    CaptureSink sink;
    Uart16550 uart(irq, sink);
    drive_busy(uart);
    StateWriter state;
    uart.save(state);
    return state.bytes();
}

bool restores(std::span<const uint8_t> bytes)
{
    FakeIrqLine irq;
    CaptureSink sink;
    Uart16550 uart(irq, sink);
    StateReader in(bytes);
    return uart.restore(in);
}

TEST_F(UartTest, SnapshotRoundTripKeepsRegistersFifoAndInterrupts)
{
    drive_busy(uart_);
    ASSERT_TRUE(irq_.level());
    StateWriter state;
    uart_.save(state);

    FakeIrqLine irq;
    CaptureSink sink;
    Uart16550 copy(irq, sink);
    StateReader in(state.bytes());
    ASSERT_TRUE(copy.restore(in));
    EXPECT_TRUE(in.done());
    EXPECT_TRUE(irq.level());  // driven by the restore, before any access

    const std::vector<int> want = observe(uart_, irq_);
    ASSERT_EQ(want[0], UART_IIR_FIFO_ENABLED_16550A | UART_IIR_RLSI);
    ASSERT_EQ(want[4], UART_IIR_FIFO_ENABLED_16550A | UART_IIR_RDI);
    EXPECT_EQ(observe(copy, irq), want);

    copy.write(UART_LCR, 1, UART_LCR_WLEN8);
    copy.write(UART_TX, 1, 'z');
    EXPECT_EQ(sink.str(), "z");
}

TEST_F(UartTest, SnapshotRestoreDrivesTheLineEvenLow)
{
    StateWriter state;
    uart_.save(state);
    FakeIrqLine irq;
    irq.set_level(true);  // the wire as some earlier state left it
    CaptureSink sink;
    Uart16550 copy(irq, sink);
    StateReader in(state.bytes());
    ASSERT_TRUE(copy.restore(in));
    EXPECT_FALSE(irq.level());
}

TEST_F(UartTest, SnapshotRestoreRefusesTruncatedAndImpossibleStates)
{
    const std::vector<uint8_t> state = busy_uart_state();
    ASSERT_TRUE(restores(state));
    for (size_t n = 0; n < state.size(); ++n) {
        EXPECT_FALSE(restores(std::span(state).first(n))) << n;
    }
    constexpr size_t kIer = 0, kFcr = 1, kLsr = 4, kThrPending = 9, kFifoLevel = 10;
    const std::vector<std::pair<size_t, uint8_t>> impossible = {
        {kIer, 0x10}, {kFcr, UART_FCR_ENABLE_FIFO | UART_FCR_CLEAR_RCVR}, {kLsr, 0x60 | UART_LSR_PE},
        {kThrPending, 2}, {kFcr, 0}};  // 16450 mode holds one byte, not nine
    for (auto [at, value] : impossible) {
        std::vector<uint8_t> bad = state;
        bad[at] = value;
        EXPECT_FALSE(restores(bad)) << at << " = " << int{value};
    }
    std::vector<uint8_t> overfull = state;
    overfull[kFifoLevel] = Uart16550::kFifoSize + 1;
    overfull.resize(kFifoLevel + 1 + Uart16550::kFifoSize + 1, 'x');
    EXPECT_FALSE(restores(overfull));
}

}  // namespace
}  // namespace vmruntime::dev
