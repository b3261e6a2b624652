/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A guest that triple-faults at once: with an IDT limit of 0 the #UD of
 * ud2 cannot be delivered, nor the #GP that follows, nor the #DF: the CPU
 * shuts down.
 */
#include "snippet.h"

	.section .rodata.triple_fault, "a"
	.code64

BEGIN(triple_fault)
	lidt	empty_idt(%rip)
	ud2
empty_idt:
	.word	0
	.quad	0
END(triple_fault)

	.section .note.GNU-stack, "", @progbits
