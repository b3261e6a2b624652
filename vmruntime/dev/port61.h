// SPDX-License-Identifier: BSD-2-Clause
//
// System Control Port B at port 0x61, as on the PC/AT and the PIIX: bit 0
// drives the 8254's GATE2, bit 1 enables the speaker data, bits 2-3 are
// read/write parity/channel-check disables, and reads add the refresh toggle
// (bit 4) and OUT2 (bit 5).  Bit names follow Intel's PIIX datasheet
// ("NMI Status and Control Register"); there is no speaker and no NMI source.
#pragma once

#include <cstdint>

#include "vmruntime/dev/device.h"
#include "vmruntime/dev/device_state.h"
#include "vmruntime/dev/pit8254.h"

namespace vmruntime::dev {

inline constexpr uint8_t PORT61_TIM2_GATE = 0x01;     // PIT counter 2 GATE
inline constexpr uint8_t PORT61_SPKR_DATA = 0x02;     // speaker data enable
inline constexpr uint8_t PORT61_PCHK_DIS = 0x04;      // parity check (SERR#) disable
inline constexpr uint8_t PORT61_IOCHK_DIS = 0x08;     // channel check (IOCHK#) disable
inline constexpr uint8_t PORT61_REFRESH = 0x10;       // refresh cycle toggle (read only)
inline constexpr uint8_t PORT61_TIM2_OUT = 0x20;      // PIT counter 2 OUT (read only)
inline constexpr uint8_t PORT61_WRITABLE = 0x0f;

class Port61 final : public PioDevice {
public:
    // `pit` must outlive this port.
    explicit Port61(Pit8254& pit) : pit_(pit) {}

    // Offset 0 only, byte accesses only; anything else is ignored (reads
    // return all ones) and counted.
    uint32_t read(uint16_t offset, unsigned size) override;
    void write(uint16_t offset, unsigned size, uint32_t value) override;

    uint64_t ignored_accesses() const { return ignored_accesses_; }

    // Snapshots (device_state.h): the port's whole state, the written bits
    // and the refresh toggle.  GATE2 is the PIT's to save and restore, so
    // restore only checks that the PIT, restored first, agrees with bit 0.
    void save(StateWriter& out) const;
    bool restore(StateReader& in);  // false: `in` failed or held a value the port cannot have; discard it

private:
    Pit8254& pit_;
    uint8_t control_ = 0;
    bool refresh_ = false;
    uint64_t ignored_accesses_ = 0;
};

}  // namespace vmruntime::dev
