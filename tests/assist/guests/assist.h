/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Layout and assembler helpers of the assist tests, on top of the nvmm test
 * fixture's layout (tests/nvmm/guests/layout.h).  The MMIO page sits below
 * 1 MiB, with no RAM behind it, so real-mode code reaches it through a
 * segment; 16- and 32-bit snippets find it at DS:0 and ES:0, 64-bit snippets
 * at its absolute address.
 */
#ifndef VMRUNTIME_TESTS_ASSIST_GUESTS_ASSIST_H
#define VMRUNTIME_TESTS_ASSIST_GUESTS_ASSIST_H

#include "guests/snippet.h"

#define ASSIST_MMIO_GPA  0x30000
#define ASSIST_MMIO_SEG  0x3000
/* RAM that 16-bit snippets reach through FS (FS:0 = GUEST_DATA_GPA). */
#define ASSIST_DATA_SEG  0x1000
/* The port of the I/O assist tests (123, as NetBSD's h_io_assist). */
#define ASSIST_PORT      0x7B

/* Ones in the upper half, to show that a 0x67 prefix truncates the address. */
#define ASSIST_HIGH      0xFFFFFFFF00000000

#ifdef __ASSEMBLER__
/*
 * Adds to \reg one bit per condition that holds: ZF 1, CF 2, SF 4, OF 8,
 * PF 16.  Only branches and LEA, so the flags survive for the next test.
 */
.macro FLAGS reg
	jne	1f
	lea	1(\reg), \reg
1:	jae	1f
	lea	2(\reg), \reg
1:	jns	1f
	lea	4(\reg), \reg
1:	jno	1f
	lea	8(\reg), \reg
1:	jnp	1f
	lea	16(\reg), \reg
1:
.endm
#endif

#endif
