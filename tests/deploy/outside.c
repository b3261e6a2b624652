/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A VMM from outside the tree: tests/deploy builds it against an installed
 * libnvmm only (pkg-config, or find_package(nvmm) in outside/), which shows
 * the installed <nvmm.h> and library are all such a program needs.  It
 * prints NVMM's API version, then creates a machine with one vCPU and
 * checks that the vCPU's state is the x86 RESET state.  Exits 0, or 1
 * naming the call that failed.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nvmm.h>

static void
die(const char *call)
{
	fprintf(stderr, "outside: %s: %s\n", call, strerror(errno));
	exit(1);
}

int
main(void)
{
	struct nvmm_capability cap;
	struct nvmm_machine mach;
	struct nvmm_vcpu vcpu;

	if (nvmm_init() == -1)
		die("nvmm_init");
	if (nvmm_capability(&cap) == -1)
		die("nvmm_capability");
	printf("outside: nvmm API version %u\n", (unsigned)cap.version);

	if (nvmm_machine_create(&mach) == -1)
		die("nvmm_machine_create");
	if (nvmm_vcpu_create(&mach, 0, &vcpu) == -1)
		die("nvmm_vcpu_create");
	if (nvmm_vcpu_getstate(&mach, &vcpu, NVMM_X64_STATE_GPRS | NVMM_X64_STATE_SEGS) == -1)
		die("nvmm_vcpu_getstate");
	if (vcpu.state->gprs[NVMM_X64_GPR_RIP] != 0xfff0 ||
	    vcpu.state->segs[NVMM_X64_SEG_CS].selector != 0xf000) {
		fprintf(stderr, "outside: vCPU at %04x:%llx, not at the reset vector f000:fff0\n",
		    (unsigned)vcpu.state->segs[NVMM_X64_SEG_CS].selector,
		    (unsigned long long)vcpu.state->gprs[NVMM_X64_GPR_RIP]);
		return 1;
	}
	if (nvmm_vcpu_destroy(&mach, &vcpu) == -1)
		die("nvmm_vcpu_destroy");
	if (nvmm_machine_destroy(&mach) == -1)
		die("nvmm_machine_destroy");
	printf("outside: machine with one vCPU created, at the reset vector\n");
	return 0;
}
