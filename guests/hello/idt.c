/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * 64-bit interrupt gates (Intel SDM vol. 3, 6.14.1).  Gates name the code
 * segment the loader left in CS rather than a constant, so the guest does
 * not depend on the loader's GDT layout.
 */
#include "idt.h"

#include "io.h"
#include "uart.h"

#define IDT_VECTORS		256
#define EXCEPTION_VECTORS	32
#define EXCEPTION_STUB_SIZE	16	/* see vectors.S */
/* Present, DPL 0, 64-bit interrupt gate: IF is cleared on entry. */
#define GATE_INTERRUPT_DPL0	0x8e

struct idt_gate {
	uint16_t offset_low;
	uint16_t selector;
	uint8_t ist;
	uint8_t type_attr;
	uint16_t offset_mid;
	uint32_t offset_high;
	uint32_t reserved;
};

struct idt_pointer {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

extern const char exception_stubs[];

static struct idt_gate idt[IDT_VECTORS];
static uint16_t code_selector;

static void
set_gate(uint8_t vector, uint64_t handler)
{
	struct idt_gate *g = &idt[vector];

	g->offset_low = (uint16_t)handler;
	g->selector = code_selector;
	g->ist = 0;
	g->type_attr = GATE_INTERRUPT_DPL0;
	g->offset_mid = (uint16_t)(handler >> 16);
	g->offset_high = (uint32_t)(handler >> 32);
	g->reserved = 0;
}

void
idt_set_gate(uint8_t vector, interrupt_handler *handler)
{
	set_gate(vector, (uint64_t)handler);
}

void
idt_init(void)
{
	struct idt_pointer idtr = { sizeof(idt) - 1, (uint64_t)idt };

	__asm__ volatile("mov %%cs, %0" : "=r"(code_selector));
	for (unsigned v = 0; v < EXCEPTION_VECTORS; v++)
		set_gate((uint8_t)v,
		    (uint64_t)exception_stubs + v * EXCEPTION_STUB_SIZE);
	__asm__ volatile("lidt %0" : : "m"(idtr));
}

/* Called by vectors.S with the vector, the error code (or 0) and RIP. */
__attribute__((noreturn)) void fatal_trap(uint64_t vector, uint64_t error,
    uint64_t rip);

void
fatal_trap(uint64_t vector, uint64_t error, uint64_t rip)
{
	uart_puts("\r\nunexpected exception: vector ");
	uart_put_dec(vector);
	uart_puts(" error ");
	uart_put_hex(error);
	uart_puts(" rip ");
	uart_put_hex(rip);
	uart_puts("\r\n");
	power_off(FATAL_EXIT_STATUS);
}
