// SPDX-License-Identifier: BSD-2-Clause
//
// MC146818A-compatible CMOS RTC: index port 0x70 (bit 7 masks NMI), data
// port 0x71, registered as one device of two ports; IRQ 8.  Register and bit
// names follow Linux's <linux/mc146818rtc.h> (RTC_UIP, RTC_SET, RTC_DM_BINARY).
//
// Time is the host's UTC wall clock plus a whole-second offset that the
// guest sets by writing the time registers; updates happen on the wall
// clock's second boundaries.  The registers read in BCD or binary and in 12-
// or 24-hour form as status B asks.  While updates are stopped (SET, or the
// divider not running) the time registers are plain bytes the guest may
// rewrite; when updates resume the bytes become the new offset.  The day of
// the week is derived from the date, and the century byte (0x32) is part of
// the time.  UIP reads 1 for the 244 us before each update, as on the chip.
//
// Update-ended, alarm and periodic events are raised from a Timer, and only
// while their enable bit in status B is set: a guest that polls status C with
// the interrupt disabled sees no flags.  Linux's rtc-cmos enables the
// interrupt before it waits on any of them.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>

#include "vmruntime/dev/device.h"
#include "vmruntime/dev/device_state.h"

namespace vmruntime::dev {

inline constexpr uint8_t RTC_SECONDS = 0x00;
inline constexpr uint8_t RTC_SECONDS_ALARM = 0x01;
inline constexpr uint8_t RTC_MINUTES = 0x02;
inline constexpr uint8_t RTC_MINUTES_ALARM = 0x03;
inline constexpr uint8_t RTC_HOURS = 0x04;
inline constexpr uint8_t RTC_HOURS_ALARM = 0x05;
inline constexpr uint8_t RTC_DAY_OF_WEEK = 0x06;  // 1 = Sunday
inline constexpr uint8_t RTC_DAY_OF_MONTH = 0x07;
inline constexpr uint8_t RTC_MONTH = 0x08;
inline constexpr uint8_t RTC_YEAR = 0x09;  // 0..99
inline constexpr uint8_t RTC_REG_A = 0x0a;
inline constexpr uint8_t RTC_REG_B = 0x0b;
inline constexpr uint8_t RTC_REG_C = 0x0c;
inline constexpr uint8_t RTC_REG_D = 0x0d;
inline constexpr uint8_t RTC_CENTURY = 0x32;  // the PC/AT century byte
inline constexpr uint8_t kCmosRegisters = 128;

inline constexpr uint8_t RTC_UIP = 0x80;          // A: update in progress
inline constexpr uint8_t RTC_DIV_CTL = 0x70;      // A: divider control (DV2..0)
inline constexpr uint8_t RTC_REF_CLCK_32KHZ = 0x20;
inline constexpr uint8_t RTC_DIV_RESET2 = 0x70;
inline constexpr uint8_t RTC_RATE_SELECT = 0x0f;  // A: periodic rate (RS3..0)

inline constexpr uint8_t RTC_SET = 0x80;          // B: stop updates
inline constexpr uint8_t RTC_PIE = 0x40;          // B: periodic interrupt enable
inline constexpr uint8_t RTC_AIE = 0x20;          // B: alarm interrupt enable
inline constexpr uint8_t RTC_UIE = 0x10;          // B: update-ended interrupt enable
inline constexpr uint8_t RTC_SQWE = 0x08;         // B: square wave enable
inline constexpr uint8_t RTC_DM_BINARY = 0x04;    // B: binary, not BCD
inline constexpr uint8_t RTC_24H = 0x02;          // B: 24-hour mode
inline constexpr uint8_t RTC_DST_EN = 0x01;       // B: daylight saving (not applied)

inline constexpr uint8_t RTC_IRQF = 0x80;  // C: an enabled flag is set
inline constexpr uint8_t RTC_PF = 0x40;    // C: periodic
inline constexpr uint8_t RTC_AF = 0x20;    // C: alarm
inline constexpr uint8_t RTC_UF = 0x10;    // C: update ended

inline constexpr uint8_t RTC_VRT = 0x80;  // D: valid RAM and time (battery good)

class CmosRtc final : public PioDevice {
public:
    // Everything must outlive the RTC.  `timer` is the RTC's own.
    CmosRtc(Clock& clock, Timer& timer, IrqLine& irq);
    ~CmosRtc() override;
    CmosRtc(const CmosRtc&) = delete;
    CmosRtc& operator=(const CmosRtc&) = delete;

    // Offset 0 is the index port (write-only), offset 1 the data port.
    uint32_t read(uint16_t offset, unsigned size) override;
    void write(uint16_t offset, unsigned size, uint32_t value) override;

    // Bit 7 of the last index written: the platform's NMI mask.
    bool nmi_masked() const { return nmi_masked_; }

    // Snapshots (device_state.h): the RTC's whole state: registers, CMOS
    // RAM, the offset from the wall clock and the pending update and
    // periodic events, which a restored RTC re-arms on their old deadlines
    // (one already due fires at once), so periodic interrupts keep their
    // phase.  Restore drives IRQ 8 to the level the state implies.
    void save(StateWriter& out) const;
    bool restore(StateReader& in);  // false: `in` failed or held a value the RTC cannot have; discard it

private:
    uint8_t read_register(uint8_t index);
    void write_register(uint8_t index, uint8_t value);
    void write_reg_a(uint8_t value);
    void write_reg_b(uint8_t value);
    uint8_t read_reg_c();

    bool divider_running() const;
    bool updates_running() const;
    int64_t wall_seconds() const;
    bool update_in_progress() const;

    uint8_t to_bcd_if(int v) const;
    int from_bcd_if(uint8_t v) const;
    uint8_t encode_time(uint8_t index, int64_t rtc_seconds) const;
    void freeze_time();
    int64_t frozen_seconds() const;
    void write_time(uint8_t index, uint8_t value);

    std::chrono::nanoseconds periodic_interval() const;
    bool update_wanted() const;
    bool periodic_wanted() const;
    bool registers_plausible() const;
    bool events_plausible(std::chrono::nanoseconds now, int64_t update_in) const;
    void schedule();
    void on_timer();
    void update_cycle(int64_t wall_second);
    void update_irq();

    Clock& clock_;
    Timer& timer_;
    IrqLine& irq_;

    uint8_t index_ = 0;
    bool nmi_masked_ = false;
    uint8_t reg_a_ = RTC_REF_CLCK_32KHZ | 0x06;  // running, 1024 Hz periodic rate
    uint8_t reg_b_ = RTC_24H;
    uint8_t reg_c_ = 0;       // PF/AF/UF only; IRQF is derived
    int64_t offset_ = 0;      // RTC seconds minus wall seconds
    std::array<uint8_t, kCmosRegisters> ram_{};  // time bytes while stopped, alarms, NVRAM

    std::optional<std::chrono::nanoseconds> update_deadline_;    // monotonic
    int64_t update_second_ = 0;                                  // wall second it is for
    std::optional<std::chrono::nanoseconds> periodic_deadline_;  // monotonic
    bool line_ = false;
};

}  // namespace vmruntime::dev
