/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Entry from vmruntime's ELF loader: 64-bit mode at CPL0, identity-mapped,
 * interrupts off, RSP 16-byte aligned, RSI = the command line.
 */
	.section .text.entry, "ax"
	.code64
	.globl	_start
_start:
	mov	%rsi, %rdi
	call	hello_main

	.section .note.GNU-stack, "", @progbits
