/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The command line of the flat bench guests: they are entered with RSI
 * pointing at it, a decimal count.
 */

/* RCX = the decimal number at RSI. */
.macro	parse_count
	xor	%ecx, %ecx
1:	movzbl	(%rsi), %eax
	sub	$'0', %eax
	cmp	$9, %eax
	ja	2f
	imul	$10, %rcx, %rcx
	add	%rax, %rcx
	inc	%rsi
	jmp	1b
2:
.endm
