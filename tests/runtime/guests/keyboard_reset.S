/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A guest that resets the machine through the keyboard controller: command
 * 0xFE pulses the reset line (Linux's reboot=k).  If the reset does not
 * happen, it powers off with status 1 instead.
 */
#include "snippet.h"

	.section .rodata.keyboard_reset, "a"
	.code64

BEGIN(keyboard_reset)
	mov	$0xfe, %al
	outb	%al, $0x64
	mov	$1, %eax
	mov	$DEBUG_EXIT_PORT, %dx
	out	%eax, %dx
1:	hlt
	jmp	1b
END(keyboard_reset)

	.section .note.GNU-stack, "", @progbits
