/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * 8259A initialisation as Linux's init_8259A does it: edge-triggered,
 * cascaded, 8086 mode, normal EOI.  The master's mask is kept here so that
 * unmasking needs no read of the IMR (each port access is a VM exit).
 */
#include "pic.h"

#define ICW1_ICW4	0x01	/* ICW4 follows */
#define ICW1_INIT	0x10
#define ICW3_SLAVE_ON_IR2	0x04	/* master: a slave on IR2 */
#define ICW3_SLAVE_ID	0x02	/* slave: its cascade identity */
#define ICW4_8086	0x01

static uint8_t master_mask = 0xff;

void
pic_init(uint8_t master_base, uint8_t slave_base)
{
	outb(PIC_MASTER_CMD, ICW1_INIT | ICW1_ICW4);
	outb(PIC_MASTER_DATA, master_base);
	outb(PIC_MASTER_DATA, ICW3_SLAVE_ON_IR2);
	outb(PIC_MASTER_DATA, ICW4_8086);
	outb(PIC_SLAVE_CMD, ICW1_INIT | ICW1_ICW4);
	outb(PIC_SLAVE_DATA, slave_base);
	outb(PIC_SLAVE_DATA, ICW3_SLAVE_ID);
	outb(PIC_SLAVE_DATA, ICW4_8086);
	master_mask = 0xff;
	outb(PIC_MASTER_DATA, master_mask);
	outb(PIC_SLAVE_DATA, 0xff);
}

void
pic_unmask(unsigned irq)
{
	master_mask &= (uint8_t)~(1u << irq);
	outb(PIC_MASTER_DATA, master_mask);
}
