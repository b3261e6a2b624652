/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Guest code of cases.c: one snippet per case, each copied to CASES_CODE
 * and ending with a read of CASES_END_MSR.  CASE_HANDLER marks a snippet's
 * interrupt handler for CASES_VECTOR, which stores 0x42 at the data page.
 */
#include "layout.h"

#define BEGIN(name) .globl name##_begin; name##_begin:
#define END(name) .globl name##_end; name##_end:
#define MARK(name) .globl name; name:
#define FINISH mov $CASES_END_MSR, %ecx; rdmsr; hlt
/* Reads CASES_TEST_MSR, stores EDX:EAX at DATA, writes it back plus one. */
#define MSR_CASE(DATA)			\
	mov	$CASES_TEST_MSR, %ecx;	\
	rdmsr;				\
	mov	%eax, DATA;		\
	mov	%edx, DATA + 4;		\
	add	$1, %eax;		\
	wrmsr;				\
	FINISH

/* ------------------------------------------------------------------ 64 */
	.section .rodata.cases64, "a"
	.code64

BEGIN(c64_inb)
	in	$CASES_PORT, %al
	mov	%al, CASES_DATA
	FINISH
END(c64_inb)

BEGIN(c64_inl)
	in	$CASES_PORT, %eax
	mov	%eax, CASES_DATA
	FINISH
END(c64_inl)

BEGIN(c64_insb)
	mov	$CASES_DATA, %rdi
	mov	$5, %ecx
	mov	$CASES_PORT, %dx
	rep insb
	FINISH
END(c64_insb)

BEGIN(c64_outw)
	mov	$0x3231, %ax
	out	%ax, $CASES_PORT
	FINISH
END(c64_outw)

BEGIN(c64_outsl)
	mov	$CASES_DATA, %rsi
	mov	$3, %ecx
	mov	$CASES_PORT, %dx
	rep outsl
	FINISH
END(c64_outsl)

BEGIN(c64_mov)
	movabs	$0x3837363534333231, %rax
	mov	%rax, CASES_MMIO
	mov	CASES_MMIO, %rbx
	mov	%rbx, CASES_DATA
	FINISH
END(c64_mov)

BEGIN(c64_or)
	orb	$0xF0, CASES_MMIO
	FINISH
END(c64_or)

BEGIN(c64_movsb)
	mov	$CASES_DATA, %rsi
	mov	$CASES_MMIO, %rdi
	mov	$6, %ecx
	rep movsb
	FINISH
END(c64_movsb)

BEGIN(c64_stosw)
	mov	$0x3231, %ax
	mov	$CASES_MMIO, %rdi
	mov	$4, %ecx
	rep stosw
	FINISH
END(c64_stosw)

BEGIN(c64_msr)
	MSR_CASE(CASES_DATA)
END(c64_msr)

BEGIN(c64_window)
	sti
	nop
	FINISH
MARK(c64_window_handler)
	movb	$0x42, CASES_DATA
	iretq
END(c64_window)

/* ------------------------------------------------------------------ 32 */
	.section .rodata.cases32, "a"
	.code32

BEGIN(c32_inw)
	in	$CASES_PORT, %ax
	mov	%ax, CASES_DATA
	FINISH
END(c32_inw)

BEGIN(c32_outsb)
	mov	$CASES_DATA, %esi
	mov	$4, %ecx
	mov	$CASES_PORT, %dx
	rep outsb
	FINISH
END(c32_outsb)

BEGIN(c32_mov)
	mov	$0x34333231, %eax
	mov	%eax, CASES_MMIO
	mov	CASES_MMIO, %ebx
	mov	%ebx, CASES_DATA
	FINISH
END(c32_mov)

BEGIN(c32_and)
	andl	$0x0F0F0F0F, CASES_MMIO
	FINISH
END(c32_and)

BEGIN(c32_msr)
	MSR_CASE(CASES_DATA)
END(c32_msr)

BEGIN(c32_window)
	sti
	nop
	FINISH
MARK(c32_window_handler)
	movb	$0x42, CASES_DATA
	iret
END(c32_window)

/* ------------------------------------------------------------------ 16 */
/* Real mode: DS is the data page, ES the MMIO window. */
	.section .rodata.cases16, "a"
	.code16

BEGIN(c16_inb)
	in	$CASES_PORT, %al
	mov	%al, 0
	FINISH
END(c16_inb)

BEGIN(c16_outb)
	mov	$0x31, %al
	out	%al, $CASES_PORT
	FINISH
END(c16_outb)

BEGIN(c16_insb)
	xor	%di, %di
	push	%ds
	pop	%es
	mov	$3, %cx
	mov	$CASES_PORT, %dx
	rep insb
	FINISH
END(c16_insb)

BEGIN(c16_mov)
	mov	$0x3231, %ax
	mov	%ax, %es:0
	mov	%es:0, %bx
	mov	%bx, 0
	FINISH
END(c16_mov)

BEGIN(c16_xor)
	xorw	$0x0101, %es:0
	FINISH
END(c16_xor)

BEGIN(c16_msr)
	MSR_CASE(0)
END(c16_msr)

BEGIN(c16_window)
	sti
	nop
	FINISH
MARK(c16_window_handler)
	movb	$0x42, 0
	iret
END(c16_window)

	.section .note.GNU-stack, "", @progbits
