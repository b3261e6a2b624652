/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Guest of the assist-state tests (CPL0, long mode): an IN and an MMIO read,
 * each completed by an assist, then a report of RAX, RBX and RDX at
 * GUEST_DATA_GPA.
 */
#include "snippet.h"

	.section .rodata.guest64, "a"
	.code64

BEGIN(long_assist)
AT(long_assist_in, in $GUEST_PORT, %eax)
AT(long_assist_read, mov GUEST_MMIO_GPA, %ebx)
	mov	%rax, GUEST_DATA_GPA
	mov	%rbx, GUEST_DATA_GPA + 8
	mov	%rdx, GUEST_DATA_GPA + 16
	hlt
END(long_assist)

	.section .note.GNU-stack, "", @progbits
