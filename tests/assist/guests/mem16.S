/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Real-mode snippets for the MMIO assist.  Each first points DS and ES at
 * the device (ASSIST_MMIO_SEG) and FS at RAM (ASSIST_DATA_SEG), then uses
 * both address sizes: 16-bit, and 32-bit (0x67); 4-byte operands take 0x66.
 * Flags go to EBP (and EDX) through FLAGS.  The expected values are in
 * mem16_test.cc.
 */
#include "assist.h"

	.section .rodata.assist16, "a"
	.code16

.macro SEGMENTS
	mov	$ASSIST_MMIO_SEG, %ax
	mov	%ax, %ds
	mov	%ax, %es
	mov	$ASSIST_DATA_SEG, %ax
	mov	%ax, %fs
	xor	%ebp, %ebp
.endm

BEGIN(mem16_mov_store)
	SEGMENTS
	xor	%di, %di
	mov	$0x5A11, %ax
	mov	%al, (%di)
	mov	%ah, 1(%di)
	mov	$0x2233, %cx
	mov	%cx, 2(%di)
	mov	$0x44556677, %edx
	mov	%edx, 4(%di)
	mov	$8, %bx
	mov	$4, %si
	mov	%edx, (%bx,%si)
	mov	%cx, 8
	mov	$16, %edi
	addr32 mov %al, (%edi)
	addr32 mov %cx, 2(%edi)
	mov	$1, %ebx
	addr32 mov %edx, (%edi,%ebx,4)
	addr32 mov %ah, 8(%edi)
	hlt
END(mem16_mov_store)

BEGIN(mem16_mov_load)
	SEGMENTS
	xor	%si, %si
	mov	$-1, %eax
	mov	(%si), %al
	mov	$-1, %ecx
	mov	2(%si), %cx
	mov	4(%si), %edx
	mov	$-1, %ebx
	mov	1(%si), %bh
	mov	$8, %edi
	mov	$-1, %ebp
	addr32 mov 1(%edi), %bp
	mov	$4, %esi
	addr32 mov (%edi,%esi), %esi
	addr32 mov 5(%edi), %di
	hlt
END(mem16_mov_load)

BEGIN(mem16_mov_imm)
	SEGMENTS
	xor	%di, %di
	movb	$0x12, (%di)
	movw	$0x3456, 2(%di)
	movl	$0x789ABCDE, 4(%di)
	mov	$8, %ebx
	addr32 movl $0xCAFEBABE, (%ebx)
	addr32 movw $0x1234, 4(%ebx)
	movb	$0x56, 0x10
	addr32 movb $0x78, 0x18
	hlt
END(mem16_mov_imm)

/* A0-A3 with a 2-byte offset, then with a 4-byte one (0x67). */
BEGIN(mem16_moffs)
	SEGMENTS
	mov	$0x11223344, %eax
	mov	%eax, 8
	mov	%ax, 4
	mov	%al, 6
	addr32 mov %eax, 12
	addr32 mov %al, 0
	mov	$-1, %eax
	mov	16, %al
	mov	%eax, %ebx
	mov	$-1, %eax
	mov	16, %ax
	mov	%eax, %ecx
	mov	16, %eax
	mov	%eax, %edx
	mov	$-1, %eax
	addr32 mov 17, %al
	mov	%eax, %esi
	addr32 mov 20, %ax
	hlt
END(mem16_moffs)

BEGIN(mem16_or)
	SEGMENTS
	xor	%di, %di
	xor	%esi, %esi
	mov	$0x80, %bl
	or	%bl, (%di)
	mov	$0x1100, %cx
	addr32 or %cx, 2(%esi)
	mov	$0x30000000, %edx
	or	%edx, 4(%di)
	FLAGS	%ebp
	mov	$0x0F000000, %edx
	shl	$5, %ebp
	addr32 or %edx, 8(%esi)
	FLAGS	%ebp
	mov	$0x4000, %eax
	or	8(%di), %eax
	mov	$0x20, %dl
	addr32 or 16(%esi), %dl
	orb	$0x0F, 16(%di)
	addr32 orl $0x10000, 16(%esi)
	shl	$5, %ebp
	orl	$-16, 24(%di)
	FLAGS	%ebp
	hlt
END(mem16_or)

BEGIN(mem16_and)
	SEGMENTS
	xor	%di, %di
	xor	%esi, %esi
	mov	$0x0F, %bl
	and	%bl, (%di)
	mov	$0x1234, %cx
	addr32 and %cx, 2(%esi)
	mov	$0x80000001, %edx
	and	%edx, 4(%di)
	FLAGS	%ebp
	mov	$0xFF00FF00, %edx
	shl	$5, %ebp
	addr32 and %edx, 8(%esi)
	FLAGS	%ebp
	mov	$-1, %eax
	and	16(%di), %eax
	mov	$-1, %ecx
	addr32 and 16(%esi), %cx
	andb	$0x30, 16(%di)
	addr32 andl $0xFFFF0FFF, 24(%esi)
	andl	$-0x80, 16(%di)
	hlt
END(mem16_and)

BEGIN(mem16_xor)
	SEGMENTS
	xor	%di, %di
	xor	%esi, %esi
	mov	$0xFF, %bl
	xor	%bl, (%di)
	mov	$0x1111, %cx
	addr32 xor %cx, 2(%esi)
	FLAGS	%ebp
	mov	$0x91111111, %edx
	shl	$5, %ebp
	xor	%edx, 4(%di)
	FLAGS	%ebp
	mov	$-1, %eax
	addr32 xor %eax, 8(%esi)
	mov	$0x5A5A5A5A, %eax
	shl	$5, %ebp
	xor	8(%di), %eax
	FLAGS	%ebp
	xorb	$0x0F, 16(%di)
	addr32 xorl $0x12345678, 16(%esi)
	xorl	$-1, 24(%di)
	hlt
END(mem16_xor)

BEGIN(mem16_sub)
	SEGMENTS
	xor	%di, %di
	xor	%esi, %esi
	mov	$0x20, %bl
	sub	%bl, (%di)
	FLAGS	%ebp
	mov	$1, %edx
	shl	$5, %ebp
	addr32 sub %edx, 8(%esi)
	FLAGS	%ebp
	mov	$0x100, %ecx
	shl	$5, %ebp
	sub	16(%di), %cx
	FLAGS	%ebp
	subl	$0xFF, 16(%di)
	addr32 subw $-1, 18(%esi)
	subb	$1, 24(%di)
	addr32 subl $0x10, 24(%esi)
	hlt
END(mem16_sub)

/* CMP Eb,Ib / Ev,Iz / Ev,Ib, CMP Eb,Gb / Ev,Gv and CMP Gb,Eb / Gv,Ev. */
BEGIN(mem16_cmp)
	SEGMENTS
	xor	%di, %di
	xor	%esi, %esi
	xor	%edx, %edx
	cmpb	$0x78, (%di)
	FLAGS	%ebp
	shl	$5, %ebp
	addr32 cmpw $0x5679, (%esi)
	FLAGS	%ebp
	shl	$5, %ebp
	cmpl	$0xF2345677, (%di)
	FLAGS	%ebp
	shl	$5, %ebp
	mov	$0x7F, %eax
	addr32 cmp %al, 8(%esi)
	FLAGS	%ebp
	shl	$5, %ebp
	cmp	8(%di), %al
	FLAGS	%ebp
	shl	$5, %ebp
	addr32 cmpl $-1, (%esi)
	FLAGS	%ebp
	mov	$0x80, %ecx
	cmp	%ecx, 8(%di)
	FLAGS	%edx
	shl	$5, %edx
	addr32 cmp 8(%esi), %eax
	FLAGS	%edx
	hlt
END(mem16_cmp)

BEGIN(mem16_test)
	SEGMENTS
	xor	%di, %di
	xor	%esi, %esi
	testb	$0x0F, (%di)
	FLAGS	%ebp
	shl	$5, %ebp
	addr32 testw $0x0F00, (%esi)
	FLAGS	%ebp
	shl	$5, %ebp
	testl	$0xA000, (%di)
	FLAGS	%ebp
	shl	$5, %ebp
	mov	$0x80, %cx
	addr32 test %cl, 11(%esi)
	FLAGS	%ebp
	shl	$5, %ebp
	mov	$0x80000001, %edx
	test	%edx, 8(%di)
	FLAGS	%ebp
	hlt
END(mem16_test)

BEGIN(mem16_xchg)
	SEGMENTS
	xor	%di, %di
	xor	%esi, %esi
	mov	$0x05060708, %ebx
	xchg	%ebx, (%di)
	mov	$-1, %ecx
	mov	$0xBBBB, %cx
	addr32 xchg %cx, 16(%esi)
	mov	$-1, %edx
	xchg	17(%di), %dl
	mov	$0x12345678, %ebp
	addr32 xchg %ebp, 8(%esi)
	mov	$0x5500, %eax
	xchg	%ah, 24(%di)
	hlt
END(mem16_xchg)

BEGIN(mem16_movzx)
	SEGMENTS
	xor	%di, %di
	xor	%esi, %esi
	mov	$-1, %eax
	movzbw	(%di), %ax
	mov	$-1, %ebx
	addr32 movzbl 1(%esi), %ebx
	mov	$-1, %ecx
	movzwl	2(%di), %ecx
	mov	$-1, %edx
	addr32 movzwl (%esi), %edx
	mov	$-1, %ebp
	addr32 movzbw 3(%esi), %bp
	hlt
END(mem16_movzx)

BEGIN(mem16_movsx)
	SEGMENTS
	xor	%di, %di
	xor	%esi, %esi
	mov	$-1, %eax
	movsbw	(%di), %ax
	xor	%ebx, %ebx
	addr32 movsbw 1(%esi), %bx
	movsbl	1(%di), %ecx
	addr32 movswl 2(%esi), %edx
	mov	$-1, %ebp
	movsbl	(%di), %ebp
	hlt
END(mem16_movsx)

/* The 16-bit REP STOSB counts in CX and moves DI only. */
BEGIN(mem16_stos)
	SEGMENTS
	xor	%di, %di
	mov	$0x44332211, %eax
	stosb
	stosw
	stosl
	mov	$0xFFFF0008, %edi
	mov	$0xFFFF0003, %ecx
	mov	$0xAB, %al
	rep stosb
	std
	mov	$31, %di
	mov	$2, %cx
	mov	$0x77, %al
	rep stosb
	cld
	mov	%edi, %ebx
	mov	%ecx, %edx
	mov	$16, %edi
	mov	$2, %ecx
	mov	$0x5A5A, %ax
	addr32 rep stosw
	hlt
END(mem16_stos)

BEGIN(mem16_lods)
	SEGMENTS
	xor	%si, %si
	mov	$-1, %eax
	lodsb
	mov	%eax, %ebx
	lodsw
	mov	%eax, %ecx
	lodsl
	mov	%eax, %edx
	mov	$8, %esi
	addr32 lodsl
	mov	%eax, %edi
	std
	addr32 lodsw
	cld
	hlt
END(mem16_lods)

/* MMIO to MMIO, RAM (through FS) to MMIO (0x67), and MMIO to MMIO downwards. */
BEGIN(mem16_movs)
	SEGMENTS
	movl	$0x89ABCDEF, %fs:0
	movl	$0x01234567, %fs:4
	xor	%si, %si
	mov	$16, %di
	mov	$3, %cx
	rep movsb
	movsl
	movsb
	xor	%esi, %esi
	mov	$2, %ecx
	addr32 rep movsl %fs:(%esi), %es:(%edi)
	std
	mov	$14, %si
	mov	$6, %di
	mov	$2, %cx
	rep movsw
	cld
	hlt
END(mem16_movs)

BEGIN(mem16_cmps)
	SEGMENTS
	xor	%si, %si
	mov	$16, %di
	mov	$8, %cx
	repe cmpsb
	FLAGS	%ebp
	mov	%ecx, %eax
	mov	%esi, %ebx
	mov	%edi, %edx
	shl	$5, %ebp
	mov	$8, %si
	mov	$24, %di
	cmpsl
	FLAGS	%ebp
	shl	$5, %ebp
	xor	%esi, %esi
	mov	$16, %edi
	mov	$2, %ecx
	addr32 repe cmpsw
	FLAGS	%ebp
	hlt
END(mem16_cmps)

/* One exit at a time, for mem_steps_test.cc. */
BEGIN(mem16_steps)
	SEGMENTS
	xor	%di, %di
AT(mem16_steps_load, mov 8(%di), %ebx)
AT(mem16_steps_or, orl $0x100, (%di))
	mov	$16, %di
	mov	$3, %cx
	mov	$0x5A, %al
AT(mem16_steps_stos, rep stosb)
	xor	%si, %si
	mov	$24, %di
AT(mem16_steps_movs, movsw)
	hlt
END(mem16_steps)

	.section .note.GNU-stack, "", @progbits
