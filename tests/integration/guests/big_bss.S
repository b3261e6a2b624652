/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * An ELF guest of a few bytes of code and 3 GiB of bss (less the 2 MiB
 * below and around its code: all the RAM a machine may have), as a C program
 * with a huge static array is: creating it must not cost the host 3 GiB.
 * Started, it halts with interrupts on for good.
 */
	.text
	.code64
	.globl	_start
_start:
	sti
1:	hlt
	jmp	1b

	.bss
	.skip	(3 << 30) - (2 << 20)

	.section .note.GNU-stack, "", @progbits
