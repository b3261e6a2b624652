/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Real-mode snippets for the I/O assist (see io64.S for the block
 * structure).  The fixture points DS and ES at GUEST_DATA_GPA.  The 16-bit
 * string forms start with ones in bits 31:16 of EDI/ESI and ECX, which they
 * must leave alone; the 0x67 forms use the whole registers.  The expected
 * values are in io16_test.cc.
 */
#include "assist.h"

	.section .rodata.assist16, "a"
	.code16

BEGIN(io16_in)
	mov	$-1, %eax
AT(io16_in_b, inb $ASSIST_PORT, %al)
	hlt
	mov	$-1, %eax
AT(io16_in_w, inw $ASSIST_PORT, %ax)
	hlt
	mov	$-1, %eax
AT(io16_in_l, inl $ASSIST_PORT, %eax)
	hlt
	mov	$ASSIST_PORT, %dx
	mov	$-1, %eax
AT(io16_in_dxb, inb %dx, %al)
	hlt
	mov	$-1, %eax
AT(io16_in_dxw, inw %dx, %ax)
	hlt
	mov	$-1, %eax
AT(io16_in_dxl, inl %dx, %eax)
	hlt
END(io16_in)

/* Ends with two OUTs in a row (see io64.S). */
BEGIN(io16_out)
	mov	$0x44434241, %eax
AT(io16_out_b, outb %al, $ASSIST_PORT)
	hlt
AT(io16_out_w, outw %ax, $ASSIST_PORT)
	hlt
AT(io16_out_l, outl %eax, $ASSIST_PORT)
	hlt
	mov	$ASSIST_PORT, %dx
AT(io16_out_dxb, outb %al, %dx)
	hlt
AT(io16_out_dxw, outw %ax, %dx)
	hlt
AT(io16_out_dxl, outl %eax, %dx)
	hlt
AT(io16_out_2a, outb %al, %dx)
AT(io16_out_2b, outb %al, %dx)
	hlt
END(io16_out)

BEGIN(io16_ins)
	mov	$ASSIST_PORT, %dx
	mov	$0xFFFF0000, %edi
AT(io16_ins_b, insb)
	hlt
AT(io16_ins_w, insw)
	hlt
AT(io16_ins_l, insl)
	hlt
	mov	$0xFFFF0005, %ecx
AT(io16_ins_repb, rep insb)
	hlt
	mov	$3, %cx
AT(io16_ins_repw, rep insw)
	hlt
	mov	$2, %cx
AT(io16_ins_repl, rep insl)
	hlt
	mov	$26, %edi
	mov	$2, %ecx
AT(io16_ins_a32, addr32 rep insb)
	hlt
	std
	mov	$30, %di
	mov	$2, %cx
AT(io16_ins_down, rep insw)
	hlt
	cld
	mov	$32, %edi
AT(io16_ins_a32w, addr32 insw)
	hlt
END(io16_ins)

/*
 * The last blocks read through FS (FS:0 is GUEST_DATA_GPA + 0x20) and end
 * with two OUTSBs in a row.
 */
BEGIN(io16_outs)
	mov	$ASSIST_PORT, %dx
	mov	$0xFFFF0000, %esi
AT(io16_outs_b, outsb)
	hlt
AT(io16_outs_w, outsw)
	hlt
AT(io16_outs_l, outsl)
	hlt
	mov	$0xFFFF0005, %ecx
AT(io16_outs_repb, rep outsb)
	hlt
	mov	$3, %cx
AT(io16_outs_repw, rep outsw)
	hlt
	mov	$2, %cx
AT(io16_outs_repl, rep outsl)
	hlt
	mov	$26, %esi
	mov	$2, %ecx
AT(io16_outs_a32, addr32 rep outsb)
	hlt
	std
	mov	$30, %si
	mov	$2, %cx
AT(io16_outs_down, rep outsw)
	hlt
	cld
	mov	$ASSIST_DATA_SEG + 2, %ax
	mov	%ax, %fs
	xor	%si, %si
	mov	$2, %cx
AT(io16_outs_fs, rep outsb %fs:(%si), %dx)
	hlt
AT(io16_outs_fs1, outsb %fs:(%si), %dx)
	hlt
AT(io16_outs_2a, outsb %fs:(%si), %dx)
AT(io16_outs_2b, outsb %fs:(%si), %dx)
	hlt
END(io16_outs)

	.section .note.GNU-stack, "", @progbits
