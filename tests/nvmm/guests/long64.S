/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * 64-bit long-mode guests running at CPL0 on the fixture's identity page
 * tables (GUEST_PML4_GPA), flat segments from the fixture's GDT and the IDT
 * at GUEST_IDT_GPA.  Results go to GUEST_DATA_GPA or out on GUEST_PORT.
 */
#include "snippet.h"

	.section .rodata.guest64, "a"
	.code64

/* The store goes through the 4 MiB alias, so it needs the 4-level tables. */
BEGIN(long_alias)
	movabs	$0x1122334455667788, %rax
	mov	%rax, GUEST_ALIAS_VA + GUEST_DATA_GPA
	hlt
END(long_alias)

/*
 * Every GPR but RSP goes up by one without touching RFLAGS; pushfq then
 * stores the RFLAGS the test set and moves RSP down by 8.
 */
BEGIN(long_gprs)
	lea	1(%rax), %rax
	lea	1(%rcx), %rcx
	lea	1(%rdx), %rdx
	lea	1(%rbx), %rbx
	lea	1(%rbp), %rbp
	lea	1(%rsi), %rsi
	lea	1(%rdi), %rdi
	lea	1(%r8), %r8
	lea	1(%r9), %r9
	lea	1(%r10), %r10
	lea	1(%r11), %r11
	lea	1(%r12), %r12
	lea	1(%r13), %r13
	lea	1(%r14), %r14
	lea	1(%r15), %r15
	pushfq
	hlt
END(long_gprs)

/* FS and GS bases come from the SEGS state only. */
BEGIN(long_fsgs)
	mov	%fs:0x8, %rax
	mov	%gs:0x10, %rbx
	hlt
END(long_fsgs)

/* Reports CR0, CR2, CR3, CR4 and CR8, then writes CR8 = 9. */
BEGIN(long_crs)
	mov	%cr0, %rax
	mov	%rax, GUEST_DATA_GPA
	mov	%cr2, %rax
	mov	%rax, GUEST_DATA_GPA + 8
	mov	%cr3, %rax
	mov	%rax, GUEST_DATA_GPA + 16
	mov	%cr4, %rax
	mov	%rax, GUEST_DATA_GPA + 24
	mov	%cr8, %rax
	mov	%rax, GUEST_DATA_GPA + 32
	mov	$9, %eax
	mov	%rax, %cr8
	hlt
END(long_crs)

/* Reports DR0-DR3, DR6 and DR7 in NVMM_X64_DR_* order. */
BEGIN(long_drs)
	mov	%dr0, %rax
	mov	%rax, GUEST_DATA_GPA
	mov	%dr1, %rax
	mov	%rax, GUEST_DATA_GPA + 8
	mov	%dr2, %rax
	mov	%rax, GUEST_DATA_GPA + 16
	mov	%dr3, %rax
	mov	%rax, GUEST_DATA_GPA + 24
	mov	%dr6, %rax
	mov	%rax, GUEST_DATA_GPA + 32
	mov	%dr7, %rax
	mov	%rax, GUEST_DATA_GPA + 40
	hlt
END(long_drs)

/* Stores MSR \msr at GUEST_DATA_GPA + 8 * \slot. */
.macro READ_MSR msr, slot
	mov	$\msr, %ecx
	rdmsr
	mov	%eax, GUEST_DATA_GPA + 8 * \slot
	mov	%edx, GUEST_DATA_GPA + 8 * \slot + 4
.endm

/* Reports the MSRs in NVMM_X64_MSR_* order, then RDTSC in slot 11. */
BEGIN(long_msrs)
	READ_MSR 0xC0000080, 0	/* EFER */
	READ_MSR 0xC0000081, 1	/* STAR */
	READ_MSR 0xC0000082, 2	/* LSTAR */
	READ_MSR 0xC0000083, 3	/* CSTAR */
	READ_MSR 0xC0000084, 4	/* SFMASK */
	READ_MSR 0xC0000102, 5	/* KERNELGSBASE */
	READ_MSR 0x174, 6	/* SYSENTER_CS */
	READ_MSR 0x175, 7	/* SYSENTER_ESP */
	READ_MSR 0x176, 8	/* SYSENTER_EIP */
	READ_MSR 0x277, 9	/* PAT */
	READ_MSR 0x10, 10	/* TSC */
	rdtsc
	mov	%eax, GUEST_DATA_GPA + 8 * 11
	mov	%edx, GUEST_DATA_GPA + 8 * 11 + 4
	hlt
END(long_msrs)

/*
 * The MMIO read sits in the STI interrupt shadow, the OUT does not.  A read
 * is used because KVM exits for it before the instruction executes; KVM
 * completes an OUT before exiting, which already ends the shadow.
 */
BEGIN(long_intr)
	sti
AT(long_intr_shadowed, mov GUEST_MMIO_GPA, %eax)
	nop
AT(long_intr_plain, out %al, $GUEST_PORT)
	hlt
END(long_intr)

/* Sets XCR0 to x87|SSE; the second HLT lets the test run it once more. */
BEGIN(long_xsetbv)
	xor	%ecx, %ecx
	xor	%edx, %edx
	mov	$3, %eax
	xsetbv
	hlt
	hlt
END(long_xsetbv)

/*
 * The same OUT again and again, for a test that rewrites it between exits
 * (into a shorter OUT with the port in DX).
 */
BEGIN(long_io_patch)
MARK(long_io_patch_out)
	out	%al, $GUEST_PORT
	nop
	jmp	long_io_patch_out
END(long_io_patch)

/* The OUT ends where a two-byte OUT written over it will end too. */
BEGIN(long_io_repatch)
MARK(long_io_repatch_at)
	nop
	out	%al, %dx
	jmp	long_io_repatch_at
END(long_io_repatch)

/*
 * Port I/O of every size, immediate-port and DX-port forms.  Each IN starts
 * from RAX = -1 and stores the whole of RAX, so the test sees which bytes
 * the IN replaced.
 */
BEGIN(long_io)
	mov	$0x11, %al
AT(long_io_out8, outb %al, $GUEST_PORT)
	mov	$GUEST_PORT, %dx
	mov	$0x2233, %ax
AT(long_io_out16, outw %ax, %dx)
	mov	$0x44556677, %eax
AT(long_io_out32, outl %eax, $GUEST_PORT)
	mov	$-1, %rax
AT(long_io_in8, inb $GUEST_PORT, %al)
	mov	%rax, GUEST_DATA_GPA
	mov	$-1, %rax
AT(long_io_in16, inw %dx, %ax)
	mov	%rax, GUEST_DATA_GPA + 8
	mov	$-1, %rax
AT(long_io_in32, inl $GUEST_PORT, %eax)
	mov	%rax, GUEST_DATA_GPA + 16
	hlt
END(long_io)

/* String I/O: five bytes out from the snippet, four bytes in to RAM. */
BEGIN(long_io_str)
	mov	$GUEST_PORT, %dx
	lea	long_io_str_text(%rip), %rsi
	mov	$5, %ecx
AT(long_io_outsb, rep outsb)
	mov	$GUEST_DATA_GPA, %edi
	mov	$4, %ecx
AT(long_io_insb, rep insb)
	hlt
MARK(long_io_str_text)
	.ascii	"hello"
END(long_io_str)

/* MMIO writes of every width, then two reads into registers. */
BEGIN(long_mmio)
AT(long_mmio_w8, movb $0x11, GUEST_MMIO_GPA)
AT(long_mmio_w16, movw $0x2233, GUEST_MMIO_GPA + 8)
AT(long_mmio_w32, movl $0x44556677, GUEST_MMIO_GPA + 16)
	movabs	$0x8899AABBCCDDEEFF, %rax
AT(long_mmio_w64, mov %rax, GUEST_MMIO_GPA + 24)
AT(long_mmio_r64, mov GUEST_MMIO_GPA + 32, %rbx)
	mov	$-1, %rcx
AT(long_mmio_r32, mov GUEST_MMIO_GPA + 40, %ecx)
	mov	%rbx, GUEST_DATA_GPA
	hlt
END(long_mmio)

/* Reads the read-only page (no exit), then writes it (MEMORY exit). */
BEGIN(long_ro)
	mov	GUEST_ROM_GPA, %rax
	mov	%rax, GUEST_DATA_GPA
AT(long_ro_write, movl $0x5A5A5A5A, GUEST_ROM_GPA + 8)
	hlt
END(long_ro)

BEGIN(long_hlt)
	nop
AT(long_hlt_hlt, hlt)
END(long_hlt)

/* With the IDT limit at 0, #UD cannot be delivered: #GP, #DF, shutdown. */
BEGIN(long_triple)
	ud2
END(long_triple)

/* Jumps to a mapped virtual address with no guest memory behind it. */
BEGIN(long_invalid)
	mov	$GUEST_MMIO_GPA, %eax
	jmp	*%rax
END(long_invalid)

/*
 * Two versions of the code on one page, for the test that maps one after
 * the other at the same guest address: the OUT is at offset 4 in the
 * first, at offset 2 in the second, so that either read in place of the
 * other decodes to another npc.
 */
BEGIN(long_remap_a)
	nop
	nop
	nop
	nop
AT(long_remap_a_out, out %al, $GUEST_PORT)
	hlt
END(long_remap_a)

BEGIN(long_remap_b)
	nop
	nop
AT(long_remap_b_out, out %al, $GUEST_PORT)
	hlt
END(long_remap_b)

BEGIN(long_spin)
MARK(long_spin_loop)
	jmp	long_spin_loop
END(long_spin)

/*
 * IDT handlers for the injection tests; each reports its vector in EAX on
 * GUEST_PORT, the #GP handler also its error code in RBX.  The test
 * injects at the main label, whose HLT is reached only if nothing arrives.
 */
BEGIN(long_inject)
MARK(long_inject_nmi)
	mov	$2, %eax
	jmp	long_inject_report
MARK(long_inject_ud)
	mov	$6, %eax
	jmp	long_inject_report
MARK(long_inject_gp)
	pop	%rbx
	mov	$13, %eax
	jmp	long_inject_report
MARK(long_inject_intr)
	mov	$0x30, %eax
AT(long_inject_report, out %eax, $GUEST_PORT)
	hlt
MARK(long_inject_main)
	hlt
END(long_inject)

	.section .note.GNU-stack, "", @progbits
