/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A test program written the way NetBSD's own libnvmm test programs are:
 * one process, one machine, one VCPU, and a list of cases run in sequence.
 * Each case rebuilds the whole state from a zeroed struct for its mode
 * (16-bit real, 32-bit protected or 64-bit long), copies its code, runs it
 * through IO, MMIO, MSR and interrupt-window exits, and ends at a read of
 * CASES_END_MSR, which the program leaves unanswered before the next case
 * replaces the state.  Exit status: 0 pass, 1 fail, 77 skip (no /dev/kvm).
 */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS */

#include <errno.h>
#include <nvmm.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "layout.h"

#define EXIT_SKIP 77
#define MAX_EXITS 64
#define LOG_SIZE 64

#define CR0_PE 0x00000001ULL
#define CR0_ET 0x00000010ULL
#define CR0_NE 0x00000020ULL
#define CR0_PG 0x80000000ULL
#define CR4_PAE 0x00000020ULL
#define EFER_LME 0x00000100ULL
#define EFER_LMA 0x00000400ULL
#define RFLAGS_MBO 0x2ULL
#define PTE_P 0x1ULL
#define PTE_RW 0x2ULL
#define PTE_PS 0x80ULL

static uint8_t *ram;
static uint8_t mmio[CASES_MMIO_SIZE];
static uint8_t out_log[LOG_SIZE];
static size_t out_len;
static uint8_t in_next; /* IN data: '1', '2', '3'... */
static uint64_t msr_written;

/* ------------------------------------------------------------------ */
/* The machine. */

static void io_callback(struct nvmm_io *io)
{
	if (io->port != CASES_PORT) {
		fprintf(stderr, "cases: IO on port %u\n", io->port);
		exit(1);
	}
	for (size_t i = 0; i < io->size; i++) {
		if (io->in)
			io->data[i] = (uint8_t)('1' + in_next++);
		else if (out_len < LOG_SIZE)
			out_log[out_len++] = io->data[i];
	}
}

static void mem_callback(struct nvmm_mem *mem)
{
	if (mem->gpa < CASES_MMIO || mem->gpa + mem->size > CASES_MMIO + CASES_MMIO_SIZE) {
		fprintf(stderr, "cases: MMIO at 0x%llx\n", (unsigned long long)mem->gpa);
		exit(1);
	}
	uint8_t *at = mmio + (mem->gpa - CASES_MMIO);
	if (mem->write)
		memcpy(at, mem->data, mem->size);
	else
		memcpy(mem->data, at, mem->size);
}

static void put64(uint64_t gpa, uint64_t value)
{
	memcpy(ram + gpa, &value, sizeof value);
}

/* Flat code and data segments, and 2 MiB pages identity-mapping 0-2 MiB. */
static void build_tables(void)
{
	put64(CASES_GDT + CASES_SEL_CODE64, 0x00AF9B000000FFFFULL);
	put64(CASES_GDT + CASES_SEL_DATA, 0x00CF93000000FFFFULL);
	put64(CASES_GDT + CASES_SEL_CODE32, 0x00CF9B000000FFFFULL);
	put64(CASES_L4, CASES_L3 | PTE_P | PTE_RW);
	put64(CASES_L3, CASES_L2 | PTE_P | PTE_RW);
	put64(CASES_L2, 0 | PTE_P | PTE_RW | PTE_PS);
}

static int create(struct nvmm_machine *mach, struct nvmm_vcpu *vcpu)
{
	static struct nvmm_assist_callbacks cbs = { io_callback, mem_callback };

	if (nvmm_machine_create(mach) == -1)
		return -1;
	if (nvmm_vcpu_create(mach, 0, vcpu) == -1)
		return -1;
	if (nvmm_vcpu_configure(mach, vcpu, NVMM_VCPU_CONF_CALLBACKS, &cbs) == -1)
		return -1;
	ram = mmap(NULL, CASES_RAM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ram == MAP_FAILED)
		return -1;
	if (nvmm_hva_map(mach, (uintptr_t)ram, CASES_RAM_SIZE) == -1 ||
	    nvmm_gpa_map(mach, (uintptr_t)ram, 0, CASES_RAM_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC) == -1)
		return -1;
	build_tables();
	return 0;
}

/* ------------------------------------------------------------------ */
/* The state, from zeroes. */

static void set_seg(struct nvmm_x64_state_seg *seg, uint16_t sel, uint64_t base, uint32_t limit,
    unsigned type, int bits)
{
	seg->selector = sel;
	seg->base = base;
	seg->limit = limit;
	seg->attrib.type = type;
	seg->attrib.s = 1;
	seg->attrib.p = 1;
	seg->attrib.def = bits == 32 || (bits == 64 && type < 8);
	seg->attrib.l = bits == 64 && type >= 8;
	seg->attrib.g = bits != 16;
}

static void reset_state(struct nvmm_machine *mach, struct nvmm_vcpu *vcpu, int bits, uint64_t rip)
{
	struct nvmm_x64_state *s = vcpu->state;
	int data[] = { NVMM_X64_SEG_DS, NVMM_X64_SEG_ES, NVMM_X64_SEG_SS, NVMM_X64_SEG_FS,
	    NVMM_X64_SEG_GS };

	memset(s, 0, sizeof *s);
	if (bits == 16) {
		set_seg(&s->segs[NVMM_X64_SEG_CS], CASES_CODE >> 4, CASES_CODE, 0xFFFF, 0xB, 16);
		for (size_t i = 0; i < sizeof data / sizeof data[0]; i++)
			set_seg(&s->segs[data[i]], CASES_DATA >> 4, CASES_DATA, 0xFFFF, 0x3, 16);
		set_seg(&s->segs[NVMM_X64_SEG_ES], CASES_MMIO >> 4, CASES_MMIO, 0xFFFF, 0x3, 16);
		s->gprs[NVMM_X64_GPR_RIP] = rip - CASES_CODE;
		s->gprs[NVMM_X64_GPR_RSP] = CASES_STACK - CASES_DATA;
		s->crs[NVMM_X64_CR_CR0] = CR0_ET;
		s->segs[NVMM_X64_SEG_IDT].limit = 0x3FF;
	} else {
		set_seg(&s->segs[NVMM_X64_SEG_CS], bits == 64 ? CASES_SEL_CODE64 : CASES_SEL_CODE32, 0,
		    0xFFFFFFFF, 0xB, bits);
		for (size_t i = 0; i < sizeof data / sizeof data[0]; i++)
			set_seg(&s->segs[data[i]], CASES_SEL_DATA, 0, 0xFFFFFFFF, 0x3, bits);
		s->gprs[NVMM_X64_GPR_RIP] = rip;
		s->gprs[NVMM_X64_GPR_RSP] = CASES_STACK;
		s->crs[NVMM_X64_CR_CR0] = CR0_PE | CR0_ET | CR0_NE;
		s->segs[NVMM_X64_SEG_GDT].base = CASES_GDT;
		s->segs[NVMM_X64_SEG_GDT].limit = 0x1F;
		s->segs[NVMM_X64_SEG_IDT].base = CASES_IDT;
		s->segs[NVMM_X64_SEG_IDT].limit = 0xFFF;
	}
	if (bits == 64) {
		s->crs[NVMM_X64_CR_CR0] |= CR0_PG;
		s->crs[NVMM_X64_CR_CR3] = CASES_L4;
		s->crs[NVMM_X64_CR_CR4] = CR4_PAE;
		s->msrs[NVMM_X64_MSR_EFER] = EFER_LME | EFER_LMA;
	}
	s->segs[NVMM_X64_SEG_TR].attrib.type = 0xB; /* busy TSS */
	s->segs[NVMM_X64_SEG_TR].attrib.p = 1;
	s->segs[NVMM_X64_SEG_TR].limit = 0x67;
	s->segs[NVMM_X64_SEG_LDT].attrib.type = 0x2;
	s->segs[NVMM_X64_SEG_LDT].attrib.p = 1;
	s->gprs[NVMM_X64_GPR_RFLAGS] = RFLAGS_MBO;
	/* The rest, XCR0 and the FPU included, stays zero: the library
	 * corrects it as NetBSD's kernel does. */
	nvmm_vcpu_setstate(mach, vcpu, NVMM_X64_STATE_ALL);
}

/* The interrupt gate (or IVT entry) of CASES_VECTOR, to `handler`. */
static void set_vector(int bits, uint64_t handler)
{
	if (bits == 16) {
		uint16_t ivt[2] = { (uint16_t)(handler - CASES_CODE), CASES_CODE >> 4 };
		memcpy(ram + CASES_IVT + 4 * CASES_VECTOR, ivt, sizeof ivt);
	} else if (bits == 32) {
		uint64_t gate = (handler & 0xFFFF) | (uint64_t)CASES_SEL_CODE32 << 16 |
		    0x8EULL << 40 | ((handler >> 16) & 0xFFFF) << 48;
		put64(CASES_IDT + 8 * CASES_VECTOR, gate);
	} else {
		uint64_t gate = (handler & 0xFFFF) | (uint64_t)CASES_SEL_CODE64 << 16 |
		    0x8EULL << 40 | ((handler >> 16) & 0xFFFF) << 48;
		put64(CASES_IDT + 16 * CASES_VECTOR, gate);
		put64(CASES_IDT + 16 * CASES_VECTOR + 8, handler >> 32);
	}
}

/* ------------------------------------------------------------------ */
/* Running a case. */

#define MSR_VALUE 0x3837363534333231ULL

/* Runs until the read of CASES_END_MSR; false on anything else. */
static bool run_case(struct nvmm_machine *mach, struct nvmm_vcpu *vcpu, const char *name)
{
	struct nvmm_vcpu_exit *exit = vcpu->exit;
	uint64_t *gprs = vcpu->state->gprs;

	for (int n = 0; n < MAX_EXITS; n++) {
		if (nvmm_vcpu_run(mach, vcpu) == -1) {
			fprintf(stderr, "cases: %s: nvmm_vcpu_run: %s\n", name, strerror(errno));
			return false;
		}
		switch (exit->reason) {
		case NVMM_VCPU_EXIT_NONE:
			break;
		case NVMM_VCPU_EXIT_IO:
			if (nvmm_assist_io(mach, vcpu) == -1)
				return false;
			break;
		case NVMM_VCPU_EXIT_MEMORY:
			if (nvmm_assist_mem(mach, vcpu) == -1)
				return false;
			break;
		case NVMM_VCPU_EXIT_RDMSR:
			if (exit->u.rdmsr.msr == CASES_END_MSR)
				return true; /* left unanswered */
			nvmm_vcpu_getstate(mach, vcpu, NVMM_X64_STATE_GPRS);
			gprs[NVMM_X64_GPR_RAX] = MSR_VALUE & 0xFFFFFFFF;
			gprs[NVMM_X64_GPR_RDX] = MSR_VALUE >> 32;
			gprs[NVMM_X64_GPR_RIP] = exit->u.rdmsr.npc;
			nvmm_vcpu_setstate(mach, vcpu, NVMM_X64_STATE_GPRS);
			break;
		case NVMM_VCPU_EXIT_WRMSR:
			msr_written = exit->u.wrmsr.val;
			nvmm_vcpu_getstate(mach, vcpu, NVMM_X64_STATE_GPRS);
			gprs[NVMM_X64_GPR_RIP] = exit->u.wrmsr.npc;
			nvmm_vcpu_setstate(mach, vcpu, NVMM_X64_STATE_GPRS);
			break;
		case NVMM_VCPU_EXIT_INT_READY:
			vcpu->event->type = NVMM_VCPU_EVENT_INTR;
			vcpu->event->vector = CASES_VECTOR;
			if (nvmm_vcpu_inject(mach, vcpu) == -1)
				return false;
			break;
		default:
			nvmm_vcpu_getstate(mach, vcpu, NVMM_X64_STATE_GPRS);
			fprintf(stderr, "cases: %s: exit 0x%llx at rip 0x%llx\n", name,
			    (unsigned long long)exit->reason, (unsigned long long)gprs[NVMM_X64_GPR_RIP]);
			return false;
		}
	}
	fprintf(stderr, "cases: %s: no end after %d exits\n", name, MAX_EXITS);
	return false;
}

/* ------------------------------------------------------------------ */
/* The cases. */

#define SNIPPET(name) extern const uint8_t name##_begin[], name##_end[]
SNIPPET(c64_inb); SNIPPET(c64_inl); SNIPPET(c64_insb); SNIPPET(c64_outw);
SNIPPET(c64_outsl); SNIPPET(c64_mov); SNIPPET(c64_or); SNIPPET(c64_movsb);
SNIPPET(c64_stosw); SNIPPET(c64_msr); SNIPPET(c64_window);
SNIPPET(c32_inw); SNIPPET(c32_outsb); SNIPPET(c32_mov); SNIPPET(c32_and);
SNIPPET(c32_msr); SNIPPET(c32_window);
SNIPPET(c16_inb); SNIPPET(c16_outb); SNIPPET(c16_insb); SNIPPET(c16_mov);
SNIPPET(c16_xor); SNIPPET(c16_msr); SNIPPET(c16_window);
extern const uint8_t c64_window_handler[], c32_window_handler[], c16_window_handler[];

enum where { DATA, MMIO, OUT, MSR };

struct test {
	const char *name;
	int bits;
	const uint8_t *begin, *end;
	const uint8_t *handler;   /* CASES_VECTOR's, or NULL */
	const char *data_before;  /* on the data page */
	const char *mmio_before;  /* in the MMIO window */
	enum where where;         /* where the result is */
	const char *wanted;
};

#define CASE(n, b, s) n, b, s##_begin, s##_end
static const struct test tests[] = {
	{ CASE("64 INB", 64, c64_inb), NULL, "", "", DATA, "1" },
	{ CASE("64 INL", 64, c64_inl), NULL, "", "", DATA, "1234" },
	{ CASE("64 INSB+REP", 64, c64_insb), NULL, "", "", DATA, "12345" },
	{ CASE("64 OUTW", 64, c64_outw), NULL, "", "", OUT, "12" },
	{ CASE("64 OUTSL+REP", 64, c64_outsl), NULL, "Ah, Herr Bra", "", OUT, "Ah, Herr Bra" },
	{ CASE("64 MOV to and from MMIO", 64, c64_mov), NULL, "", "", DATA, "12345678" },
	{ CASE("64 OR on MMIO", 64, c64_or), NULL, "", "\x0F", MMIO, "\xFF" },
	{ CASE("64 MOVSB+REP to MMIO", 64, c64_movsb), NULL, "abcdef", "", MMIO, "abcdef" },
	{ CASE("64 STOSW+REP to MMIO", 64, c64_stosw), NULL, "", "", MMIO, "12121212" },
	{ CASE("64 RDMSR and WRMSR", 64, c64_msr), NULL, "", "", MSR, "12345678" },
	{ CASE("64 interrupt window", 64, c64_window), c64_window_handler, "", "", DATA, "\x42" },
	{ CASE("32 INW", 32, c32_inw), NULL, "", "", DATA, "12" },
	{ CASE("32 OUTSB+REP", 32, c32_outsb), NULL, "wxyz", "", OUT, "wxyz" },
	{ CASE("32 MOV to and from MMIO", 32, c32_mov), NULL, "", "", DATA, "1234" },
	{ CASE("32 AND on MMIO", 32, c32_and), NULL, "", "abcd", MMIO, "\x01\x02\x03\x04" },
	{ CASE("32 RDMSR and WRMSR", 32, c32_msr), NULL, "", "", MSR, "12345678" },
	{ CASE("32 interrupt window", 32, c32_window), c32_window_handler, "", "", DATA, "\x42" },
	{ CASE("16 INB", 16, c16_inb), NULL, "", "", DATA, "1" },
	{ CASE("16 OUTB", 16, c16_outb), NULL, "", "", OUT, "1" },
	{ CASE("16 INSB+REP", 16, c16_insb), NULL, "", "", DATA, "123" },
	{ CASE("16 MOV to and from MMIO", 16, c16_mov), NULL, "", "", DATA, "12" },
	{ CASE("16 XOR on MMIO", 16, c16_xor), NULL, "", "03", MMIO, "12" },
	{ CASE("16 RDMSR and WRMSR", 16, c16_msr), NULL, "", "", MSR, "12345678" },
	{ CASE("16 interrupt window", 16, c16_window), c16_window_handler, "", "", DATA, "\x42" },
};

/* The RDMSR stored EDX:EAX, and the WRMSR wrote it back with EAX + 1. */
static bool msr_result_ok(void)
{
	uint64_t stored;

	memcpy(&stored, ram + CASES_DATA, sizeof stored);
	return stored == MSR_VALUE && msr_written == MSR_VALUE + 1;
}

static bool run_test(struct nvmm_machine *mach, struct nvmm_vcpu *vcpu, const struct test *t)
{
	size_t wanted_len = strlen(t->wanted) ? strlen(t->wanted) : 1;
	const uint8_t *got;
	uint64_t rip = CASES_CODE;

	memset(ram + CASES_CODE, 0, CASES_DATA - CASES_CODE);
	memcpy(ram + CASES_CODE, t->begin, (size_t)(t->end - t->begin));
	memset(ram + CASES_DATA, 0, 0x1000);
	memcpy(ram + CASES_DATA, t->data_before, strlen(t->data_before));
	memset(mmio, 0, sizeof mmio);
	memcpy(mmio, t->mmio_before, strlen(t->mmio_before));
	out_len = 0;
	in_next = 0;
	msr_written = 0;

	reset_state(mach, vcpu, t->bits, rip);
	if (t->handler != NULL) {
		set_vector(t->bits, CASES_CODE + (uint64_t)(t->handler - t->begin));
		vcpu->state->intr.int_window_exiting = 1;
		nvmm_vcpu_setstate(mach, vcpu, NVMM_X64_STATE_INTR);
	}
	if (!run_case(mach, vcpu, t->name))
		return false;
	switch (t->where) {
	case MSR:
		return msr_result_ok();
	case OUT:
		got = out_log;
		if (out_len != wanted_len)
			return false;
		break;
	case MMIO:
		got = mmio;
		break;
	default:
		got = ram + CASES_DATA;
		break;
	}
	return memcmp(got, t->wanted, wanted_len) == 0;
}

int main(void)
{
	struct nvmm_machine mach;
	struct nvmm_vcpu vcpu;
	int failed = 0, skipped = 0;

	if (create(&mach, &vcpu) == -1) {
		if (errno == ENXIO) {
			fprintf(stderr, "\n*** cases: /dev/kvm is absent: SKIPPED ***\n\n");
			return EXIT_SKIP;
		}
		fprintf(stderr, "cases: setting up the machine: %s\n", strerror(errno));
		return 1;
	}
	/* kvm-pvm interprets CPL0 code without checking a window request: the
	 * guest runs on past its STI (tests/nvmm/window_test.cc). */
	bool pvm = access("/sys/module/kvm_pvm", F_OK) == 0;
	for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
		if (pvm && tests[i].handler != NULL) {
			printf("*** Test '%s' SKIPPED: kvm-pvm has no interrupt-window exit for STI ***\n",
			    tests[i].name);
			skipped++;
			continue;
		}
		bool ok = run_test(&mach, &vcpu, &tests[i]);
		printf("Test '%s' %s\n", tests[i].name, ok ? "passed" : "FAILED");
		failed += !ok;
	}
	nvmm_machine_destroy(&mach);
	printf("%d of %zu cases failed, %d skipped\n", failed, sizeof tests / sizeof tests[0] - skipped,
	    skipped);
	return failed ? 1 : 0;
}
