/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Port I/O for the hello guest, and power-off through the machine's
 * debug-exit port (0x501: a write of V stops the machine with status V).
 */
#ifndef HELLO_IO_H
#define HELLO_IO_H

#include <stdint.h>

#define DEBUG_EXIT_PORT	0x501

static inline void
outb(uint16_t port, uint8_t value)
{
	__asm__ volatile("outb %0, %1" : : "a"(value), "Nd"(port));
}

static inline void
outl(uint16_t port, uint32_t value)
{
	__asm__ volatile("outl %0, %1" : : "a"(value), "Nd"(port));
}

static inline uint8_t
inb(uint16_t port)
{
	uint8_t value;

	__asm__ volatile("inb %1, %0" : "=a"(value) : "Nd"(port));
	return value;
}

/* A 4-byte write, so that statuses above 255 arrive whole. */
__attribute__((noreturn)) static inline void
power_off(uint32_t status)
{
	outl(DEBUG_EXIT_PORT, status);
	for (;;)
		__asm__ volatile("cli; hlt");
}

#endif
