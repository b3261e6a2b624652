/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A guest that floods COM1 with console output, forever, as fast as a
 * UART can be written: REP OUTSB of a 4 KiB page of text lines, without
 * ever looking at the line status (one exit per byte).
 */
#include "../../runtime/guests/snippet.h"

#define COM1	0x3F8

	.section .rodata.uart_flood, "a"
	.code64

BEGIN(uart_flood)
	cld
	mov	$COM1, %dx
1:	lea	page(%rip), %rsi
	mov	$4096, %ecx
	rep outsb
	jmp	1b
	.balign	4096
page:
	.rept	64
	.ascii	"flood flood flood flood flood flood flood flood flood flood ...\n"
	.endr
END(uart_flood)

	.section .note.GNU-stack, "", @progbits
