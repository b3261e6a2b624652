/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Guest of nvmm_ioctl_loop: real mode, an endless run of OUTs of AX, each
 * one an IO exit that the VMM completes by hand.
 */
#include "snippet.h"

	.section .rodata.guest16, "a"
	.code16

BEGIN(out_loop)
MARK(out_loop_top)
	out	%ax, $GUEST_PORT
	jmp	out_loop_top
END(out_loop)

	.section .note.GNU-stack, "", @progbits
