/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A guest that halts with interrupts disabled, as Linux's poweroff does on
 * a PC without ACPI: nothing on the platform can wake it again.
 */
#include "snippet.h"

	.section .rodata.halt_cli, "a"
	.code64

BEGIN(halt_cli)
	cli
1:	hlt
	jmp	1b
END(halt_cli)

	.section .note.GNU-stack, "", @progbits
