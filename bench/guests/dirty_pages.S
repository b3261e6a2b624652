/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The flat long-mode guest of snapshot-bench's reset benchmark, entered at
 * CPL0 with RSI pointing at the command line, a decimal count N (the
 * loader writes it at 0x600).  It writes one byte into each of N distinct
 * 4 KiB pages from PAGES_BASE up, then sleeps.  snapshot-bench copies the
 * bytes between dirty_pages_begin and dirty_pages_end into the image, so
 * the code must stay position-free.
 */
#include "parse_count.h"

/* Above the image at 1 MiB, inside the loader's identity map: 1024 pages
 * end at 6 MiB. */
#define PAGES_BASE	0x200000
#define PAGE_SIZE	0x1000

	.section .rodata.dirty_pages, "a"
	.code64

	.globl	dirty_pages_begin, dirty_pages_end
dirty_pages_begin:
	parse_count
	mov	$PAGES_BASE, %edi
	jrcxz	4f
3:	movb	%cl, (%rdi)
	add	$PAGE_SIZE, %rdi
	dec	%rcx
	jnz	3b
	/* Halting with interrupts off would power the machine off; nothing
	 * raises one here (PIC uninitialized, PIT unarmed), so it sleeps for
	 * good, until snapshot-bench resets it. */
4:	sti
	hlt
	jmp	4b
dirty_pages_end:

	.section .note.GNU-stack, "", @progbits
