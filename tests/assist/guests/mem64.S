/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * 64-bit snippets for the MMIO assist: every access to ASSIST_MMIO_GPA goes
 * to the test's device through nvmm_assist_mem.  Each snippet uses both
 * address sizes of long mode: 64-bit, and 32-bit (0x67) with ones in the
 * upper half of the register.  Flags are recorded in RBP with FLAGS (see
 * assist.h), five bits per check, the oldest check highest.  The expected
 * values are in mem64_test.cc.
 */
#include "assist.h"

#define M ASSIST_MMIO_GPA
#define HM (ASSIST_HIGH + ASSIST_MMIO_GPA)

	.section .rodata.assist64, "a"
	.code64

BEGIN(mem64_mov_store)
	mov	$M, %edi
	movabs	$HM, %rsi
	mov	$0x5A11, %eax
	mov	%al, (%rdi)
	mov	%ah, 1(%rdi)
	mov	$0x2233, %ecx
	mov	%cx, 2(%rdi)
	mov	$0x44556677, %edx
	mov	%edx, 4(%rdi)
	movabs	$0x8899AABBCCDDEEFF, %r9
	mov	$1, %r11d
	mov	%r9, (%rdi,%r11,8)
	mov	%r9b, 16(%esi)
	mov	%cx, 18(%esi)
	mov	%edx, 20(%esi)
	mov	%r9, 24(%esi)
	hlt
END(mem64_mov_store)

BEGIN(mem64_mov_load)
	mov	$M, %esi
	movabs	$HM, %rdi
	mov	$-1, %rax
	mov	(%rsi), %al
	mov	$-1, %rbx
	mov	1(%rsi), %bh
	mov	$-1, %rcx
	mov	2(%rsi), %cx
	mov	$-1, %rdx
	mov	4(%rsi), %edx
	mov	8(%rsi), %r10
	mov	$-1, %r11
	mov	9(%edi), %r11b
	mov	$-1, %r12
	mov	12(%edi), %r12d
	mov	(%edi), %r13
	hlt
END(mem64_mov_load)

BEGIN(mem64_mov_imm)
	mov	$M, %edi
	movabs	$HM, %rsi
	movb	$0x12, (%rdi)
	movw	$0x3456, 2(%rdi)
	movl	$0x789ABCDE, 4(%rdi)
	movq	$-2, 8(%rdi)
	movq	$0x7FFFFFFF, 16(%esi)
	movb	$0xAB, 24(%esi)
	hlt
END(mem64_mov_imm)

/* A0-A3 with an 8-byte offset, then with a 4-byte one (0x67). */
BEGIN(mem64_moffs)
	movabs	$0x1122334455667788, %rax
	movabs	%rax, M + 8
	movabs	%eax, M
	movabs	%ax, M + 4
	movabs	%al, M + 6
	mov	$-1, %rax
	movabs	M + 16, %al
	mov	%rax, %rbx
	mov	$-1, %rax
	movabs	M + 16, %ax
	mov	%rax, %rcx
	mov	$-1, %rax
	movabs	M + 16, %eax
	mov	%rax, %rdx
	movabs	M + 16, %rax
	addr32 movabs %eax, M + 24
	mov	%rax, %rsi
	mov	$-1, %rax
	addr32 movabs M + 17, %al
	hlt
END(mem64_moffs)

BEGIN(mem64_or)
	mov	$M, %edi
	movabs	$HM, %rsi
	mov	$0x80, %bl
	or	%bl, (%rdi)
	mov	$0x1100, %cx
	or	%cx, 2(%esi)
	mov	$0x30000000, %edx
	or	%edx, 4(%rdi)
	movabs	$0x0F00000000000000, %r8
	or	%r8, 8(%rdi)
	FLAGS	%rbp
	mov	$0x4000, %r9d
	or	8(%esi), %r9
	mov	$0x20, %eax
	or	16(%rdi), %al
	orb	$0x0F, 16(%rdi)
	orl	$0x10000, 16(%esi)
	shl	$5, %rbp
	orq	$-16, 24(%rdi)
	FLAGS	%rbp
	hlt
END(mem64_or)

BEGIN(mem64_and)
	mov	$M, %edi
	movabs	$HM, %rsi
	mov	$0x0F, %bl
	and	%bl, (%rdi)
	mov	$0x1234, %cx
	and	%cx, 2(%esi)
	mov	$0x80000001, %edx
	and	%edx, 4(%rdi)
	FLAGS	%rbp
	movabs	$0xFF00FF00FF00FF00, %r8
	shl	$5, %rbp
	and	%r8, 8(%rdi)
	FLAGS	%rbp
	mov	$-1, %r9
	and	16(%esi), %r9
	mov	$-1, %r10
	and	16(%rdi), %r10d
	andb	$0x30, 16(%rdi)
	andl	$0xFFFF0FFF, 24(%rdi)
	andq	$-0x80, 16(%esi)
	hlt
END(mem64_and)

BEGIN(mem64_xor)
	mov	$M, %edi
	movabs	$HM, %rsi
	mov	$0xFF, %bl
	xor	%bl, (%rdi)
	mov	$0x1111, %cx
	xor	%cx, 2(%esi)
	FLAGS	%rbp
	mov	$0x91111111, %edx
	shl	$5, %rbp
	xor	%edx, 4(%rdi)
	FLAGS	%rbp
	mov	$-1, %r8
	xor	%r8, 8(%esi)
	movabs	$0x5A5A5A5A5A5A5A5A, %r9
	shl	$5, %rbp
	xor	8(%rdi), %r9
	FLAGS	%rbp
	xorb	$0x0F, 16(%rdi)
	xorl	$0x12345678, 16(%esi)
	xorq	$-1, 24(%rdi)
	hlt
END(mem64_xor)

BEGIN(mem64_sub)
	mov	$M, %edi
	movabs	$HM, %rsi
	mov	$0x20, %bl
	sub	%bl, (%rdi)
	FLAGS	%rbp
	mov	$1, %r8d
	shl	$5, %rbp
	sub	%r8, 8(%rdi)
	FLAGS	%rbp
	mov	$0x100, %ecx
	shl	$5, %rbp
	sub	16(%esi), %cx
	FLAGS	%rbp
	subl	$0xFF, 16(%rdi)
	subw	$-1, 18(%esi)
	subb	$1, 24(%rdi)
	subq	$0x10, 24(%esi)
	hlt
END(mem64_sub)

/* CMP Eb,Ib / Ev,Iz / Ev,Ib, CMP Ev,Gv and CMP Gv,Ev. */
BEGIN(mem64_cmp)
	mov	$M, %edi
	movabs	$HM, %rsi
	cmpb	$0x78, (%rdi)
	FLAGS	%rbp
	shl	$5, %rbp
	cmpw	$0x5679, (%esi)
	FLAGS	%rbp
	shl	$5, %rbp
	cmpl	$0xF2345677, (%rdi)
	FLAGS	%rbp
	shl	$5, %rbp
	cmpq	$-1, (%rdi)
	FLAGS	%rbp
	shl	$5, %rbp
	mov	$0x7F, %eax
	cmp	%al, 8(%rdi)
	FLAGS	%rbp
	shl	$5, %rbp
	cmp	8(%rdi), %al
	FLAGS	%rbp
	shl	$5, %rbp
	mov	$0x80, %ecx
	cmp	%rcx, 8(%esi)
	FLAGS	%rbp
	shl	$5, %rbp
	cmp	8(%esi), %eax
	FLAGS	%rbp
	hlt
END(mem64_cmp)

/* TEST Eb,Ib / Ev,Iz and TEST Ev,Gv. */
BEGIN(mem64_test)
	mov	$M, %edi
	movabs	$HM, %rsi
	testb	$0x0F, (%rdi)
	FLAGS	%rbp
	shl	$5, %rbp
	testw	$0x0F00, (%esi)
	FLAGS	%rbp
	shl	$5, %rbp
	testl	$0xA000, (%rdi)
	FLAGS	%rbp
	shl	$5, %rbp
	testq	$-0x80000000, 8(%rdi)
	FLAGS	%rbp
	shl	$5, %rbp
	mov	$0x80, %ecx
	test	%cl, 15(%esi)
	FLAGS	%rbp
	shl	$5, %rbp
	movabs	$0x8000000000000001, %rdx
	test	%rdx, 8(%rdi)
	FLAGS	%rbp
	hlt
END(mem64_test)

BEGIN(mem64_xchg)
	mov	$M, %edi
	movabs	$HM, %rsi
	movabs	$0x0102030405060708, %rbx
	xchg	%rbx, (%rdi)
	mov	$-1, %rcx
	mov	$0xBBBB, %cx
	xchg	%cx, 16(%esi)
	mov	$-1, %rdx
	xchg	17(%rdi), %dl
	mov	$0x12345678, %r8d
	xchg	%r8d, 8(%esi)
	mov	$-1, %r9
	xchg	%r9d, 12(%rdi)
	mov	$0x5500, %eax
	xchg	%ah, 24(%rdi)
	hlt
END(mem64_xchg)

BEGIN(mem64_movzx)
	mov	$M, %edi
	movabs	$HM, %rsi
	mov	$-1, %rax
	movzbw	(%rdi), %ax
	mov	$-1, %rbx
	movzbl	1(%esi), %ebx
	mov	$-1, %rcx
	movzbq	2(%rdi), %rcx
	mov	$-1, %rdx
	movzwl	2(%esi), %edx
	mov	$-1, %r8
	movzwq	(%rdi), %r8
	mov	$-1, %r9
	movzbl	3(%rdi), %r9d
	mov	$-1, %r10
	movzbw	3(%esi), %r10w
	hlt
END(mem64_movzx)

/* MOVSX of bytes and words, and MOVSXD (0x63). */
BEGIN(mem64_movsx)
	mov	$M, %edi
	movabs	$HM, %rsi
	mov	$-1, %rax
	movsbw	(%rdi), %ax
	xor	%ebx, %ebx
	movsbw	1(%esi), %bx
	mov	$-1, %rcx
	movsbl	1(%rdi), %ecx
	movsbq	2(%rdi), %rdx
	mov	$-1, %r8
	movswl	2(%esi), %r8d
	movswq	(%rdi), %r9
	movslq	8(%rdi), %r10
	mov	$-1, %r11
	movslq	12(%esi), %r11
	mov	$-1, %r12
	movsbl	(%rdi), %r12d
	hlt
END(mem64_movsx)

BEGIN(mem64_stos)
	mov	$M, %edi
	movabs	$0x8877665544332211, %rax
	stosb
	stosw
	stosl
	mov	$M + 8, %edi
	stosq
	mov	$3, %ecx
	mov	$0xAB, %al
	rep stosb
	movabs	$HM + 24, %rdi
	mov	$2, %ecx
	mov	$0x5A5A, %ax
	addr32 rep stosw
	std
	mov	$M + 31, %edi
	mov	$2, %ecx
	mov	$0x77, %al
	rep stosb
	cld
	hlt
END(mem64_stos)

BEGIN(mem64_lods)
	mov	$M, %esi
	mov	$-1, %rax
	lodsb
	mov	%rax, %rbx
	lodsw
	mov	%rax, %rcx
	lodsl
	mov	%rax, %rdx
	mov	$M + 8, %esi
	lodsq
	mov	%rax, %r8
	movabs	$HM + 4, %rsi
	addr32 lodsw
	std
	addr32 lodsb
	cld
	hlt
END(mem64_lods)

/* MMIO to MMIO, RAM to MMIO (0x67), MMIO to RAM, and MMIO to MMIO downwards. */
BEGIN(mem64_movs)
	movabs	$0x0123456789ABCDEF, %rax
	mov	%rax, GUEST_DATA_GPA
	mov	$M, %esi
	mov	$M + 16, %edi
	mov	$3, %ecx
	rep movsb
	movsl
	movsb
	movabs	$ASSIST_HIGH + GUEST_DATA_GPA, %rsi
	mov	$2, %ecx
	addr32 rep movsl
	mov	$M + 8, %esi
	mov	$GUEST_DATA_GPA + 8, %edi
	movsq
	mov	GUEST_DATA_GPA + 8, %r8
	std
	mov	$M + 14, %esi
	mov	$M + 6, %edi
	mov	$2, %ecx
	rep movsw
	cld
	hlt
END(mem64_movs)

/*
 * REPE CMPSB stopping at a difference, CMPSQ, REPE CMPSW running out of
 * count, and REPE CMPSL with 0x67.
 */
BEGIN(mem64_cmps)
	mov	$M, %esi
	mov	$M + 16, %edi
	mov	$8, %ecx
	repe cmpsb
	FLAGS	%rbp
	mov	%rcx, %r9
	mov	%rsi, %r10
	mov	%rdi, %r11
	shl	$5, %rbp
	mov	$M + 8, %esi
	mov	$M + 24, %edi
	cmpsq
	FLAGS	%rbp
	shl	$5, %rbp
	mov	$M, %esi
	mov	$M + 16, %edi
	mov	$2, %ecx
	repe cmpsw
	FLAGS	%rbp
	shl	$5, %rbp
	movabs	$HM, %rsi
	movabs	$HM + 16, %rdi
	mov	$1, %ecx
	addr32 repe cmpsl
	FLAGS	%rbp
	hlt
END(mem64_cmps)

/* One exit at a time, for mem_steps_test.cc. */
BEGIN(mem64_steps)
	mov	$M, %edi
AT(mem64_steps_load, mov 8(%rdi), %rbx)
AT(mem64_steps_or, orl $0x100, (%rdi))
	mov	$M + 16, %edi
	mov	$3, %ecx
	mov	$0x5A, %al
AT(mem64_steps_stos, rep stosb)
	mov	$M, %esi
	mov	$M + 24, %edi
AT(mem64_steps_movs, movsw)
	hlt
END(mem64_steps)

	.section .note.GNU-stack, "", @progbits
