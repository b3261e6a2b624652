/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * 64-bit snippets for the I/O assist, after NetBSD's h_io_assist.  Each
 * block is one I/O instruction on ASSIST_PORT (labelled with AT, so the
 * test knows its address and npc) followed by a HLT, where the test checks
 * the registers the instruction changed; the first of two instructions in a
 * row has no HLT.  String forms move data between
 * the port and RAM at GUEST_DATA_GPA.  The expected values are in
 * io64_test.cc.
 */
#include "assist.h"

#define D GUEST_DATA_GPA

	.section .rodata.assist64, "a"
	.code64

/* RAX starts all ones: 1- and 2-byte INs merge, a 4-byte IN zero-extends. */
BEGIN(io64_in)
	mov	$-1, %rax
AT(io64_in_b, inb $ASSIST_PORT, %al)
	hlt
	mov	$-1, %rax
AT(io64_in_w, inw $ASSIST_PORT, %ax)
	hlt
	mov	$-1, %rax
AT(io64_in_l, inl $ASSIST_PORT, %eax)
	hlt
	mov	$ASSIST_PORT, %edx
	mov	$-1, %rax
AT(io64_in_dxb, inb %dx, %al)
	hlt
	mov	$-1, %rax
AT(io64_in_dxw, inw %dx, %ax)
	hlt
	mov	$-1, %rax
AT(io64_in_dxl, inl %dx, %eax)
	hlt
END(io64_in)

/*
 * The last block is two OUTs in a row: when the first exits, RIP may already
 * be on the second, and the exit must still describe the first.
 */
BEGIN(io64_out)
	mov	$0x44434241, %eax
AT(io64_out_b, outb %al, $ASSIST_PORT)
	hlt
AT(io64_out_w, outw %ax, $ASSIST_PORT)
	hlt
AT(io64_out_l, outl %eax, $ASSIST_PORT)
	hlt
	mov	$ASSIST_PORT, %edx
AT(io64_out_dxb, outb %al, %dx)
	hlt
AT(io64_out_dxw, outw %ax, %dx)
	hlt
AT(io64_out_dxl, outl %eax, %dx)
	hlt
AT(io64_out_2a, outb %al, %dx)
AT(io64_out_2b, outb %al, %dx)
	hlt
END(io64_out)

BEGIN(io64_ins)
	mov	$ASSIST_PORT, %edx
	mov	$D, %edi
AT(io64_ins_b, insb)
	hlt
AT(io64_ins_w, insw)
	hlt
AT(io64_ins_l, insl)
	hlt
	mov	$5, %ecx
AT(io64_ins_repb, rep insb)
	hlt
	mov	$3, %ecx
AT(io64_ins_repw, rep insw)
	hlt
	mov	$2, %ecx
AT(io64_ins_repl, rep insl)
	hlt
	movabs	$ASSIST_HIGH + D + 26, %rdi
	movabs	$ASSIST_HIGH + 2, %rcx
AT(io64_ins_a32, addr32 rep insb)
	hlt
	std
	mov	$D + 30, %edi
	mov	$2, %ecx
AT(io64_ins_down, rep insw)
	hlt
	cld
	movabs	$ASSIST_HIGH + D + 32, %rdi
AT(io64_ins_a32w, addr32 insw)
	hlt
END(io64_ins)

/* Ends with two OUTSBs in a row, as io64_out. */
BEGIN(io64_outs)
	mov	$ASSIST_PORT, %edx
	mov	$D, %esi
AT(io64_outs_b, outsb)
	hlt
AT(io64_outs_w, outsw)
	hlt
AT(io64_outs_l, outsl)
	hlt
	mov	$5, %ecx
AT(io64_outs_repb, rep outsb)
	hlt
	mov	$3, %ecx
AT(io64_outs_repw, rep outsw)
	hlt
	mov	$2, %ecx
AT(io64_outs_repl, rep outsl)
	hlt
	movabs	$ASSIST_HIGH + D + 26, %rsi
	movabs	$ASSIST_HIGH + 2, %rcx
AT(io64_outs_a32, addr32 rep outsb)
	hlt
	std
	mov	$D + 30, %esi
	mov	$2, %ecx
AT(io64_outs_down, rep outsw)
	hlt
	cld
	movabs	$ASSIST_HIGH + D + 32, %rsi
AT(io64_outs_a32w, addr32 outsw)
	hlt
AT(io64_outs_2a, outsb)
AT(io64_outs_2b, outsb)
	hlt
END(io64_outs)

	.section .note.GNU-stack, "", @progbits
