/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A guest that reads IA32_APIC_BASE (0x1B) 100 times with its own #GP
 * handler, which steps over the RDMSR and counts, then powers off with the
 * count of #GPs as its status.  The platform has no APIC: each read must
 * fault.  Position-free: it finds its IDT and handler RIP-relative.
 */
#include "snippet.h"

#define ROUNDS	100

	.section .rodata.msr_probe, "a"
	.code64

BEGIN(msr_probe)
	/* The #GP gate: a 64-bit interrupt gate to gp_handler in our CS. */
	lea	gp_handler(%rip), %rax
	lea	idt + 13 * 16(%rip), %rdi
	mov	%ax, (%rdi)
	mov	%cs, %bx
	mov	%bx, 2(%rdi)
	movw	$0x8E00, 4(%rdi)
	shr	$16, %rax
	mov	%ax, 6(%rdi)
	shr	$16, %rax
	mov	%eax, 8(%rdi)
	lea	idt(%rip), %rax
	mov	%rax, idtr + 2(%rip)
	lidt	idtr(%rip)
	xor	%r13d, %r13d
	mov	$ROUNDS, %r12d
1:	mov	$0x1B, %ecx
	rdmsr
	dec	%r12d
	jnz	1b
	mov	%r13d, %eax
	mov	$DEBUG_EXIT_PORT, %dx
	out	%eax, %dx
2:	hlt
	jmp	2b

gp_handler:
	add	$8, %rsp		/* the error code */
	addq	$2, (%rsp)		/* past the RDMSR */
	inc	%r13d
	iretq

	.balign	8
idtr:	.word	14 * 16 - 1
	.quad	0
	.balign	16
idt:	.fill	14 * 16, 1, 0
END(msr_probe)

	.section .note.GNU-stack, "", @progbits
