/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A real-mode guest for the sregs mirror (mirror_test.cc): stretches of
 * exits that never need the segment registers (byte writes to GPA
 * QUIET_GPA, where there is no RAM), each longer than libnvmm keeps KVM
 * storing the sregs after their last use, and behind each stretch a change
 * the VMM has not seen: a new CS, CR0.TS set, CR0.TS cleared.
 */
#include "snippet.h"

#define QUIET_SEG	0x3000
#define QUIET_EXITS	100
#define CR0_TS		0x8

	.section .rodata.guest16, "a"
	.code16

.macro	quiet_stretch
	mov	$QUIET_EXITS, %cx
1:	movb	%al, %fs:0
	loop	1b
.endm

BEGIN(real_quiet)
	mov	$QUIET_SEG, %bx
	mov	%bx, %fs
	quiet_stretch
	/* The same bytes one paragraph lower in CS: IP grows by 16. */
	ljmp	$(GUEST_CODE_GPA >> 4) - 1, $(2f - real_quiet_begin + 16)
2:
AT(real_quiet_out, out %al, $GUEST_PORT)
	quiet_stretch
	mov	%cr0, %eax
	or	$CR0_TS, %eax
	mov	%eax, %cr0
	mov	$0x3100, %bx
	mov	%bx, %es
AT(real_quiet_es, movb %al, %es:0)
	quiet_stretch
	clts
	/* The test moves ES to 0x3300 here, by setstate(SEGS) alone. */
AT(real_quiet_set, movb %al, %es:0)
AT(real_quiet_new_es, movb %al, %es:0)
	mov	%cr0, %eax
AT(real_quiet_cr0, out %al, $GUEST_PORT)
	hlt
END(real_quiet)

	.section .note.GNU-stack, "", @progbits
