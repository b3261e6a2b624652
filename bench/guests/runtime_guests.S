/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Flat long-mode guests of runtime-bench, entered at CPL0 with RSI pointing
 * at the command line, a decimal count N.  runtime-bench copies the bytes
 * between a guest's NAME_begin and NAME_end labels into the image, so the
 * code must stay position-free.  Both end by writing 0 to the debug-exit
 * port (0x501), which powers the machine off.
 */
#include "parse_count.h"

#define POST_PORT	0x80
#define DEBUG_EXIT_PORT	0x501
#define COM1_THR	0x3f8
/* Where runtime-bench puts the bytes uart_flood sends. */
#define UART_SOURCE	0x200000

	.section .rodata.runtime_bench_guests, "a"
	.code64

.macro	power_off
	xor	%eax, %eax
	mov	$DEBUG_EXIT_PORT, %dx
	out	%eax, %dx
3:	hlt
	jmp	3b
.endm

/* N reads of the POST code port: N exits that each wait for an answer. */
	.globl	pio_loop_begin, pio_loop_end
pio_loop_begin:
	parse_count
	jrcxz	5f
4:	inb	$POST_PORT, %al
	dec	%rcx
	jnz	4b
5:	power_off
pio_loop_end:

/* N bytes from UART_SOURCE to COM1's THR, without polling LSR. */
	.globl	uart_flood_begin, uart_flood_end
uart_flood_begin:
	parse_count
	mov	$UART_SOURCE, %esi
	mov	$COM1_THR, %dx
	rep outsb
	power_off
uart_flood_end:

	.section .note.GNU-stack, "", @progbits
