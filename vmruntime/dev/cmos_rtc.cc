// SPDX-License-Identifier: BSD-2-Clause
//
// CMOS RTC: calendar arithmetic with <chrono>, one Timer multiplexed
// between the once-a-second update event and the periodic event.
#include "vmruntime/dev/cmos_rtc.h"

#include <algorithm>

#include "vmruntime/dev/io_bus.h"

namespace vmruntime::dev {
namespace {

using std::chrono::nanoseconds;
using std::chrono::seconds;

// 244 us: how long UIP is set before the update cycle (MC146818A tBUC).
constexpr nanoseconds kUipWindow{244'000};
constexpr uint8_t kAlarmDontCare = 0xc0;  // an alarm byte of 11xxxxxx matches anything
constexpr uint8_t kHourPm = 0x80;         // 12-hour mode: PM flag in the hours byte

// Snapshot bounds.  The time bytes span years 0-9999, so no guest sets an
// offset beyond this from any wall clock of this era; and no event is
// pending further off than this, or late by more.  Both keep the calendar
// and catch-up arithmetic well inside its range.
constexpr int64_t kMaxOffset = 400'000'000'000;  // seconds, about 12,700 years
constexpr nanoseconds kMaxEventDistance = std::chrono::hours{24 * 366};

constexpr uint8_t kTimeRegisters[] = {RTC_SECONDS,      RTC_MINUTES, RTC_HOURS, RTC_DAY_OF_WEEK,
                                      RTC_DAY_OF_MONTH, RTC_MONTH,   RTC_YEAR,  RTC_CENTURY};

bool is_time_register(uint8_t index)
{
    return std::find(std::begin(kTimeRegisters), std::end(kTimeRegisters), index) != std::end(kTimeRegisters);
}

struct Calendar {
    int sec, min, hour, wday, mday, mon, year;  // wday 1 = Sunday, mon 1..12, full year
};

Calendar calendar_of(int64_t rtc_seconds)
{
    using namespace std::chrono;
    const sys_seconds t{seconds{rtc_seconds}};
    const sys_days day = floor<days>(t);
    const year_month_day ymd{day};
    const hh_mm_ss hms{t - day};
    return Calendar{static_cast<int>(hms.seconds().count()), static_cast<int>(hms.minutes().count()),
                    static_cast<int>(hms.hours().count()),   static_cast<int>(weekday{day}.c_encoding()) + 1,
                    static_cast<int>(unsigned{ymd.day()}),   static_cast<int>(unsigned{ymd.month()}),
                    static_cast<int>(ymd.year())};
}

nanoseconds wall_now(const Clock& clock)
{
    return std::chrono::duration_cast<nanoseconds>(clock.wall().time_since_epoch());
}

}  // namespace

CmosRtc::CmosRtc(Clock& clock, Timer& timer, IrqLine& irq) : clock_(clock), timer_(timer), irq_(irq)
{
}

CmosRtc::~CmosRtc()
{
    timer_.cancel();
}

uint32_t CmosRtc::read(uint16_t offset, unsigned size)
{
    if (size != 1 || offset != 1) {
        return all_ones(size);  // the index port is write-only
    }
    return read_register(index_);
}

void CmosRtc::write(uint16_t offset, unsigned size, uint32_t value)
{
    if (size != 1 || offset > 1) {
        return;
    }
    if (offset == 0) {
        index_ = value & 0x7f;
        nmi_masked_ = (value & 0x80) != 0;
    } else {
        write_register(index_, static_cast<uint8_t>(value));
    }
}

uint8_t CmosRtc::read_register(uint8_t index)
{
    if (is_time_register(index)) {
        return updates_running() ? encode_time(index, wall_seconds() + offset_) : ram_[index];
    }
    switch (index) {
    case RTC_REG_A:
        return static_cast<uint8_t>(reg_a_ | (update_in_progress() ? RTC_UIP : 0));
    case RTC_REG_B:
        return reg_b_;
    case RTC_REG_C:
        return read_reg_c();
    case RTC_REG_D:
        return RTC_VRT;
    default:
        return ram_[index];
    }
}

void CmosRtc::write_register(uint8_t index, uint8_t value)
{
    if (is_time_register(index)) {
        write_time(index, value);
        return;
    }
    switch (index) {
    case RTC_REG_A:
        write_reg_a(value);
        break;
    case RTC_REG_B:
        write_reg_b(value);
        break;
    case RTC_REG_C:
    case RTC_REG_D:
        break;  // read-only
    default:
        ram_[index] = value;
        break;
    }
}

// Stopping or restarting the divider stops or restarts updates, and a new
// rate restarts the periodic event.
void CmosRtc::write_reg_a(uint8_t value)
{
    const bool was_running = updates_running();
    if (was_running) {
        freeze_time();
    }
    if ((value ^ reg_a_) & RTC_RATE_SELECT) {
        periodic_deadline_.reset();
    }
    reg_a_ = value & static_cast<uint8_t>(~RTC_UIP);
    if (!was_running && updates_running()) {
        offset_ = frozen_seconds() - wall_seconds();
    }
    schedule();
}

// Setting SET aborts any update and clears UIE (MC146818A datasheet);
// clearing it resumes from whatever the time bytes now hold.
void CmosRtc::write_reg_b(uint8_t value)
{
    const bool was_running = updates_running();
    if (was_running) {
        freeze_time();
    }
    if (value & RTC_SET) {
        value &= static_cast<uint8_t>(~RTC_UIE);
    }
    reg_b_ = value;
    if (!was_running && updates_running()) {
        offset_ = frozen_seconds() - wall_seconds();
    }
    schedule();
    update_irq();
}

uint8_t CmosRtc::read_reg_c()
{
    const uint8_t enabled = reg_c_ & reg_b_ & (RTC_PF | RTC_AF | RTC_UF);
    const uint8_t value = static_cast<uint8_t>(reg_c_ | (enabled ? RTC_IRQF : 0));
    reg_c_ = 0;
    update_irq();
    return value;
}

// DV = 010 is the PC's 32.768 kHz time base.  DV0 is ignored because AMD
// chipsets use it as a bank select, and Linux leaves it set there.
bool CmosRtc::divider_running() const
{
    return (reg_a_ & 0x60) == RTC_REF_CLCK_32KHZ;
}

bool CmosRtc::updates_running() const
{
    return divider_running() && !(reg_b_ & RTC_SET);
}

int64_t CmosRtc::wall_seconds() const
{
    return std::chrono::floor<seconds>(wall_now(clock_)).count();
}

bool CmosRtc::update_in_progress() const
{
    const nanoseconds now = wall_now(clock_);
    const nanoseconds into_second = now - std::chrono::floor<seconds>(now);
    return updates_running() && into_second >= seconds{1} - kUipWindow;
}

uint8_t CmosRtc::to_bcd_if(int v) const
{
    if (reg_b_ & RTC_DM_BINARY) {
        return static_cast<uint8_t>(v);
    }
    return static_cast<uint8_t>(((v / 10) << 4) | (v % 10));
}

int CmosRtc::from_bcd_if(uint8_t v) const
{
    return (reg_b_ & RTC_DM_BINARY) ? v : (v >> 4) * 10 + (v & 0x0f);
}

uint8_t CmosRtc::encode_time(uint8_t index, int64_t rtc_seconds) const
{
    const Calendar c = calendar_of(rtc_seconds);
    switch (index) {
    case RTC_SECONDS:
        return to_bcd_if(c.sec);
    case RTC_MINUTES:
        return to_bcd_if(c.min);
    case RTC_HOURS:
        if (reg_b_ & RTC_24H) {
            return to_bcd_if(c.hour);
        }
        return static_cast<uint8_t>(to_bcd_if(c.hour % 12 == 0 ? 12 : c.hour % 12) | (c.hour >= 12 ? kHourPm : 0));
    case RTC_DAY_OF_WEEK:
        return to_bcd_if(c.wday);
    case RTC_DAY_OF_MONTH:
        return to_bcd_if(c.mday);
    case RTC_MONTH:
        return to_bcd_if(c.mon);
    case RTC_YEAR:
        return to_bcd_if(c.year % 100);
    default:
        return to_bcd_if(c.year / 100 % 100);
    }
}

// Updates stop: the time bytes keep the current time and become writable.
void CmosRtc::freeze_time()
{
    const int64_t now = wall_seconds() + offset_;
    for (uint8_t index : kTimeRegisters) {
        ram_[index] = encode_time(index, now);
    }
}

// The time the stopped time bytes stand for.  Out-of-range fields are
// clamped (a day past the month's end rolls over); the day of the week is
// ignored, as the date decides it.
int64_t CmosRtc::frozen_seconds() const
{
    using namespace std::chrono;
    auto field = [&](uint8_t index, int lo, int hi) { return std::clamp(from_bcd_if(ram_[index]), lo, hi); };
    int hour = 0;
    if (reg_b_ & RTC_24H) {
        hour = field(RTC_HOURS, 0, 23);
    } else {
        const int h12 = std::clamp(from_bcd_if(ram_[RTC_HOURS] & 0x7f), 1, 12) % 12;
        hour = (ram_[RTC_HOURS] & kHourPm) ? h12 + 12 : h12;
    }
    const int full_year = field(RTC_CENTURY, 0, 99) * 100 + field(RTC_YEAR, 0, 99);
    const year_month_day first{year{full_year}, month{static_cast<unsigned>(field(RTC_MONTH, 1, 12))}, day{1}};
    const sys_days date = sys_days{first} + days{field(RTC_DAY_OF_MONTH, 1, 31) - 1};
    const seconds time = hours{hour} + minutes{field(RTC_MINUTES, 0, 59)} + seconds{field(RTC_SECONDS, 0, 59)};
    return (date.time_since_epoch() + time).count();
}

// A write while updates run takes effect at once, as an offset; while they
// are stopped it only changes the byte.
void CmosRtc::write_time(uint8_t index, uint8_t value)
{
    if (!updates_running()) {
        ram_[index] = value;
        return;
    }
    freeze_time();
    ram_[index] = value;
    offset_ = frozen_seconds() - wall_seconds();
}

// RS 1 and 2 give 256 and 128 Hz; RS 3..15 give 32768 >> (RS - 1) Hz.
nanoseconds CmosRtc::periodic_interval() const
{
    const unsigned rs = reg_a_ & RTC_RATE_SELECT;
    if (rs == 0) {
        return nanoseconds{0};
    }
    const unsigned shift = rs <= 2 ? rs + 6 : rs - 1;
    return nanoseconds{(int64_t{1'000'000'000} << shift) / 32768};
}

bool CmosRtc::update_wanted() const
{
    return (reg_b_ & (RTC_UIE | RTC_AIE)) && updates_running();
}

bool CmosRtc::periodic_wanted() const
{
    return (reg_b_ & RTC_PIE) && divider_running() && periodic_interval() != nanoseconds{0};
}

void CmosRtc::schedule()
{
    const nanoseconds now = clock_.monotonic();
    if (!update_wanted()) {
        update_deadline_.reset();
    } else if (!update_deadline_) {
        const nanoseconds wall = wall_now(clock_);
        update_second_ = std::chrono::floor<seconds>(wall).count() + 1;
        update_deadline_ = now + (seconds{update_second_} - wall);
    }
    if (!periodic_wanted()) {
        periodic_deadline_.reset();
    } else if (!periodic_deadline_) {
        periodic_deadline_ = now + periodic_interval();
    }

    if (!update_deadline_ && !periodic_deadline_) {
        timer_.cancel();
        return;
    }
    const nanoseconds next = std::min(update_deadline_.value_or(nanoseconds::max()),
                                      periodic_deadline_.value_or(nanoseconds::max()));
    timer_.arm(next, [this] { on_timer(); });
}

// A late timer skips the updates and periodic ticks it missed: the flags
// are already set, and the guest cannot count them.
void CmosRtc::on_timer()
{
    const nanoseconds now = clock_.monotonic();
    if (update_deadline_ && *update_deadline_ <= now) {
        update_cycle(update_second_);
        const nanoseconds wall = wall_now(clock_);
        update_second_ = std::max(update_second_ + 1, std::chrono::floor<seconds>(wall).count() + 1);
        update_deadline_ = now + std::max(nanoseconds{0}, seconds{update_second_} - wall);
    }
    if (periodic_deadline_ && *periodic_deadline_ <= now) {
        reg_c_ |= RTC_PF;
        const nanoseconds period = periodic_interval();
        *periodic_deadline_ += period * ((now - *periodic_deadline_) / period + 1);
    }
    schedule();
    update_irq();
}

void CmosRtc::update_cycle(int64_t wall_second)
{
    const int64_t now = wall_second + offset_;
    auto matches = [&](uint8_t alarm, uint8_t time) {
        return (ram_[alarm] & kAlarmDontCare) == kAlarmDontCare || ram_[alarm] == encode_time(time, now);
    };
    reg_c_ |= RTC_UF;
    if (matches(RTC_SECONDS_ALARM, RTC_SECONDS) && matches(RTC_MINUTES_ALARM, RTC_MINUTES) &&
        matches(RTC_HOURS_ALARM, RTC_HOURS)) {
        reg_c_ |= RTC_AF;
    }
}

// IRQF = PF.PIE + AF.AIE + UF.UIE; the line follows it until C is read.
void CmosRtc::update_irq()
{
    const bool level = (reg_c_ & reg_b_ & (RTC_PF | RTC_AF | RTC_UF)) != 0;
    if (level != line_) {
        line_ = level;
        irq_.set_level(level);
    }
}

// The pending update's wall second is saved against the wall clock, as
// its deadline is against the monotonic one.  The line is derived.
void CmosRtc::save(StateWriter& out) const
{
    const nanoseconds now = clock_.monotonic();
    out.put(index_);
    out.put(nmi_masked_);
    for (uint8_t reg : {reg_a_, reg_b_, reg_c_}) {
        out.put(reg);
    }
    out.put(offset_);
    out.put_bytes(ram_);
    out.put_time(update_deadline_, now);
    out.put<int64_t>(update_deadline_ ? update_second_ - wall_seconds() : 0);
    out.put_time(periodic_deadline_, now);
}

// schedule() arms the timer for the restored deadlines as it would have
// for the saved ones; the fresh RTC's line may already read the restored
// level while the wire does not, so it is driven regardless.
bool CmosRtc::restore(StateReader& in)
{
    const nanoseconds now = clock_.monotonic();
    index_ = in.get<uint8_t>();
    nmi_masked_ = in.get<bool>();
    for (uint8_t* reg : {&reg_a_, &reg_b_, &reg_c_}) {
        *reg = in.get<uint8_t>();
    }
    offset_ = in.get<int64_t>();
    in.get_bytes(ram_);
    update_deadline_ = in.get_optional_time(now);
    const auto update_in = in.get<int64_t>();
    periodic_deadline_ = in.get_optional_time(now);
    if (!in.check(registers_plausible() && events_plausible(now, update_in))) {
        return false;
    }
    update_second_ = wall_seconds() + update_in;
    schedule();
    update_irq();
    irq_.set_level(line_);
    return true;
}

// What the register writes can leave behind: UIP and IRQF are derived, SET
// clears UIE, and registers A-D have no RAM byte behind them.
bool CmosRtc::registers_plausible() const
{
    const bool unused_ram_clear =
        std::all_of(ram_.begin() + RTC_REG_A, ram_.begin() + RTC_REG_D + 1, [](uint8_t byte) { return byte == 0; });
    return index_ < kCmosRegisters && !(reg_a_ & RTC_UIP) && !((reg_b_ & RTC_SET) && (reg_b_ & RTC_UIE)) &&
           (reg_c_ & ~(RTC_PF | RTC_AF | RTC_UF)) == 0 && offset_ >= -kMaxOffset && offset_ <= kMaxOffset &&
           unused_ram_clear;
}

// An event is pending exactly when schedule() would keep one, and a
// periodic one never further off than a period.
bool CmosRtc::events_plausible(nanoseconds now, int64_t update_in) const
{
    const auto near = [&](nanoseconds t, nanoseconds ahead) {
        return t >= now - kMaxEventDistance && t <= now + ahead;
    };
    const int64_t max_update_in = std::chrono::duration_cast<seconds>(kMaxEventDistance).count();
    const bool update_ok = update_deadline_ ? near(*update_deadline_, kMaxEventDistance) &&
                                                  update_in >= -max_update_in && update_in <= max_update_in
                                            : update_in == 0;
    const bool periodic_ok = !periodic_deadline_ || near(*periodic_deadline_, periodic_interval());
    return update_deadline_.has_value() == update_wanted() && periodic_deadline_.has_value() == periodic_wanted() &&
           update_ok && periodic_ok;
}

}  // namespace vmruntime::dev
