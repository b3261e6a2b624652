/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Guest of the multi-vCPU tests, run by every vCPU at once from the same
 * code: writes 0, 1, ..., RCX - 1 to port DX, then halts.  The VMM gives each
 * vCPU its own port in RDX; no stack, no memory writes, so the vCPUs share
 * nothing.
 */
#include "snippet.h"

	.section .rodata.guest64, "a"
	.code64

BEGIN(long_smp)
	xor	%eax, %eax
MARK(long_smp_loop)
	out	%eax, %dx
	inc	%eax
	cmp	%ecx, %eax
	jne	long_smp_loop
	hlt
END(long_smp)

	.section .note.GNU-stack, "", @progbits
