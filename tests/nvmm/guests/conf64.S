/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Guests of the NVMM_VCPU_CONF_CPUID and NVMM_VCPU_CONF_TPR tests (CPL0,
 * long mode: CPUID is answered from KVM's table there, and MOV CR8 needs
 * CPL0).
 */
#include "snippet.h"

	.section .rodata.guest64, "a"
	.code64

/* Stores EAX, EBX, ECX, EDX of CPUID leaf \leaf at GUEST_DATA_GPA + \at. */
.macro STORE_CPUID leaf, at
	mov	$\leaf, %eax
	xor	%ecx, %ecx
	cpuid
	mov	%eax, GUEST_DATA_GPA + \at
	mov	%ebx, GUEST_DATA_GPA + \at + 4
	mov	%ecx, GUEST_DATA_GPA + \at + 8
	mov	%edx, GUEST_DATA_GPA + \at + 12
.endm

BEGIN(long_cpuid)
	STORE_CPUID 0x1, 0
	STORE_CPUID 0x80000001, 16
	hlt
END(long_cpuid)

/* The leaves NVMM's CPUID policy shapes, 16 bytes each, in this order. */
BEGIN(long_cpuid_policy)
	STORE_CPUID 0x0, 0
	STORE_CPUID 0x1, 16
	STORE_CPUID 0x5, 32
	STORE_CPUID 0x6, 48
	STORE_CPUID 0x7, 64
	STORE_CPUID 0xA, 80
	STORE_CPUID 0xD, 96
	STORE_CPUID 0x40000000, 112
	STORE_CPUID 0x40000010, 128
	STORE_CPUID 0x80000000, 144
	STORE_CPUID 0x80000001, 160
	STORE_CPUID 0x80000008, 176
	hlt
END(long_cpuid_policy)

/* Leaf 0xB, subleaves 0, 1 and 2, 16 bytes each. */
BEGIN(long_cpuid_topology)
	.irp sub, 0, 1, 2
	mov	$0xB, %eax
	mov	$\sub, %ecx
	cpuid
	mov	%eax, GUEST_DATA_GPA + 16 * \sub
	mov	%ebx, GUEST_DATA_GPA + 16 * \sub + 4
	mov	%ecx, GUEST_DATA_GPA + 16 * \sub + 8
	mov	%edx, GUEST_DATA_GPA + 16 * \sub + 12
	.endr
	hlt
END(long_cpuid_topology)

/* Raises the TPR, then lowers it. */
BEGIN(long_tpr)
	mov	$8, %eax
AT(long_tpr_raise, mov %rax, %cr8)
	mov	$3, %eax
AT(long_tpr_lower, mov %rax, %cr8)
	hlt
END(long_tpr)

	.section .note.GNU-stack, "", @progbits
