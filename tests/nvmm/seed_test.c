/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The seed program of the nvmm.h issue, compiled as C, run twice: once
 * exactly as written (no guest memory: any defined exit reason will do, as
 * long as nothing crashes), and once with RAM at the reset vector and at
 * GPA 0, where the injected #UD must reach IVT entry 6's handler
 * (guests/seed.S) with RAX = 123.  Exit status: 0 pass, 1 fail, 77 skip.
 */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS */

#include <errno.h>
#include <nvmm.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "guests/layout.h"

#define PAGE_SIZE 0x1000
#define LOW_RAM_SIZE 0x10000
#define RESET_PAGE_GPA 0xFFFFF000ULL
#define RESET_VECTOR_OFFSET 0xFF0
#define SEED_UD_IP 0x500
#define EXIT_SKIP 77

extern const uint8_t seed_reset_begin[], seed_reset_end[];
extern const uint8_t seed_ud_begin[], seed_ud_end[];

static int fail(const char *what) {
	fprintf(stderr, "seed_test: %s: %s\n", what, strerror(errno));
	return 1;
}

static int is_defined_reason(uint64_t reason) {
	switch (reason) {
	case NVMM_VCPU_EXIT_NONE:
	case NVMM_VCPU_EXIT_STOPPED:
	case NVMM_VCPU_EXIT_INVALID:
	case NVMM_VCPU_EXIT_MEMORY:
	case NVMM_VCPU_EXIT_IO:
	case NVMM_VCPU_EXIT_SHUTDOWN:
	case NVMM_VCPU_EXIT_INT_READY:
	case NVMM_VCPU_EXIT_NMI_READY:
	case NVMM_VCPU_EXIT_HALTED:
	case NVMM_VCPU_EXIT_TPR_CHANGED:
	case NVMM_VCPU_EXIT_RDMSR:
	case NVMM_VCPU_EXIT_WRMSR:
	case NVMM_VCPU_EXIT_MONITOR:
	case NVMM_VCPU_EXIT_MWAIT:
	case NVMM_VCPU_EXIT_CPUID:
		return 1;
	default:
		return 0;
	}
}

/* Maps size fresh bytes at gpa; returns their host address or NULL. */
static uint8_t *map_ram_at(struct nvmm_machine *mach, gpaddr_t gpa, size_t size) {
	void *ram = mmap(NULL, size, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ram == MAP_FAILED)
		return NULL;
	if (nvmm_hva_map(mach, (uintptr_t)ram, size) == -1 ||
	    nvmm_gpa_map(mach, (uintptr_t)ram, gpa, size,
	    PROT_READ | PROT_WRITE | PROT_EXEC) == -1)
		return NULL;
	return ram;
}

/*
 * The IVT and #UD handler at GPA 0, the real-mode code at the reset vector.
 * The low RAM spans 64 KiB because RESET's SS:SP is 0:0: delivering the #UD
 * pushes FLAGS, CS and IP at 0xFFFE down to 0xFFFA.
 */
static int map_ram(struct nvmm_machine *mach) {
	uint8_t *low = map_ram_at(mach, 0, LOW_RAM_SIZE);
	uint8_t *high = map_ram_at(mach, RESET_PAGE_GPA, PAGE_SIZE);
	uint16_t ivt6[2] = { SEED_UD_IP, 0 };

	if (low == NULL || high == NULL)
		return fail("mapping guest RAM");
	memcpy(low + 6 * 4, ivt6, sizeof ivt6);
	memcpy(low + SEED_UD_IP, seed_ud_begin,
	    (size_t)(seed_ud_end - seed_ud_begin));
	memcpy(high + RESET_VECTOR_OFFSET, seed_reset_begin,
	    (size_t)(seed_reset_end - seed_reset_begin));
	return 0;
}

/* With RAM, the exit must be the handler's OUT of AX = 123. */
static int check_handler_ran(struct nvmm_machine *mach, struct nvmm_vcpu *vcpu) {
	if (vcpu->exit->reason != NVMM_VCPU_EXIT_IO) {
		fprintf(stderr, "seed_test: exit 0x%llx, want IO from the #UD handler\n",
		    (unsigned long long)vcpu->exit->reason);
		return 1;
	}
	if (vcpu->exit->u.io.port != GUEST_PORT || vcpu->exit->u.io.in) {
		fprintf(stderr, "seed_test: IO %s port 0x%x, want out 0x%x\n",
		    vcpu->exit->u.io.in ? "in" : "out", vcpu->exit->u.io.port, GUEST_PORT);
		return 1;
	}
	if (nvmm_vcpu_getstate(mach, vcpu, NVMM_X64_STATE_GPRS) == -1)
		return fail("nvmm_vcpu_getstate after the exit");
	if (vcpu->state->gprs[NVMM_X64_GPR_RAX] != 123) {
		fprintf(stderr, "seed_test: handler saw RAX %llu, want 123\n",
		    (unsigned long long)vcpu->state->gprs[NVMM_X64_GPR_RAX]);
		return 1;
	}
	return 0;
}

/* The seed program; returns 0, 1 (failure) or EXIT_SKIP. */
static int seed(int with_ram) {
	struct nvmm_machine mach; struct nvmm_vcpu vcpu;
	int result = 0;

	if (nvmm_machine_create(&mach) == -1) {
		if (errno != ENXIO)
			return fail("nvmm_machine_create");
		fprintf(stderr, "\n*** seed_test: /dev/kvm is absent: SKIPPED ***\n\n");
		return EXIT_SKIP;
	}
	if (nvmm_vcpu_create(&mach, 0, &vcpu) == -1)
		return fail("nvmm_vcpu_create");
	if (with_ram && map_ram(&mach) != 0)
		return 1;
	if (nvmm_vcpu_getstate(&mach, &vcpu, NVMM_X64_STATE_GPRS) == -1)
		return fail("nvmm_vcpu_getstate");
	vcpu.state->gprs[NVMM_X64_GPR_RAX] = 123;
	if (nvmm_vcpu_setstate(&mach, &vcpu, NVMM_X64_STATE_GPRS) == -1)
		return fail("nvmm_vcpu_setstate");
	vcpu.event->type = NVMM_EXCEPTION; vcpu.event->vector = 6;
	if (nvmm_vcpu_inject(&mach, &vcpu) == -1)
		return fail("nvmm_vcpu_inject");
	if (nvmm_vcpu_run(&mach, &vcpu) == -1)
		return fail("nvmm_vcpu_run");
	switch (vcpu.exit->reason) {
	case NVMM_VCPU_EXIT_IO:
		printf("seed_test (%s RAM): exit IO port 0x%x\n",
		    with_ram ? "with" : "without", vcpu.exit->u.io.port);
		break;
	default:
		printf("seed_test (%s RAM): exit reason 0x%llx\n",
		    with_ram ? "with" : "without",
		    (unsigned long long)vcpu.exit->reason);
		if (!is_defined_reason(vcpu.exit->reason)) {
			fprintf(stderr, "seed_test: undefined exit reason\n");
			result = 1;
		}
	}
	if (with_ram && result == 0)
		result = check_handler_ran(&mach, &vcpu);
	if (nvmm_vcpu_destroy(&mach, &vcpu) == -1)
		return fail("nvmm_vcpu_destroy");
	if (nvmm_machine_destroy(&mach) == -1)
		return fail("nvmm_machine_destroy");
	return result;
}

int main(void) {
	int without_ram = seed(0);
	int with_ram;

	if (without_ram == EXIT_SKIP)
		return EXIT_SKIP;
	with_ram = seed(1);
	return without_ram != 0 || with_ram != 0;
}
