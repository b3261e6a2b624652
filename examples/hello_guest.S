// SPDX-License-Identifier: BSD-2-Clause
//
// Guest of hello-vmm: a real-mode program that writes its message one byte
// per OUT to port 0x3f8 (COM1's data register) and halts.  It runs from
// whatever segment the VMM puts CS at, so it addresses its message relative
// to its first byte and takes DS from CS.

	.section .rodata.hello_guest, "a"
	.code16
	.globl	hello_guest_begin, hello_guest_end

hello_guest_begin:
	movw	%cs, %ax
	movw	%ax, %ds
	movw	$(message - hello_guest_begin), %si
	movw	$0x3f8, %dx
1:	movb	(%si), %al
	testb	%al, %al
	jz	2f
	outb	%al, %dx
	incw	%si
	jmp	1b
2:	hlt

message:
	.asciz	"Hello from a vmruntime guest!\n"
hello_guest_end:

	.section .note.GNU-stack, "", @progbits
