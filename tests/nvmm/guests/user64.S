/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * 64-bit guests running at CPL3 (user segments, user pages, IOPL 3 so that
 * OUT exits to the VMM instead of faulting): PVM cannot emulate SSE or
 * XGETBV at CPL0, and CPL3 code runs natively there.
 */
#include "snippet.h"

	.section .rodata.guest64u, "a"
	.code64

/*
 * Saves the x87 control word, MXCSR and XMM0-15 the test set, then loads
 * new control values and sets XMM3 to all ones for the test to read back.
 * FNSTCW rather than FSTCW: no FWAIT.
 */
BEGIN(user_fpu)
	fnstcw	GUEST_DATA_GPA
	stmxcsr	GUEST_DATA_GPA + 4
	movdqu	%xmm0, GUEST_DATA_GPA + 0x10
	movdqu	%xmm1, GUEST_DATA_GPA + 0x20
	movdqu	%xmm2, GUEST_DATA_GPA + 0x30
	movdqu	%xmm3, GUEST_DATA_GPA + 0x40
	movdqu	%xmm4, GUEST_DATA_GPA + 0x50
	movdqu	%xmm5, GUEST_DATA_GPA + 0x60
	movdqu	%xmm6, GUEST_DATA_GPA + 0x70
	movdqu	%xmm7, GUEST_DATA_GPA + 0x80
	movdqu	%xmm8, GUEST_DATA_GPA + 0x90
	movdqu	%xmm9, GUEST_DATA_GPA + 0xA0
	movdqu	%xmm10, GUEST_DATA_GPA + 0xB0
	movdqu	%xmm11, GUEST_DATA_GPA + 0xC0
	movdqu	%xmm12, GUEST_DATA_GPA + 0xD0
	movdqu	%xmm13, GUEST_DATA_GPA + 0xE0
	movdqu	%xmm14, GUEST_DATA_GPA + 0xF0
	movdqu	%xmm15, GUEST_DATA_GPA + 0x100
	fldcw	user_fpu_cw(%rip)
	ldmxcsr	user_fpu_mxcsr(%rip)
	pcmpeqb	%xmm3, %xmm3
AT(user_fpu_out, out %al, $GUEST_PORT)
	hlt
MARK(user_fpu_cw)
	.word	0x0F7F
MARK(user_fpu_mxcsr)
	.long	0x3F80
END(user_fpu)

/* XGETBV(0) is legal at CPL3 once CR4.OSXSAVE is set. */
BEGIN(user_xgetbv)
	xor	%ecx, %ecx
	xgetbv
	mov	%eax, GUEST_DATA_GPA
	mov	%edx, GUEST_DATA_GPA + 4
AT(user_xgetbv_out, out %al, $GUEST_PORT)
	hlt
END(user_xgetbv)

	.section .note.GNU-stack, "", @progbits
