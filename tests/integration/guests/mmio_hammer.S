/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A guest that reads and writes guest-physical memory where there is no
 * RAM (3 GiB, above any machine's RAM; identity-mapped by the flat loader),
 * as fast as it can, forever: each access is an MMIO exit.
 */
#include "../../runtime/guests/snippet.h"

#define NO_RAM_GPA	0xC0000000

	.section .rodata.mmio_hammer, "a"
	.code64

BEGIN(mmio_hammer)
	mov	$NO_RAM_GPA, %ebx
1:	mov	(%rbx), %eax
	mov	%eax, 8(%rbx)
	add	$0x1000, %ebx
	and	$0xC00FFFFF, %ebx
	jmp	1b
END(mmio_hammer)

	.section .note.GNU-stack, "", @progbits
