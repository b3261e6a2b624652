/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Guests of the interrupt- and NMI-window tests (long mode, the fixture's
 * IDT; handlers run at CPL0).
 */
#include "snippet.h"

	.section .rodata.guest64, "a"
	.code64

/*
 * Runs with interrupts off for a while (one OUT exit among them), then
 * enables them: the MMIO read sits in the STI shadow, so the window opens
 * at long_window_open and not before.  Vector 0x30 reports on GUEST_PORT.
 */
BEGIN(long_window)
	cli
	mov	$8, %ecx
MARK(long_window_spin)
	dec	%ecx
	jnz	long_window_spin
AT(long_window_masked, out %al, $GUEST_PORT + 1)
	sti
AT(long_window_shadowed, mov GUEST_MMIO_GPA, %eax)
MARK(long_window_open)
	hlt
MARK(long_window_handler)
	mov	$0x30, %eax
AT(long_window_report, out %eax, $GUEST_PORT)
	hlt
END(long_window)

/*
 * CPL3 with interrupts on, so the window is open from the start.  Vector
 * 0x30 reports at CPL0, on the stack at the TSS's RSP0.
 */
BEGIN(user_window)
MARK(user_window_loop)
	jmp	user_window_loop
MARK(user_window_handler)
	mov	$0x30, %eax
AT(user_window_report, out %eax, $GUEST_PORT)
	hlt
END(user_window)

/*
 * NMI handler: counts NMIs in RBX and exits twice before its IRET, so the
 * VMM can inject a second NMI while the first still blocks NMIs.
 */
BEGIN(long_nmi)
MARK(long_nmi_handler)
	inc	%ebx
AT(long_nmi_first, out %al, $GUEST_PORT)
AT(long_nmi_second, out %al, $GUEST_PORT + 1)
	iretq
MARK(long_nmi_main)
	hlt
END(long_nmi)

	.section .note.GNU-stack, "", @progbits
