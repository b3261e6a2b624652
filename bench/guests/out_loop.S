// SPDX-License-Identifier: BSD-2-Clause
//
// Exit-loop guest of nvmm-bench: a real-mode loop that does nothing but an
// 8-bit OUT to port 0x10, so each iteration is exactly one port-I/O exit.
// Real mode because it has the cheapest exit on the project's PVM hosts
// (measured: ~5.1 us against ~5.4-6.3 us for the same loop in long mode at
// CPL0, ~22 us at CPL3 with IOPL 3).  RAX is never touched, which lets the
// "regs" loops check that every host write of RAX reached the guest.
// nvmm-bench copies the bytes between the two labels into guest RAM and
// starts the vCPU on the first one, so the code must stay position-free.

	.section .rodata.bench_guest, "a"
	.code16
	.globl	bench_guest_begin, bench_guest_end

bench_guest_begin:
1:	outb	%al, $0x10
	jmp	1b
bench_guest_end:

// MMIO-exit guest of "nvmm-bench mmio": byte writes to GPA 0x20000, past
// the 64 KiB of RAM, through DS = 0x2000.
	.globl	bench_mmio_guest_begin, bench_mmio_guest_end
bench_mmio_guest_begin:
	movw	$0x2000, %bx
	movw	%bx, %ds
1:	movb	%al, 0
	jmp	1b
bench_mmio_guest_end:

	.section .note.GNU-stack, "", @progbits
