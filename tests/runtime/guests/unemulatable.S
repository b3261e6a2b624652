/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A guest whose instruction the host cannot complete: an SSE2 arithmetic
 * instruction (paddb) with its memory operand where there is no RAM.  The
 * access is MMIO, and KVM's instruction emulator has no paddb, on
 * hardware-virtualized hosts and emulating (PVM) ones alike.
 */
#include "snippet.h"

#define CR4_OSFXSR	(1 << 9)
#define NO_RAM_GPA	0xC0000000

	.section .rodata.unemulatable, "a"
	.code64

BEGIN(unemulatable)
	mov	%cr4, %rax
	or	$CR4_OSFXSR, %rax
	mov	%rax, %cr4
	mov	$NO_RAM_GPA, %eax
	.globl	unemulatable_insn
unemulatable_insn:
	paddb	(%rax), %xmm0
	mov	$1, %eax
	mov	$DEBUG_EXIT_PORT, %dx
	out	%eax, %dx
1:	hlt
	jmp	1b
END(unemulatable)

	.section .note.GNU-stack, "", @progbits
