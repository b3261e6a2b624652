/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A guest that spins at CPL0 with interrupts disabled: it never exits by
 * itself, so only a kick stops, pauses or inspects it.
 */
#include "../../runtime/guests/snippet.h"

	.section .rodata.spin_cli, "a"
	.code64

BEGIN(spin_cli)
	cli
1:	jmp	1b
END(spin_cli)

	.section .note.GNU-stack, "", @progbits
