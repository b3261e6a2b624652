/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * 16550A on COM1 (0x3f8, IRQ 4), polled for output, interrupt-driven for
 * input.  Register and bit names follow <linux/serial_reg.h>.
 */
#ifndef HELLO_UART_H
#define HELLO_UART_H

#include <stdint.h>

#include "io.h"

#define COM1		0x3f8
#define COM1_IRQ	4

#define UART_RX		0	/* receive buffer (DLAB = 0) */
#define UART_TX		0	/* transmit holding (DLAB = 0) */
#define UART_DLL	0	/* divisor latch low (DLAB = 1) */
#define UART_DLM	1	/* divisor latch high (DLAB = 1) */
#define UART_IER	1
#define UART_FCR	2
#define UART_LCR	3
#define UART_MCR	4
#define UART_LSR	5

#define UART_IER_RDI		0x01	/* interrupt on received data */
#define UART_FCR_ENABLE_FIFO	0x01
#define UART_FCR_CLEAR_RCVR	0x02
#define UART_FCR_CLEAR_XMIT	0x04
#define UART_LCR_WLEN8		0x03
#define UART_LCR_DLAB		0x80
#define UART_MCR_DTR		0x01
#define UART_MCR_RTS		0x02
#define UART_MCR_OUT2		0x08	/* gates the IRQ line on PCs */
#define UART_LSR_DR		0x01	/* a byte is waiting */
#define UART_LSR_THRE		0x20	/* transmit holding reg. empty */

/* 115200 baud 8N1, FIFOs on, interrupts off. */
void uart_init(void);
/* Receive interrupts on: after the PIC is set up, so the first edge counts. */
void uart_enable_rx_irq(void);
void uart_putc(char c);
void uart_puts(const char *s);
void uart_put_dec(uint64_t value);
/* At least `width` digits, zero-padded. */
void uart_put_dec_width(uint64_t value, unsigned width);
void uart_put_hex(uint64_t value);

/* A received byte, or -1 when none waits; inline for interrupt handlers. */
static inline int
uart_getc(void)
{
	if (!(inb(COM1 + UART_LSR) & UART_LSR_DR))
		return -1;
	return inb(COM1 + UART_RX);
}

#endif
