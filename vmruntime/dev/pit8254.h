// SPDX-License-Identifier: BSD-2-Clause
//
// Intel 8254 programmable interval timer as wired in the PC: counters 0-2 at
// ports 0x40-0x42, the control word register at 0x43, a 1,193,182 Hz clock on
// every counter, GATE0/GATE1 tied high, GATE2 and OUT2 on port 0x61 (see
// port61.h), OUT0 on IRQ 0.  Names follow the Intel 8254 datasheet.
//
// Nothing ticks: a counter's value and OUT are computed from the time elapsed
// since its count was loaded, read from Clock::monotonic().  The load clock
// pulse is taken to coincide with the write.  Only OUT0 has a consumer that
// needs events, so only counter 0 uses the Timer: it is armed for OUT0's next
// rising edge, and each rising edge becomes one IrqLine::pulse() on IRQ 0.
// The PIC latches IRQ 0 on the rising edge, so a pulse is all it needs; a
// strand that runs late gets one pulse for all the edges it missed (the 8259A
// would latch only one), and the next deadline stays on the counter's own
// period grid, so the long-run rate is exact.
//
// All six modes are modelled (6 and 7 alias 2 and 3), including gate effects,
// mode 2/3 reloads at the end of the current cycle/half-cycle, the counter
// latch and read-back commands, the status byte and separate read and write
// byte flip-flops.  BCD counting is supported (0 means 10000; invalid BCD
// digits are taken at face value).  As on the PC, counter 0's gate is tied
// high, so modes 1 and 5 never start there; an illegal count of 1 in modes
// 2/3 gives an OUT that never rises, hence no IRQ 0 (and no timer storm).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>

#include "vmruntime/dev/device.h"
#include "vmruntime/dev/device_state.h"

namespace vmruntime::dev {

inline constexpr uint64_t kPitFrequencyHz = 1193182;
inline constexpr unsigned kPitChannels = 3;

// Control word (port 0x43): SC1 SC0 RW1 RW0 M2 M1 M0 BCD.
inline constexpr uint8_t PIT_CW_BCD = 0x01;
inline constexpr unsigned PIT_CW_MODE_SHIFT = 1;
inline constexpr uint8_t PIT_CW_MODE_MASK = 0x07;
inline constexpr unsigned PIT_CW_RW_SHIFT = 4;
inline constexpr uint8_t PIT_CW_RW_MASK = 0x03;
inline constexpr unsigned PIT_CW_SC_SHIFT = 6;
inline constexpr uint8_t PIT_SC_READBACK = 3;
// Read-back command: 1 1 COUNT STATUS CNT2 CNT1 CNT0 0; COUNT and STATUS are active low.
inline constexpr uint8_t PIT_RB_COUNT = 0x20;
inline constexpr uint8_t PIT_RB_STATUS = 0x10;
inline constexpr uint8_t PIT_RB_CNT0 = 0x02;
// Status byte: OUTPUT NULL-COUNT RW1 RW0 M2 M1 M0 BCD.
inline constexpr uint8_t PIT_STATUS_OUTPUT = 0x80;
inline constexpr uint8_t PIT_STATUS_NULL_COUNT = 0x40;

// RW1 RW0 of the control word; Latch is the counter latch command.
enum class PitRw : uint8_t { Latch = 0, Lsb = 1, Msb = 2, LsbMsb = 3 };

// One counter.  "CR" is the count register the CPU writes, "CE" the counting
// element.  While `counting`, the CE has been ticking since `run_start` from
// a value `base_ticks` ticks into its cycle of length `n`.
struct PitChannelState {
    uint8_t mode = 0;                // M2-M0 as written, for the status byte
    PitRw rw = PitRw::LsbMsb;
    bool bcd = false;
    bool gate = true;
    bool armed = false;              // the CE holds a count (mode 1/5: triggered)
    bool cr_valid = false;           // a full count has been written since the control word
    bool null_count = true;
    uint32_t cr = 0;                 // decoded count register, 1..65536 (BCD: 1..10000)
    uint32_t n = 0;                  // cycle length the CE counts now
    uint64_t base_ticks = 0;
    std::chrono::nanoseconds run_start{0};
    std::optional<std::chrono::nanoseconds> reload_at;  // mode 2/3: CR -> CE then
    uint64_t reload_phase = 0;       // mode 3: ticks into the new cycle at reload_at
    uint16_t idle_count = 0;         // what the CE reads while not armed
    uint8_t write_lsb = 0;
    bool write_msb_next = false;
    bool read_msb_next = false;
    std::optional<uint16_t> latched_count;
    bool latched_msb_next = false;
    std::optional<uint8_t> latched_status;
};

class Pit8254 final : public PioDevice {
public:
    // `irq0` is where OUT0's rising edges go (IRQ 0 of the PIC); `timer` is
    // used for counter 0 only.  All three must outlive the PIT.
    Pit8254(const Clock& clock, Timer& timer, IrqLine& irq0);
    ~Pit8254() override;
    Pit8254(const Pit8254&) = delete;
    Pit8254& operator=(const Pit8254&) = delete;

    // Offsets 0-2: counters 0-2; offset 3: control word (write only, reads
    // return all ones as on the 8254).  Byte accesses only.
    uint32_t read(uint16_t offset, unsigned size) override;
    void write(uint16_t offset, unsigned size, uint32_t value) override;

    // The GATE input of `channel` (0-2).  On the PC only GATE2 is driven
    // (port 0x61 bit 0); GATE0/GATE1 are tied high.
    void set_gate(unsigned channel, bool high);
    bool gate(unsigned channel) const { return channels_.at(channel).gate; }
    // The OUT pin of `channel` (0-2) now.
    bool output(unsigned channel) const;

    // Accesses of a width other than 1 or beyond offset 3, and reads of the
    // control word register: ignored and counted.
    uint64_t ignored_accesses() const { return ignored_accesses_; }

    // Snapshots: the counters, their phase against the clock, and counter
    // 0's pending rising edge, which a restored PIT re-arms (one already due
    // fires at once).  False: a state no guest could have made, and the PIT
    // is to be dropped.
    void save(StateWriter& out) const;
    bool restore(StateReader& in);

private:
    void write_control(uint8_t value);
    void mode_set(unsigned ch, uint8_t value);
    void read_back(uint8_t value);
    void latch_count(unsigned ch);
    void latch_status(unsigned ch);
    void write_counter(unsigned ch, uint8_t value);
    void load_count(unsigned ch, uint16_t raw, std::chrono::nanoseconds now);
    uint8_t read_counter(unsigned ch);
    void reschedule_irq0(std::chrono::nanoseconds now);
    void on_timer();

    const Clock& clock_;
    Timer& timer_;
    IrqLine& irq0_;
    std::array<PitChannelState, kPitChannels> channels_{};
    std::optional<std::chrono::nanoseconds> irq0_deadline_;
    uint64_t ignored_accesses_ = 0;
};

}  // namespace vmruntime::dev
