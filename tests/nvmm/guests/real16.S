/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * 16-bit real-mode guests.  The fixture starts them from the vCPU's RESET
 * state with only CS moved to GUEST_CODE_GPA (CS = GUEST_CODE_GPA >> 4, IP =
 * offset in the snippet) and SS:SP below GUEST_STACK_TOP.
 */
#include "snippet.h"

	.section .rodata.guest16, "a"
	.code16

/*
 * DS is set by the test to GUEST_DATA_GPA >> 4, so the store goes through a
 * segment base the RESET state does not have.
 */
BEGIN(real_basic)
	mov	$0x1234, %ax
	add	$0x0101, %ax
	mov	%ax, 0x20
	mov	%ds, %bx
AT(real_basic_out, out %ax, $GUEST_PORT)
	hlt
END(real_basic)

/*
 * IVT entry 6 points at the handler; the test injects #UD at the main
 * label.  The handler reports the IP, CS and FLAGS the CPU pushed.
 */
BEGIN(real_inject)
MARK(real_inject_handler)
	pop	%ax
	pop	%bx
	pop	%cx
AT(real_inject_out, out %ax, $GUEST_PORT)
	hlt
MARK(real_inject_main)
	hlt
END(real_inject)

	.section .note.GNU-stack, "", @progbits
