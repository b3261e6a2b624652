/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A guest that reports the local-APIC features CPUID leaf 1 shows it, as
 * its power-off status: bit 0 the APIC (EDX 9), bit 1 x2APIC (ECX 21),
 * bit 2 the TSC-deadline timer (ECX 24).
 */
#include "snippet.h"

	.section .rodata.cpuid_apic, "a"
	.code64

BEGIN(cpuid_apic)
	mov	$1, %eax
	xor	%ecx, %ecx
	cpuid
	xor	%esi, %esi
	bt	$9, %edx
	adc	$0, %esi
	bt	$21, %ecx
	jnc	1f
	or	$2, %esi
1:	bt	$24, %ecx
	jnc	2f
	or	$4, %esi
2:	mov	%esi, %eax
	mov	$DEBUG_EXIT_PORT, %dx
	out	%eax, %dx
3:	hlt
	jmp	3b
END(cpuid_apic)

	.section .note.GNU-stack, "", @progbits
