/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * 8259A pair: master 0x20/0x21, slave 0xa0/0xa1, cascaded on IRQ 2.
 * Command names follow the 8259A datasheet (ICW1-4, OCW2).
 */
#ifndef HELLO_PIC_H
#define HELLO_PIC_H

#include <stdint.h>

#include "io.h"

#define PIC_MASTER_CMD	0x20
#define PIC_MASTER_DATA	0x21
#define PIC_SLAVE_CMD	0xa0
#define PIC_SLAVE_DATA	0xa1

#define OCW2_EOI	0x20	/* non-specific end of interrupt */

/* Remaps IRQ 0-7 to master_base and IRQ 8-15 to slave_base, all masked. */
void pic_init(uint8_t master_base, uint8_t slave_base);
/* Unmasks a master IRQ (0-7). */
void pic_unmask(unsigned irq);

/* Ends a master IRQ; inline for interrupt handlers. */
static inline void
pic_eoi(void)
{
	outb(PIC_MASTER_CMD, OCW2_EOI);
}

#endif
