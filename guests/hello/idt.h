/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The guest's IDT: every exception (vectors 0-31) reports its vector on
 * COM1 and powers off with FATAL_EXIT_STATUS; other vectors get handlers
 * from idt_set_gate or stay absent (and so raise #NP, which is fatal too).
 */
#ifndef HELLO_IDT_H
#define HELLO_IDT_H

#include <stdint.h>

#define FATAL_EXIT_STATUS	0xee

/* What the CPU pushes; handlers with __attribute__((interrupt)) take it. */
struct interrupt_frame;
typedef void interrupt_handler(struct interrupt_frame *);

/* Fills vectors 0-31 and loads the IDT. */
void idt_init(void);
void idt_set_gate(uint8_t vector, interrupt_handler *handler);

#endif
