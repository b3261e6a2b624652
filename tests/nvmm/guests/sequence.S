/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Guests of the sequence tests (sequence_test.cc): in each mode one
 * instruction per exit kind, each followed by HLT, and a check point that
 * stores EBX at GUEST_DATA_GPA and EAX at GUEST_DATA_GPA + 4 before it
 * reports on GUEST_PORT + 2.  SEQ_MMIO_GPA has no memory behind it; real
 * mode reaches it through FS, the test's, and the data through DS.
 */
#include "snippet.h"

#define SEQ_MMIO_GPA 0x30000

/* The snippet of one mode: MMIO is its operand for SEQ_MMIO_GPA, BX and AX
 * its operands for the two data words. */
#define SEQ(mode, MMIO, BX, AX)					\
BEGIN(mode);							\
AT(mode##_in, in $GUEST_PORT, %al); hlt;			\
AT(mode##_out, out %al, $GUEST_PORT); hlt;			\
AT(mode##_rdmsr, rdmsr); hlt;					\
AT(mode##_wrmsr, wrmsr); hlt;					\
AT(mode##_mmio_rd, mov MMIO, %eax); hlt;			\
AT(mode##_mmio_wr, mov %eax, MMIO); hlt;			\
MARK(mode##_check);						\
	mov %ebx, BX;						\
	mov %eax, AX;						\
AT(mode##_check_out, out %al, $GUEST_PORT + 2); hlt;		\
END(mode)

	.section .rodata.guest16, "a"
	.code16
SEQ(seq16, %fs:0, 0, 4)

	.section .rodata.guest32, "a"
	.code32
SEQ(seq32, SEQ_MMIO_GPA, GUEST_DATA_GPA, GUEST_DATA_GPA + 4)

	.section .rodata.guest64, "a"
	.code64
SEQ(seq64, SEQ_MMIO_GPA, GUEST_DATA_GPA, GUEST_DATA_GPA + 4)

	.section .note.GNU-stack, "", @progbits
