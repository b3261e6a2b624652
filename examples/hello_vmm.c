/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * hello-vmm: the smallest VMM written against vmruntime's <nvmm.h>.
 *
 * It creates a machine with 64 KiB of RAM, copies hello_guest.S to GPA
 * 0x1000, points a fresh vCPU at it in real mode (CS = 0x0100:0000) and
 * runs it.  The guest writes a message byte by byte to port 0x3f8, COM1's
 * data register; every such OUT is completed with nvmm_assist_io, whose io
 * callback copies the byte to stdout.  The program exits 0 when the guest
 * halts, 1 on anything else.
 */

#define _DEFAULT_SOURCE	/* MAP_ANONYMOUS under -std=c11 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <nvmm.h>

#define GUEST_RAM_SIZE	0x10000
#define GUEST_LOAD_GPA	0x1000
#define COM1_DATA	0x3f8

extern const uint8_t hello_guest_begin[], hello_guest_end[];

static void
die(const char *what)
{
	fprintf(stderr, "hello-vmm: %s: %s%s\n", what, strerror(errno),
	    errno == ENXIO ? " (is /dev/kvm there?)" : "");
	exit(1);
}

/* COM1 data writes go to stdout; reads of any port see a floating bus. */
static void
io_callback(struct nvmm_io *io)
{
	if (io->in) {
		memset(io->data, 0xff, io->size);
		return;
	}
	if (io->port == COM1_DATA)
		fwrite(io->data, 1, io->size, stdout);
}

static void
map_ram(struct nvmm_machine *mach)
{
	void *ram;

	ram = mmap(NULL, GUEST_RAM_SIZE, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ram == MAP_FAILED)
		die("mmap");
	if (nvmm_hva_map(mach, (uintptr_t)ram, GUEST_RAM_SIZE) == -1)
		die("nvmm_hva_map");
	if (nvmm_gpa_map(mach, (uintptr_t)ram, 0, GUEST_RAM_SIZE,
	    PROT_READ | PROT_WRITE | PROT_EXEC) == -1)
		die("nvmm_gpa_map");
	/* After hva_map: on NetBSD it replaces the content of the range. */
	memcpy((uint8_t *)ram + GUEST_LOAD_GPA, hello_guest_begin,
	    (size_t)(hello_guest_end - hello_guest_begin));
}

/* The vCPU starts in the RESET state (real mode); move CS:IP to the guest. */
static void
point_at_guest(struct nvmm_machine *mach, struct nvmm_vcpu *vcpu)
{
	struct nvmm_x64_state_seg *cs = &vcpu->state->segs[NVMM_X64_SEG_CS];

	if (nvmm_vcpu_getstate(mach, vcpu,
	    NVMM_X64_STATE_SEGS | NVMM_X64_STATE_GPRS) == -1)
		die("nvmm_vcpu_getstate");
	cs->selector = GUEST_LOAD_GPA >> 4;
	cs->base = GUEST_LOAD_GPA;
	vcpu->state->gprs[NVMM_X64_GPR_RIP] = 0;
	if (nvmm_vcpu_setstate(mach, vcpu,
	    NVMM_X64_STATE_SEGS | NVMM_X64_STATE_GPRS) == -1)
		die("nvmm_vcpu_setstate");
}

static int
run(struct nvmm_machine *mach, struct nvmm_vcpu *vcpu)
{
	for (;;) {
		if (nvmm_vcpu_run(mach, vcpu) == -1)
			die("nvmm_vcpu_run");
		switch (vcpu->exit->reason) {
		case NVMM_VCPU_EXIT_NONE:	/* a host signal: run again */
			break;
		case NVMM_VCPU_EXIT_IO:
			if (nvmm_assist_io(mach, vcpu) == -1)
				die("nvmm_assist_io");
			break;
		case NVMM_VCPU_EXIT_HALTED:
			fflush(stdout);
			return 0;
		default:
			fflush(stdout);
			fprintf(stderr, "hello-vmm: unexpected exit %#llx\n",
			    (unsigned long long)vcpu->exit->reason);
			nvmm_vcpu_dump(mach, vcpu);
			return 1;
		}
	}
}

int
main(void)
{
	struct nvmm_assist_callbacks cbs = { .io = io_callback, .mem = NULL };
	struct nvmm_machine mach;
	struct nvmm_vcpu vcpu;
	int ret;

	if (nvmm_machine_create(&mach) == -1)
		die("nvmm_machine_create");
	map_ram(&mach);
	if (nvmm_vcpu_create(&mach, 0, &vcpu) == -1)
		die("nvmm_vcpu_create");
	if (nvmm_vcpu_configure(&mach, &vcpu, NVMM_VCPU_CONF_CALLBACKS,
	    &cbs) == -1)
		die("nvmm_vcpu_configure");
	point_at_guest(&mach, &vcpu);
	ret = run(&mach, &vcpu);
	nvmm_vcpu_destroy(&mach, &vcpu);
	nvmm_machine_destroy(&mach);
	return ret;
}
