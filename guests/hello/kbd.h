/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The keyboard behind the i8042 (data 0x60, status 0x64, IRQ 1), left as a
 * BIOS leaves it: interrupts on, set-2 codes translated to set 1.  The
 * guest reads it for one chord only: Ctrl-Alt-Del, which the host sends to
 * ask for a shutdown.
 */
#ifndef HELLO_KBD_H
#define HELLO_KBD_H

#define KBD_IRQ		1

/*
 * Reads every byte the controller holds; returns 1 once Delete was pressed
 * with Ctrl and Alt held.  For the IRQ 1 handler.
 */
int kbd_read_chord(void);

#endif
