/* SPDX-License-Identifier: BSD-2-Clause */
/* 8254 PIT channel 0 (ports 0x40-0x43, IRQ 0), clocked at 1,193,182 Hz. */
#ifndef HELLO_PIT_H
#define HELLO_PIT_H

#include <stdint.h>

#define PIT_IRQ		0
#define PIT_CLOCK_HZ	1193182u
/* The 16-bit divisor cannot make channel 0 any slower. */
#define PIT_MIN_HZ	19u

/* Channel 0 in mode 2 (rate generator) at about hz (>= PIT_MIN_HZ). */
void pit_start_periodic(uint32_t hz);

#endif
