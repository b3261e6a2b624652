/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A guest that hammers ports no device claims: it reads and writes every
 * port from 0x1000 to 0xffff in 1, 2 and 4-byte widths, round after round,
 * forever.  Reads must float (all ones); if one does not, the guest powers
 * off with the port as its status.
 */
#include "snippet.h"

#define FIRST_PORT	0x1000

	.section .rodata.port_hammer, "a"
	.code64

BEGIN(port_hammer)
1:	mov	$FIRST_PORT, %edx
2:	inb	%dx, %al
	cmp	$0xff, %al
	jne	3f
	inw	%dx, %ax
	cmp	$0xffff, %ax
	jne	3f
	inl	%dx, %eax
	cmp	$0xffffffff, %eax
	jne	3f
	outb	%al, %dx
	outw	%ax, %dx
	outl	%eax, %dx
	inc	%edx
	cmp	$0x10000, %edx
	jb	2b
	jmp	1b
3:	mov	%edx, %eax
	mov	$DEBUG_EXIT_PORT, %dx
	out	%eax, %dx
4:	hlt
	jmp	4b
END(port_hammer)

	.section .note.GNU-stack, "", @progbits
