/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * PIT channel 0 as a periodic tick.  Control word bits follow the 8254
 * datasheet: SC (channel), RW (access), M (mode), BCD.
 */
#include "pit.h"

#include "io.h"

#define PIT_CH0		0x40
#define PIT_MODE	0x43

#define PIT_SC_CH0	0x00
#define PIT_RW_LOHI	0x30	/* low byte, then high byte */
#define PIT_M_RATE	0x04	/* mode 2: rate generator */

void
pit_start_periodic(uint32_t hz)
{
	/* Rounded to nearest; 65536 is written as 0. */
	uint32_t divisor = (PIT_CLOCK_HZ + hz / 2) / hz;

	outb(PIT_MODE, PIT_SC_CH0 | PIT_RW_LOHI | PIT_M_RATE);
	outb(PIT_CH0, (uint8_t)divisor);
	outb(PIT_CH0, (uint8_t)(divisor >> 8));
}
