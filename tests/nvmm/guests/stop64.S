/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Guests of the nvmm_vcpu_stop tests: a CPL3 loop that never exits on its
 * own (CPL3 code runs natively on kvm-pvm, so only a stop or a signal ends
 * the run), and a CPL0 interrupt handler that shows what the guest saw of
 * state committed before a STOPPED run.
 */
#include "snippet.h"

	.section .rodata.guest64, "a"
	.code64

BEGIN(user_spin)
MARK(user_spin_loop)
	jmp	user_spin_loop
END(user_spin)

/*
 * An MMIO read, then the same endless loop: the VMM finishes the read with
 * nvmm_assist_mem and moves RIP on to the loop itself.
 */
BEGIN(user_mmio_spin)
AT(user_mmio_spin_read, mov GUEST_MMIO_GPA, %eax)
MARK(user_mmio_spin_loop)
	jmp	user_mmio_spin_loop
END(user_mmio_spin)

/* Vector 0x30: stores the RBX the VMM set, then reports the vector. */
BEGIN(long_stop)
MARK(long_stop_handler)
	mov	%rbx, GUEST_DATA_GPA
	mov	$0x30, %eax
AT(long_stop_report, out %eax, $GUEST_PORT)
	hlt
MARK(long_stop_main)
	hlt
END(long_stop)

	.section .note.GNU-stack, "", @progbits
