/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * 32-bit protected-mode guests.  The fixture gives them a flat 32-bit CS,
 * flat data segments and, when paging is on, the 4 MiB-page directory at
 * GUEST_PD32_GPA (CR4.PSE) that also maps GUEST_ALIAS_VA onto PA 0.
 */
#include "snippet.h"

	.section .rodata.guest32, "a"
	.code32

/* Paging off: reports CR0 through a flat store. */
BEGIN(prot32_flat)
	mov	%cr0, %eax
	mov	%eax, GUEST_DATA_GPA
	hlt
END(prot32_flat)

/*
 * Paging on: the stores go through the alias mapping, so they only reach
 * GUEST_DATA_GPA if the CR0/CR3/CR4 the test set are in effect.
 */
BEGIN(prot32_paging)
	mov	%cr0, %eax
	mov	%eax, GUEST_ALIAS_VA + GUEST_DATA_GPA
	mov	%cr3, %eax
	mov	%eax, GUEST_ALIAS_VA + GUEST_DATA_GPA + 4
	mov	%cr4, %eax
	mov	%eax, GUEST_ALIAS_VA + GUEST_DATA_GPA + 8
	hlt
END(prot32_paging)

/*
 * DS is the GUEST_SEL_DATAHI segment (base GUEST_DATA_GPA): offsets below
 * are relative to it.  The selector is read back with mov %ds.
 */
BEGIN(prot32_segs)
	movl	$0xCAFEF00D, 0x20
	sgdt	0x30
	sidt	0x40
	xor	%eax, %eax
	mov	%ds, %ax
	mov	%es, %bx
AT(prot32_segs_out, out %ax, $GUEST_PORT)
	hlt
END(prot32_segs)

	.section .note.GNU-stack, "", @progbits
