/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * 32-bit protected-mode snippets for the I/O assist (flat segments; see
 * io64.S for the block structure).  The string snippets load DS and ES with
 * the fixture's GUEST_SEL_DATAHI (base GUEST_DATA_GPA), so that the 16-bit
 * address size (0x67) reaches the buffer too.  The expected values are in
 * io32_test.cc.
 */
#include "assist.h"

	.section .rodata.assist32, "a"
	.code32

BEGIN(io32_in)
	mov	$-1, %eax
AT(io32_in_b, inb $ASSIST_PORT, %al)
	hlt
	mov	$-1, %eax
AT(io32_in_w, inw $ASSIST_PORT, %ax)
	hlt
	mov	$-1, %eax
AT(io32_in_l, inl $ASSIST_PORT, %eax)
	hlt
	mov	$ASSIST_PORT, %edx
	mov	$-1, %eax
AT(io32_in_dxb, inb %dx, %al)
	hlt
	mov	$-1, %eax
AT(io32_in_dxw, inw %dx, %ax)
	hlt
	mov	$-1, %eax
AT(io32_in_dxl, inl %dx, %eax)
	hlt
END(io32_in)

/* Ends with two OUTs in a row (see io64.S). */
BEGIN(io32_out)
	mov	$0x44434241, %eax
AT(io32_out_b, outb %al, $ASSIST_PORT)
	hlt
AT(io32_out_w, outw %ax, $ASSIST_PORT)
	hlt
AT(io32_out_l, outl %eax, $ASSIST_PORT)
	hlt
	mov	$ASSIST_PORT, %edx
AT(io32_out_dxb, outb %al, %dx)
	hlt
AT(io32_out_dxw, outw %ax, %dx)
	hlt
AT(io32_out_dxl, outl %eax, %dx)
	hlt
AT(io32_out_2a, outb %al, %dx)
AT(io32_out_2b, outb %al, %dx)
	hlt
END(io32_out)

/* The 0x67 forms count in CX and move DI only. */
BEGIN(io32_ins)
	mov	$GUEST_SEL_DATAHI, %ax
	mov	%ax, %es
	mov	$ASSIST_PORT, %edx
	xor	%edi, %edi
AT(io32_ins_b, insb)
	hlt
AT(io32_ins_w, insw)
	hlt
AT(io32_ins_l, insl)
	hlt
	mov	$5, %ecx
AT(io32_ins_repb, rep insb)
	hlt
	mov	$3, %ecx
AT(io32_ins_repw, rep insw)
	hlt
	mov	$2, %ecx
AT(io32_ins_repl, rep insl)
	hlt
	mov	$0xFFFF001A, %edi
	mov	$0xFFFF0002, %ecx
AT(io32_ins_a16, addr16 rep insb)
	hlt
	std
	mov	$30, %edi
	mov	$2, %ecx
AT(io32_ins_down, rep insw)
	hlt
	cld
	mov	$0xFFFF0020, %edi
AT(io32_ins_a16w, addr16 insw)
	hlt
END(io32_ins)

/* Ends with two OUTSBs in a row. */
BEGIN(io32_outs)
	mov	$GUEST_SEL_DATAHI, %ax
	mov	%ax, %ds
	mov	$ASSIST_PORT, %edx
	xor	%esi, %esi
AT(io32_outs_b, outsb)
	hlt
AT(io32_outs_w, outsw)
	hlt
AT(io32_outs_l, outsl)
	hlt
	mov	$5, %ecx
AT(io32_outs_repb, rep outsb)
	hlt
	mov	$3, %ecx
AT(io32_outs_repw, rep outsw)
	hlt
	mov	$2, %ecx
AT(io32_outs_repl, rep outsl)
	hlt
	mov	$0xFFFF001A, %esi
	mov	$0xFFFF0002, %ecx
AT(io32_outs_a16, addr16 rep outsb)
	hlt
	std
	mov	$30, %esi
	mov	$2, %ecx
AT(io32_outs_down, rep outsw)
	hlt
	cld
	mov	$0xFFFF0020, %esi
AT(io32_outs_a16w, addr16 outsw)
	hlt
	mov	$0x22, %esi
AT(io32_outs_2a, outsb)
AT(io32_outs_2b, outsb)
	hlt
END(io32_outs)

	.section .note.GNU-stack, "", @progbits
