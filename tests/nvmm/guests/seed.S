/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Guest of the seed program (seed_test.c): real mode straight from RESET.
 * seed_reset is copied to the reset vector (GPA 0xFFFFFFF0) and never runs
 * if the injected #UD is delivered first; seed_ud is IVT entry 6's handler
 * at 0000:SEED_UD_IP and reports AX on GUEST_PORT.
 */
#include "snippet.h"

	.section .rodata.guest16, "a"
	.code16

BEGIN(seed_reset)
MARK(seed_reset_loop)
	hlt
	jmp	seed_reset_loop
END(seed_reset)

BEGIN(seed_ud)
	out	%ax, $GUEST_PORT
	hlt
END(seed_ud)

	.section .note.GNU-stack, "", @progbits
