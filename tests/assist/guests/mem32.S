/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * 32-bit protected-mode snippets for the MMIO assist.  mem32_flat runs with
 * flat segments (paging off and on) and finds the device at its absolute
 * address.  The others run with DS and ES based at the device
 * (CpuMode::kProt32Based), so that both address sizes reach it: 32-bit, and
 * 16-bit (0x67) where ones in bits 31:16 of the register must not count.
 * FS stays flat for RAM.  Flags go to EBP (and EDX) through FLAGS.  The
 * expected values are in mem32_test.cc.
 */
#include "assist.h"

#define M ASSIST_MMIO_GPA

	.section .rodata.assist32, "a"
	.code32

/* Store, load, moffs load, RAM-to-MMIO MOVS and REP STOS, flat. */
BEGIN(mem32_flat)
	mov	$M, %edi
	mov	$0x11223344, %eax
	mov	%eax, (%edi)
	movw	$0x5566, 4(%edi)
	mov	$-1, %ebx
	mov	2(%edi), %bx
	movl	$0xA5A5A5A5, GUEST_DATA_GPA
	mov	$GUEST_DATA_GPA, %esi
	mov	$M + 8, %edi
	movsl
	mov	$2, %ecx
	mov	$0x7788, %ax
	rep stosw
	mov	M + 16, %edx
	hlt
END(mem32_flat)

BEGIN(mem32_mov_store)
	xor	%edi, %edi
	mov	$0x5A11, %eax
	mov	%al, (%edi)
	mov	%ah, 1(%edi)
	mov	$0x2233, %ecx
	mov	%cx, 2(%edi)
	mov	$0x44556677, %edx
	mov	%edx, 4(%edi)
	mov	$1, %ebx
	mov	%edx, 4(%edi,%ebx,4)
	mov	$0xFFFF0010, %ebx
	mov	$4, %esi
	addr16 mov %al, (%bx)
	addr16 mov %cx, 2(%bx)
	addr16 mov %edx, (%bx,%si)
	addr16 mov %ah, 0x19
	hlt
END(mem32_mov_store)

BEGIN(mem32_mov_load)
	xor	%esi, %esi
	mov	$-1, %eax
	mov	(%esi), %al
	mov	$-1, %ecx
	mov	2(%esi), %cx
	mov	4(%esi), %edx
	mov	$0xFFFF0008, %ebx
	mov	$4, %esi
	mov	$-1, %ebp
	addr16 mov 1(%bx), %bp
	mov	$-1, %edi
	addr16 mov 1(%bx,%si), %di
	addr16 mov (%bx,%si), %esi
	addr16 mov 1, %bh
	hlt
END(mem32_mov_load)

BEGIN(mem32_mov_imm)
	xor	%edi, %edi
	movb	$0x12, (%edi)
	movw	$0x3456, 2(%edi)
	movl	$0x789ABCDE, 4(%edi)
	mov	$8, %bx
	addr16 movl $0xCAFEBABE, (%bx)
	addr16 movw $0x1234, 4(%bx,%di)
	addr16 movb $0x56, 0x10
	hlt
END(mem32_mov_imm)

/* A0-A3 with a 4-byte offset, then with a 2-byte one (0x67). */
BEGIN(mem32_moffs)
	mov	$0x11223344, %eax
	mov	%eax, 8
	mov	%ax, 4
	mov	%al, 6
	addr16 mov %eax, 12
	addr16 mov %al, 0
	mov	$-1, %eax
	mov	16, %al
	mov	%eax, %ebx
	mov	$-1, %eax
	mov	16, %ax
	mov	%eax, %ecx
	mov	16, %eax
	mov	%eax, %edx
	mov	$-1, %eax
	addr16 mov 17, %al
	mov	%eax, %esi
	addr16 mov 20, %ax
	hlt
END(mem32_moffs)

BEGIN(mem32_or)
	xor	%edi, %edi
	xor	%esi, %esi
	mov	$0x80, %bl
	or	%bl, (%edi)
	mov	$0x1100, %cx
	addr16 or %cx, 2(%si)
	mov	$0x30000000, %edx
	or	%edx, 4(%edi)
	FLAGS	%ebp
	mov	$0x0F000000, %edx
	shl	$5, %ebp
	addr16 or %edx, 8(%si)
	FLAGS	%ebp
	mov	$0x4000, %eax
	addr16 or 8(%si), %eax
	mov	$0x20, %dl
	or	16(%edi), %dl
	orb	$0x0F, 16(%edi)
	addr16 orl $0x10000, 16(%si)
	shl	$5, %ebp
	orl	$-16, 24(%edi)
	FLAGS	%ebp
	hlt
END(mem32_or)

BEGIN(mem32_and)
	xor	%edi, %edi
	xor	%esi, %esi
	mov	$0x0F, %bl
	and	%bl, (%edi)
	mov	$0x1234, %cx
	addr16 and %cx, 2(%si)
	mov	$0x80000001, %edx
	and	%edx, 4(%edi)
	FLAGS	%ebp
	mov	$0xFF00FF00, %edx
	shl	$5, %ebp
	addr16 and %edx, 8(%si)
	FLAGS	%ebp
	mov	$-1, %eax
	addr16 and 16(%si), %eax
	mov	$-1, %ecx
	and	16(%edi), %cx
	andb	$0x30, 16(%edi)
	addr16 andl $0xFFFF0FFF, 24(%si)
	andl	$-0x80, 16(%edi)
	hlt
END(mem32_and)

BEGIN(mem32_xor)
	xor	%edi, %edi
	xor	%esi, %esi
	mov	$0xFF, %bl
	xor	%bl, (%edi)
	mov	$0x1111, %cx
	addr16 xor %cx, 2(%si)
	FLAGS	%ebp
	mov	$0x91111111, %edx
	shl	$5, %ebp
	xor	%edx, 4(%edi)
	FLAGS	%ebp
	mov	$-1, %eax
	addr16 xor %eax, 8(%si)
	mov	$0x5A5A5A5A, %eax
	shl	$5, %ebp
	xor	8(%edi), %eax
	FLAGS	%ebp
	xorb	$0x0F, 16(%edi)
	addr16 xorl $0x12345678, 16(%si)
	xorl	$-1, 24(%edi)
	hlt
END(mem32_xor)

BEGIN(mem32_sub)
	xor	%edi, %edi
	xor	%esi, %esi
	mov	$0x20, %bl
	sub	%bl, (%edi)
	FLAGS	%ebp
	mov	$1, %edx
	shl	$5, %ebp
	addr16 sub %edx, 8(%si)
	FLAGS	%ebp
	mov	$0x100, %ecx
	shl	$5, %ebp
	addr16 sub 16(%si), %cx
	FLAGS	%ebp
	subl	$0xFF, 16(%edi)
	addr16 subw $-1, 18(%si)
	subb	$1, 24(%edi)
	addr16 subl $0x10, 24(%si)
	hlt
END(mem32_sub)

/* CMP Eb,Ib / Ev,Iz / Ev,Ib, CMP Eb,Gb / Ev,Gv and CMP Gb,Eb / Gv,Ev. */
BEGIN(mem32_cmp)
	xor	%edi, %edi
	xor	%esi, %esi
	cmpb	$0x78, (%edi)
	FLAGS	%ebp
	shl	$5, %ebp
	addr16 cmpw $0x5679, (%si)
	FLAGS	%ebp
	shl	$5, %ebp
	cmpl	$0xF2345677, (%edi)
	FLAGS	%ebp
	shl	$5, %ebp
	mov	$0x7F, %eax
	addr16 cmp %al, 8(%si)
	FLAGS	%ebp
	shl	$5, %ebp
	cmp	8(%edi), %al
	FLAGS	%ebp
	shl	$5, %ebp
	addr16 cmpl $-1, (%si)
	FLAGS	%ebp
	mov	$0x80, %ecx
	cmp	%ecx, 8(%edi)
	FLAGS	%edx
	shl	$5, %edx
	addr16 cmp 8(%si), %eax
	FLAGS	%edx
	hlt
END(mem32_cmp)

BEGIN(mem32_test)
	xor	%edi, %edi
	xor	%esi, %esi
	testb	$0x0F, (%edi)
	FLAGS	%ebp
	shl	$5, %ebp
	addr16 testw $0x0F00, (%si)
	FLAGS	%ebp
	shl	$5, %ebp
	testl	$0xA000, (%edi)
	FLAGS	%ebp
	shl	$5, %ebp
	mov	$0x80, %ecx
	addr16 test %cl, 11(%si)
	FLAGS	%ebp
	shl	$5, %ebp
	mov	$0x80000001, %edx
	test	%edx, 8(%edi)
	FLAGS	%ebp
	hlt
END(mem32_test)

BEGIN(mem32_xchg)
	xor	%edi, %edi
	xor	%esi, %esi
	mov	$0x05060708, %ebx
	xchg	%ebx, (%edi)
	mov	$-1, %ecx
	mov	$0xBBBB, %cx
	addr16 xchg %cx, 16(%si)
	mov	$-1, %edx
	xchg	17(%edi), %dl
	mov	$0x12345678, %ebp
	addr16 xchg %ebp, 8(%si)
	mov	$0x5500, %eax
	xchg	%ah, 24(%edi)
	hlt
END(mem32_xchg)

BEGIN(mem32_movzx)
	xor	%edi, %edi
	xor	%esi, %esi
	mov	$-1, %eax
	movzbw	(%edi), %ax
	mov	$-1, %ebx
	addr16 movzbl 1(%si), %ebx
	mov	$-1, %ecx
	movzwl	2(%edi), %ecx
	mov	$-1, %edx
	addr16 movzwl (%si), %edx
	mov	$-1, %ebp
	addr16 movzbw 3(%si), %bp
	hlt
END(mem32_movzx)

BEGIN(mem32_movsx)
	xor	%edi, %edi
	xor	%esi, %esi
	mov	$-1, %eax
	movsbw	(%edi), %ax
	xor	%ebx, %ebx
	addr16 movsbw 1(%si), %bx
	movsbl	1(%edi), %ecx
	addr16 movswl 2(%si), %edx
	mov	$-1, %ebp
	movsbl	(%edi), %ebp
	hlt
END(mem32_movsx)

/* The 0x67 REP STOSW counts in CX and moves DI only. */
BEGIN(mem32_stos)
	xor	%edi, %edi
	mov	$0x44332211, %eax
	stosb
	stosw
	stosl
	mov	$8, %edi
	mov	$3, %ecx
	mov	$0xAB, %al
	rep stosb
	std
	mov	$31, %edi
	mov	$2, %ecx
	mov	$0x77, %al
	rep stosb
	cld
	mov	$0xFFFF0010, %edi
	mov	$0xFFFF0002, %ecx
	mov	$0x5A5A, %ax
	addr16 rep stosw
	hlt
END(mem32_stos)

BEGIN(mem32_lods)
	xor	%esi, %esi
	mov	$-1, %eax
	lodsb
	mov	%eax, %ebx
	lodsw
	mov	%eax, %ecx
	lodsl
	mov	%eax, %edx
	mov	$0xFFFF0008, %esi
	addr16 lodsl
	mov	%eax, %edi
	std
	addr16 lodsw
	cld
	hlt
END(mem32_lods)

/* MMIO to MMIO, RAM (through FS) to MMIO, and MMIO to MMIO downwards (0x67). */
BEGIN(mem32_movs)
	movl	$0x89ABCDEF, %fs:GUEST_DATA_GPA
	movl	$0x01234567, %fs:GUEST_DATA_GPA + 4
	xor	%esi, %esi
	mov	$16, %edi
	mov	$3, %ecx
	rep movsb
	movsl
	movsb
	mov	$GUEST_DATA_GPA, %esi
	mov	$2, %ecx
	rep movsl %fs:(%esi), %es:(%edi)
	std
	mov	$0xFFFF000E, %esi
	mov	$0xFFFF0006, %edi
	mov	$0xFFFF0002, %ecx
	addr16 rep movsw
	cld
	hlt
END(mem32_movs)

BEGIN(mem32_cmps)
	xor	%esi, %esi
	mov	$16, %edi
	mov	$8, %ecx
	repe cmpsb
	FLAGS	%ebp
	mov	%ecx, %eax
	mov	%esi, %ebx
	mov	%edi, %edx
	shl	$5, %ebp
	mov	$8, %esi
	mov	$24, %edi
	cmpsl
	FLAGS	%ebp
	shl	$5, %ebp
	mov	$0xFFFF0000, %esi
	mov	$0xFFFF0010, %edi
	mov	$0xFFFF0002, %ecx
	addr16 repe cmpsw
	FLAGS	%ebp
	hlt
END(mem32_cmps)

	.section .note.GNU-stack, "", @progbits
