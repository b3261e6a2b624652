/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A guest that only the host can stop: it counts in RBX until R12 holds a
 * nonzero value, then powers off with R12's low 32 bits as its status.
 * The wait loop makes no exit of its own, so the host reads and writes its
 * registers through the runtime's kicks alone.
 */
#include "snippet.h"

	.section .rodata.reg_watch, "a"
	.code64

BEGIN(reg_watch)
	xor	%ebx, %ebx
	xor	%r12d, %r12d
1:	inc	%rbx
	test	%r12, %r12
	jz	1b
	mov	%r12d, %eax
	mov	$DEBUG_EXIT_PORT, %dx
	out	%eax, %dx
2:	hlt
	jmp	2b
END(reg_watch)

	.section .note.GNU-stack, "", @progbits
