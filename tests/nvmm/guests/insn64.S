/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Guests of the RDMSR/WRMSR and MONITOR/MWAIT tests (CPL0, long mode, the
 * fixture's IDT).  Handlers report their vector on GUEST_PORT + 1.
 */
#include "snippet.h"

/* In the AMD model-specific range, and none of the MSRs KVM emulates there. */
#define UNKNOWN_MSR 0xC0011234

	.section .rodata.guest64, "a"
	.code64

/*
 * Reads UNKNOWN_MSR (EDX:EAX stored at GUEST_DATA_GPA), writes
 * 0x1122334455667788 to it, then reports on GUEST_PORT.  #GP reports its
 * error code in RBX.
 */
BEGIN(long_msr)
	mov	$UNKNOWN_MSR, %ecx
AT(long_msr_rd, rdmsr)
	mov	%eax, GUEST_DATA_GPA
	mov	%edx, GUEST_DATA_GPA + 4
	mov	$0x55667788, %eax
	mov	$0x11223344, %edx
AT(long_msr_wr, wrmsr)
AT(long_msr_done, out %al, $GUEST_PORT)
	hlt
MARK(long_msr_gp)
	pop	%rbx
	mov	$13, %eax
AT(long_msr_gp_report, out %eax, $GUEST_PORT + 1)
	hlt
END(long_msr)

/*
 * One MSR, index in ECX: reads it (EDX:EAX stored at GUEST_DATA_GPA),
 * writes the quadword at GUEST_DATA_GPA + 8, reads it again (stored at
 * GUEST_DATA_GPA + 16), then reports on GUEST_PORT.  #GP reports 13 on
 * GUEST_PORT + 1.
 */
BEGIN(long_msr_one)
AT(long_msr_one_rd, rdmsr)
	mov	%eax, GUEST_DATA_GPA
	mov	%edx, GUEST_DATA_GPA + 4
	mov	GUEST_DATA_GPA + 8, %eax
	mov	GUEST_DATA_GPA + 12, %edx
AT(long_msr_one_wr, wrmsr)
AT(long_msr_one_rd2, rdmsr)
	mov	%eax, GUEST_DATA_GPA + 16
	mov	%edx, GUEST_DATA_GPA + 20
AT(long_msr_one_done, out %al, $GUEST_PORT)
	hlt
MARK(long_msr_one_gp)
	mov	$13, %eax
AT(long_msr_one_gp_report, out %eax, $GUEST_PORT + 1)
	hlt
END(long_msr_one)

/*
 * MONITOR and MWAIT, each started on its own with RAX = a RAM address and
 * ECX = EDX = 0.
 */
BEGIN(long_mwait)
AT(long_mwait_monitor, monitor)
	hlt
AT(long_mwait_mwait, mwait)
	hlt
MARK(long_mwait_ud)
	mov	$6, %eax
AT(long_mwait_report, out %eax, $GUEST_PORT + 1)
	hlt
END(long_mwait)

	.section .note.GNU-stack, "", @progbits
