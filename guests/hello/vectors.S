/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Exception entry stubs for vectors 0-31, each 16 bytes long so that idt.c
 * finds stub N at exception_stubs + 16 * N.  A stub pushes 0 where the CPU
 * pushes no error code (Intel SDM vol. 3, table 6-1), then the vector, so
 * fatal_entry sees one layout: vector, error code, RIP, CS, RFLAGS, ...
 */

/* #DF, #TS, #NP, #SS, #GP, #PF, #AC, #CP, #VC, #SX */
	.set	ERROR_CODE_VECTORS, (1 << 8) | (0x1f << 10) | (1 << 17) | (1 << 21) | (3 << 29)

	.text
	.code64

	.balign	16
	.globl	exception_stubs
exception_stubs:
	.set	vector, 0
	.rept	32
	.balign	16
	.if	((ERROR_CODE_VECTORS >> vector) & 1) == 0
	pushq	$0
	.endif
	pushq	$vector
	jmp	fatal_entry
	.set	vector, vector + 1
	.endr

/* Reports and powers off: nothing returns, so nothing is saved. */
fatal_entry:
	mov	(%rsp), %rdi
	mov	8(%rsp), %rsi
	mov	16(%rsp), %rdx
	and	$-16, %rsp
	call	fatal_trap

	.section .note.GNU-stack, "", @progbits
