/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * COM1 set-up and polled output.  The FIFO trigger level stays at one byte
 * so every received byte raises the interrupt at once (the guest echoes).
 */
#include "uart.h"

void
uart_init(void)
{
	outb(COM1 + UART_IER, 0);
	outb(COM1 + UART_LCR, UART_LCR_DLAB);
	outb(COM1 + UART_DLL, 1);
	outb(COM1 + UART_DLM, 0);
	outb(COM1 + UART_LCR, UART_LCR_WLEN8);
	outb(COM1 + UART_FCR,
	    UART_FCR_ENABLE_FIFO | UART_FCR_CLEAR_RCVR | UART_FCR_CLEAR_XMIT);
	outb(COM1 + UART_MCR, UART_MCR_DTR | UART_MCR_RTS | UART_MCR_OUT2);
}

void
uart_enable_rx_irq(void)
{
	outb(COM1 + UART_IER, UART_IER_RDI);
}

void
uart_putc(char c)
{
	while (!(inb(COM1 + UART_LSR) & UART_LSR_THRE))
		;
	outb(COM1 + UART_TX, (uint8_t)c);
}

void
uart_puts(const char *s)
{
	while (*s)
		uart_putc(*s++);
}

void
uart_put_dec_width(uint64_t value, unsigned width)
{
	char digits[20];
	unsigned n = 0;

	do {
		digits[n++] = (char)('0' + value % 10);
		value /= 10;
	} while (value != 0);
	for (; width > n; width--)
		uart_putc('0');
	while (n > 0)
		uart_putc(digits[--n]);
}

void
uart_put_dec(uint64_t value)
{
	uart_put_dec_width(value, 1);
}

void
uart_put_hex(uint64_t value)
{
	static const char hex[] = "0123456789abcdef";
	int shift = 60;

	uart_puts("0x");
	while (shift > 0 && (value >> shift) == 0)
		shift -= 4;
	for (; shift >= 0; shift -= 4)
		uart_putc(hex[(value >> shift) & 0xf]);
}
