/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A guest that looks at the first virtio-mmio window through MMIO exits and
 * reports as its power-off status: bit 0 the magic "virt", bit 1 version 2,
 * bit 2 device ID 2 (block), bit 3 the status register reading back a
 * posted write, bit 4 the second window (no device) floating to all ones,
 * and from bit 8 up the disk's capacity in sectors (config offset 0x100).
 */
#include "snippet.h"

#define VIRTIO_WINDOW	0xD0000000

	.section .rodata.virtio_probe, "a"
	.code64

BEGIN(virtio_probe)
	mov	$VIRTIO_WINDOW, %ebx
	xor	%esi, %esi
	cmpl	$0x74726976, (%rbx)
	jne	1f
	or	$1, %esi
1:	cmpl	$2, 4(%rbx)
	jne	2f
	or	$2, %esi
2:	cmpl	$2, 8(%rbx)
	jne	3f
	or	$4, %esi
3:	movl	$1, 0x70(%rbx)		/* ACKNOWLEDGE */
	cmpl	$1, 0x70(%rbx)
	jne	4f
	or	$8, %esi
4:	cmpl	$0xFFFFFFFF, 0x1000(%rbx)
	jne	5f
	or	$16, %esi
5:	mov	0x100(%rbx), %eax
	shl	$8, %eax
	or	%esi, %eax
	mov	$DEBUG_EXIT_PORT, %dx
	out	%eax, %dx
6:	hlt
	jmp	6b
END(virtio_probe)

	.section .note.GNU-stack, "", @progbits
