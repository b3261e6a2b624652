// SPDX-License-Identifier: BSD-2-Clause
//
// Intel 8254 PIT (ports 0x40-0x43, OUT0 on IRQ 0).  Counter values and OUT
// levels are pure functions of the ticks elapsed in the CE's current cycle;
// the only events scheduled are OUT0's rising edges.  Mode and bit names
// follow the Intel 8254 datasheet.
#include "vmruntime/dev/pit8254.h"

namespace vmruntime::dev {

namespace {

using std::chrono::nanoseconds;

constexpr uint64_t kNsPerSec = 1'000'000'000;
constexpr uint32_t kBinaryModulus = 0x10000;
constexpr uint32_t kBcdModulus = 10000;
constexpr unsigned kCounterOffsets = 3;   // offsets 0-2; 3 is the control word
constexpr uint32_t kAllOnes = 0xff;

// Whole ticks of the 1.193182 MHz clock in `d` (none in a negative span).
uint64_t ticks_in(nanoseconds d)
{
    if (d.count() <= 0) {
        return 0;
    }
    auto ns = static_cast<uint64_t>(d.count());
    return ns / kNsPerSec * kPitFrequencyHz + ns % kNsPerSec * kPitFrequencyHz / kNsPerSec;
}

// The shortest span holding `ticks` whole ticks: ticks_in(duration_of(n)) == n.
nanoseconds duration_of(uint64_t ticks)
{
    uint64_t whole = ticks / kPitFrequencyHz;
    uint64_t part = ticks % kPitFrequencyHz;
    uint64_t ns = whole * kNsPerSec + (part * kNsPerSec + kPitFrequencyHz - 1) / kPitFrequencyHz;
    return nanoseconds(static_cast<int64_t>(ns));
}

// Modes 6 and 7 are the datasheet's "X10"/"X11" spellings of 2 and 3.
unsigned mode_of(const PitChannelState& c)
{
    return c.mode >= 6 ? c.mode - 4 : c.mode;
}

bool hardware_triggered(const PitChannelState& c)
{
    unsigned m = mode_of(c);
    return m == 1 || m == 5;
}

bool periodic(const PitChannelState& c)
{
    unsigned m = mode_of(c);
    return m == 2 || m == 3;
}

uint32_t modulus(const PitChannelState& c)
{
    return c.bcd ? kBcdModulus : kBinaryModulus;
}

// GATE low suspends counting in modes 0 and 4 and stops it in 2 and 3; in
// modes 1 and 5 it only triggers.
bool counting(const PitChannelState& c)
{
    return c.armed && (c.gate || hardware_triggered(c));
}

uint64_t ticks(const PitChannelState& c, nanoseconds now)
{
    return c.base_ticks + (counting(c) ? ticks_in(now - c.run_start) : 0);
}

uint32_t decode_count(uint16_t raw, bool bcd)
{
    if (!bcd) {
        return raw ? raw : kBinaryModulus;
    }
    // Invalid BCD digits (A-F) are taken at face value.
    uint32_t v = (raw >> 12) * 1000 + ((raw >> 8) & 0xf) * 100 + ((raw >> 4) & 0xf) * 10 + (raw & 0xf);
    return v ? v : kBcdModulus;
}

uint16_t encode_count(uint32_t v, bool bcd)
{
    if (!bcd) {
        return static_cast<uint16_t>(v);
    }
    v %= kBcdModulus;
    return static_cast<uint16_t>((v / 1000) << 12 | (v / 100 % 10) << 8 | (v / 10 % 10) << 4 | v % 10);
}

uint32_t high_half(uint32_t n)
{
    return (n + 1) / 2;
}

// Mode 3 counts down by two.  An odd count is loaded as N, then drops by one
// (high half) or three (low half) on the first tick and by two after, so
// OUT is high for (N+1)/2 ticks and low for (N-1)/2.
uint32_t square_wave_count(uint32_t n, uint64_t t)
{
    uint64_t pos = t % n;
    bool high = pos < high_half(n);
    uint64_t k = high ? pos : pos - high_half(n);
    if (!(n & 1)) {
        return static_cast<uint32_t>(n - 2 * k);
    }
    if (k == 0) {
        return n;
    }
    return static_cast<uint32_t>(high ? n + 1 - 2 * k : n - 1 - 2 * k);
}

uint32_t ce_value(const PitChannelState& c, uint64_t t)
{
    switch (mode_of(c)) {
    case 2: return static_cast<uint32_t>(c.n - t % c.n);
    case 3: return square_wave_count(c.n, t);
    default: {
        uint32_t mod = modulus(c);
        return static_cast<uint32_t>((c.n + mod - t % mod) % mod);
    }
    }
}

// The 16-bit value the CPU reads (or latches) now.
uint16_t read_value(const PitChannelState& c, nanoseconds now)
{
    if (!c.armed) {
        return c.idle_count;
    }
    return encode_count(ce_value(c, ticks(c, now)), c.bcd);
}

bool out_now(const PitChannelState& c, nanoseconds now)
{
    unsigned m = mode_of(c);
    if (!c.armed) {
        return m != 0;  // the level a control word sets: low in mode 0, else high
    }
    if (periodic(c) && !c.gate) {
        return true;
    }
    uint64_t t = ticks(c, now);
    switch (m) {
    case 0:
    case 1: return t >= c.n;
    case 2: return t % c.n != c.n - 1;
    case 3: return t % c.n < high_half(c.n);
    default: return t != c.n;  // 4, 5: low for the one tick at terminal count
    }
}

uint8_t status_byte(const PitChannelState& c, nanoseconds now)
{
    return static_cast<uint8_t>((out_now(c, now) ? PIT_STATUS_OUTPUT : 0) |
                                (c.null_count ? PIT_STATUS_NULL_COUNT : 0) |
                                static_cast<uint8_t>(c.rw) << PIT_CW_RW_SHIFT |
                                c.mode << PIT_CW_MODE_SHIFT | (c.bcd ? PIT_CW_BCD : 0));
}

// CR -> CE: the CE starts a cycle of `n` ticks now.
void start(PitChannelState& c, nanoseconds now)
{
    c.armed = true;
    c.n = c.cr;
    c.base_ticks = 0;
    c.run_start = now;
    c.reload_at.reset();
    c.null_count = false;
}

// Applies a mode 2/3 reload that fell due by `now`.
void catch_up(PitChannelState& c, nanoseconds now)
{
    if (c.reload_at && now >= *c.reload_at) {
        c.n = c.cr;
        c.base_ticks = c.reload_phase;
        c.run_start = *c.reload_at;
        c.reload_at.reset();
        c.null_count = false;
    }
}

// A count written while mode 2 or 3 is counting takes effect at the end of
// the current cycle (mode 2) or half-cycle (mode 3).
void schedule_reload(PitChannelState& c, nanoseconds now)
{
    uint64_t t = ticks(c, now);
    uint64_t pos = t % c.n;
    uint64_t boundary = t - pos + c.n;
    c.reload_phase = 0;
    if (mode_of(c) == 3 && pos < high_half(c.n)) {
        boundary = t - pos + high_half(c.n);
        c.reload_phase = high_half(c.cr);  // the new count starts in its low half
    }
    c.reload_at = c.run_start + duration_of(boundary - c.base_ticks);
    c.null_count = true;
}

// OUT's next rising edge after `now` within the CE's current cycle length.
std::optional<nanoseconds> rising_edge_after(const PitChannelState& c, nanoseconds now)
{
    if (!counting(c)) {
        return std::nullopt;
    }
    uint64_t t = ticks(c, now);
    uint64_t edge = 0;
    switch (mode_of(c)) {
    case 0:
    case 1:
        if (t >= c.n) {
            return std::nullopt;
        }
        edge = c.n;
        break;
    case 2:
    case 3:
        if (c.n < 2) {
            return std::nullopt;  // count 1 is illegal here; OUT never rises
        }
        edge = (t / c.n + 1) * c.n;
        break;
    default:
        if (t > c.n) {
            return std::nullopt;
        }
        edge = c.n + 1;
        break;
    }
    return c.run_start + duration_of(edge - c.base_ticks);
}

std::optional<nanoseconds> next_rising_edge(const PitChannelState& c, nanoseconds now)
{
    std::optional<nanoseconds> edge = rising_edge_after(c, now);
    if (!c.reload_at || (edge && *edge <= *c.reload_at)) {
        return edge;
    }
    PitChannelState reloaded = c;
    catch_up(reloaded, *c.reload_at);
    return rising_edge_after(reloaded, *c.reload_at);
}

}  // namespace

Pit8254::Pit8254(const Clock& clock, Timer& timer, IrqLine& irq0)
    : clock_(clock), timer_(timer), irq0_(irq0)
{
    channels_[0].gate = true;
    channels_[1].gate = true;
    channels_[2].gate = false;  // port 0x61 bit 0 resets to 0
}

Pit8254::~Pit8254()
{
    if (irq0_deadline_) {
        timer_.cancel();
    }
}

uint32_t Pit8254::read(uint16_t offset, unsigned size)
{
    if (size != 1 || offset >= kCounterOffsets) {
        ++ignored_accesses_;
        return ~0u;
    }
    return read_counter(offset);
}

void Pit8254::write(uint16_t offset, unsigned size, uint32_t value)
{
    if (size != 1 || offset > kCounterOffsets) {
        ++ignored_accesses_;
        return;
    }
    auto byte = static_cast<uint8_t>(value);
    if (offset == kCounterOffsets) {
        write_control(byte);
    } else {
        write_counter(offset, byte);
    }
}

bool Pit8254::output(unsigned channel) const
{
    nanoseconds now = clock_.monotonic();
    PitChannelState c = channels_.at(channel);
    catch_up(c, now);
    return out_now(c, now);
}

void Pit8254::set_gate(unsigned channel, bool high)
{
    PitChannelState& c = channels_.at(channel);
    if (c.gate == high) {
        return;
    }
    nanoseconds now = clock_.monotonic();
    catch_up(c, now);
    bool was_counting = counting(c);
    uint64_t t = ticks(c, now);
    c.gate = high;
    if (counting(c) != was_counting) {
        c.base_ticks = t;  // freeze (or resume) where the CE stands
        c.run_start = now;
    }
    if (!high) {
        c.reload_at.reset();  // the rising edge reloads CR anyway
    } else if ((hardware_triggered(c) && c.cr_valid) || (periodic(c) && c.armed)) {
        start(c, now);
    }
    if (channel == 0) {
        reschedule_irq0(now);
    }
}

void Pit8254::write_control(uint8_t value)
{
    unsigned sc = value >> PIT_CW_SC_SHIFT;
    if (sc == PIT_SC_READBACK) {
        read_back(value);
    } else if (((value >> PIT_CW_RW_SHIFT) & PIT_CW_RW_MASK) == static_cast<uint8_t>(PitRw::Latch)) {
        latch_count(sc);
    } else {
        mode_set(sc, value);
    }
}

// A control word resets the counter's control logic: no count, OUT at the
// mode's initial level, byte flip-flops and latches cleared.
void Pit8254::mode_set(unsigned ch, uint8_t value)
{
    PitChannelState& c = channels_[ch];
    nanoseconds now = clock_.monotonic();
    catch_up(c, now);
    PitChannelState fresh;
    fresh.gate = c.gate;
    fresh.idle_count = read_value(c, now);  // the CE keeps whatever it held
    fresh.mode = (value >> PIT_CW_MODE_SHIFT) & PIT_CW_MODE_MASK;
    fresh.rw = static_cast<PitRw>((value >> PIT_CW_RW_SHIFT) & PIT_CW_RW_MASK);
    fresh.bcd = value & PIT_CW_BCD;
    c = fresh;
    if (ch == 0) {
        reschedule_irq0(now);
    }
}

void Pit8254::read_back(uint8_t value)
{
    for (unsigned ch = 0; ch < kPitChannels; ++ch) {
        if (!(value & (PIT_RB_CNT0 << ch))) {
            continue;
        }
        if (!(value & PIT_RB_COUNT)) {
            latch_count(ch);
        }
        if (!(value & PIT_RB_STATUS)) {
            latch_status(ch);
        }
    }
}

// A second latch before the first is read is ignored, as on the 8254.
void Pit8254::latch_count(unsigned ch)
{
    PitChannelState& c = channels_[ch];
    if (!c.latched_count) {
        nanoseconds now = clock_.monotonic();
        catch_up(c, now);
        c.latched_count = read_value(c, now);
    }
}

void Pit8254::latch_status(unsigned ch)
{
    PitChannelState& c = channels_[ch];
    if (!c.latched_status) {
        nanoseconds now = clock_.monotonic();
        catch_up(c, now);
        c.latched_status = status_byte(c, now);
    }
}

void Pit8254::write_counter(unsigned ch, uint8_t value)
{
    PitChannelState& c = channels_[ch];
    const nanoseconds now = clock_.monotonic();
    switch (c.rw) {
    case PitRw::Lsb: load_count(ch, value, now); break;
    case PitRw::Msb: load_count(ch, static_cast<uint16_t>(value << 8), now); break;
    case PitRw::Latch: break;  // never stored: a control word with RW=0 is a latch
    case PitRw::LsbMsb:
        if (c.write_msb_next) {
            c.write_msb_next = false;
            load_count(ch, static_cast<uint16_t>(c.write_lsb | value << 8), now);
            break;
        }
        c.write_lsb = value;
        c.write_msb_next = true;
        if (mode_of(c) == 0) {
            // Mode 0: the first byte stops counting and sets OUT low.
            catch_up(c, now);
            c.idle_count = read_value(c, now);
            c.armed = false;
            c.null_count = true;
        }
        break;
    }
    if (ch == 0) {
        reschedule_irq0(now);
    }
}

void Pit8254::load_count(unsigned ch, uint16_t raw, nanoseconds now)
{
    PitChannelState& c = channels_[ch];
    catch_up(c, now);
    c.cr = decode_count(raw, c.bcd);
    c.cr_valid = true;
    if (hardware_triggered(c)) {
        c.null_count = true;  // loaded by the next GATE rising edge
    } else if (periodic(c) && c.armed && counting(c)) {
        schedule_reload(c, now);
    } else if (periodic(c) && c.armed) {
        c.null_count = true;  // GATE is low; its rising edge loads CR
    } else {
        start(c, now);
    }
}

uint8_t Pit8254::read_counter(unsigned ch)
{
    PitChannelState& c = channels_[ch];
    if (c.latched_status) {
        uint8_t s = *c.latched_status;
        c.latched_status.reset();
        return s;
    }
    uint16_t v = 0;
    if (c.latched_count) {
        v = *c.latched_count;
    } else {
        nanoseconds now = clock_.monotonic();
        catch_up(c, now);
        v = read_value(c, now);
    }
    bool msb = c.rw == PitRw::Msb || (c.rw == PitRw::LsbMsb && c.read_msb_next);
    if (c.rw == PitRw::LsbMsb) {
        c.read_msb_next = !c.read_msb_next;
    }
    if (c.rw != PitRw::LsbMsb || msb) {
        c.latched_count.reset();  // the latch holds until fully read
    }
    return static_cast<uint8_t>(msb ? v >> 8 : v & kAllOnes);
}

namespace {

void save_channel(StateWriter& out, const PitChannelState& c, nanoseconds now)
{
    out.put(c.mode);
    out.put(c.rw);
    for (bool flag : {c.bcd, c.gate, c.armed, c.cr_valid, c.null_count, c.write_msb_next, c.read_msb_next,
                      c.latched_msb_next}) {
        out.put(flag);
    }
    out.put(c.cr);
    out.put(c.n);
    out.put(c.base_ticks);
    out.put_time(c.run_start, now);
    out.put_time(c.reload_at, now);
    out.put(c.reload_phase);
    out.put(c.idle_count);
    out.put(c.write_lsb);
    out.put(c.latched_count);
    out.put(c.latched_status);
}

// Within these bounds no tick count or deadline the PIT derives overflows.
bool plausible(const PitChannelState& c)
{
    constexpr uint64_t kMaxTicks = 1ULL << 62;
    const bool counts = c.armed || c.reload_at || c.cr_valid;
    return c.mode <= PIT_CW_MODE_MASK && c.rw <= PitRw::LsbMsb && c.cr <= kBinaryModulus &&
           (!counts || c.cr >= 1) && c.n <= kBinaryModulus && (!c.armed || c.n >= 1) &&
           c.base_ticks < kMaxTicks && c.reload_phase <= kBinaryModulus;
}

void restore_channel(StateReader& in, PitChannelState& c, nanoseconds now)
{
    c.mode = in.get<uint8_t>();
    c.rw = in.get<PitRw>();
    for (bool* flag : {&c.bcd, &c.gate, &c.armed, &c.cr_valid, &c.null_count, &c.write_msb_next,
                       &c.read_msb_next, &c.latched_msb_next}) {
        *flag = in.get<bool>();
    }
    c.cr = in.get<uint32_t>();
    c.n = in.get<uint32_t>();
    c.base_ticks = in.get<uint64_t>();
    c.run_start = in.get_time(now);
    c.reload_at = in.get_optional_time(now);
    c.reload_phase = in.get<uint64_t>();
    c.idle_count = in.get<uint16_t>();
    c.write_lsb = in.get<uint8_t>();
    c.latched_count = in.get_optional<uint16_t>();
    c.latched_status = in.get_optional<uint8_t>();
    in.check(plausible(c));
}

}  // namespace

void Pit8254::save(StateWriter& out) const
{
    const nanoseconds now = clock_.monotonic();
    for (const PitChannelState& c : channels_) {
        save_channel(out, c, now);
    }
    out.put_time(irq0_deadline_, now);
}

bool Pit8254::restore(StateReader& in)
{
    const nanoseconds now = clock_.monotonic();
    for (PitChannelState& c : channels_) {
        restore_channel(in, c, now);
    }
    std::optional<nanoseconds> deadline = in.get_optional_time(now);
    if (!in.ok()) {
        return false;
    }
    irq0_deadline_ = deadline;
    if (deadline) {
        timer_.arm(*deadline, [this] { on_timer(); });
    } else {
        timer_.cancel();  // a reset restores over a counting PIT
    }
    return true;
}

// The first edge after `now`, the time the channel was last changed or
// looked at, not after a later reading of the clock: an edge that fell in
// between (a slow host, a preempted vCPU thread) is still delivered, at
// once, which matters most for a one-shot count that has no later edge.
void Pit8254::reschedule_irq0(nanoseconds now)
{
    std::optional<nanoseconds> next = next_rising_edge(channels_[0], now);
    if (next == irq0_deadline_) {
        return;
    }
    irq0_deadline_ = next;
    if (next) {
        timer_.arm(*next, [this] { on_timer(); });
    } else {
        timer_.cancel();
    }
}

// OUT0 rose at the armed deadline, and perhaps several times since if the
// strand ran late: one pulse covers them all, and the next deadline is the
// first edge after now.
void Pit8254::on_timer()
{
    nanoseconds now = clock_.monotonic();
    if (!irq0_deadline_) {
        return;  // cancelled after this callback was already queued
    }
    if (now < *irq0_deadline_) {
        timer_.arm(*irq0_deadline_, [this] { on_timer(); });
        return;
    }
    irq0_deadline_.reset();
    catch_up(channels_[0], now);
    irq0_.pulse();
    reschedule_irq0(now);
}

}  // namespace vmruntime::dev
