/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * nvmmctl - the NVMM administration tool, as NetBSD's nvmmctl(8) prints it:
 * "identify" describes what this host's NVMM (here: KVM) offers, "list"
 * the machines visible through nvmm_ctl(NVMM_CTL_MACH_INFO).  On KVM a
 * machine belongs to the process that created it, so "list" shows the
 * machines of its own process only.
 */
#include <nvmm.h>

#include <err.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void usage(void)
{
	fprintf(stderr, "usage: nvmmctl identify\n");
	fprintf(stderr, "       nvmmctl list\n");
	exit(EXIT_FAILURE);
}

/* Like humanize_number(3) with HN_AUTOSCALE|HN_DECIMAL|HN_B|HN_NOSPACE into
 * a 5-byte buffer: at most four characters. */
static void humanize(char *buf, size_t len, uint64_t bytes)
{
	static const char units[] = "BKMGTPE";
	unsigned unit = 0;
	uint64_t scaled = bytes * 10; /* tenths, for one decimal below 10 */

	while (scaled >= 10000 && unit < sizeof(units) - 2) {
		scaled /= 1024;
		unit++;
	}
	if (unit > 0 && scaled < 100)
		snprintf(buf, len, "%u.%u%c", (unsigned)(scaled / 10), (unsigned)(scaled % 10),
		    units[unit]);
	else
		snprintf(buf, len, "%u%c", (unsigned)((scaled + 5) / 10), units[unit]);
}

/* Like snprintb(3): the value in hex, then the names of its set bits. */
static void bits(char *buf, size_t len, uint64_t value, const char *const *names, unsigned n)
{
	size_t off = (size_t)snprintf(buf, len, "0x%llx", (unsigned long long)value);
	const char *sep = "<";

	for (unsigned i = 0; i < n && off < len; i++) {
		if (!(value & ((uint64_t)1 << i)) || names[i] == NULL)
			continue;
		off += (size_t)snprintf(buf + off, len - off, "%s%s", sep, names[i]);
		sep = ",";
	}
	if (*sep == ',' && off < len)
		snprintf(buf + off, len - off, ">");
}

static void identify(void)
{
	static const char *const vcpu_conf[] = {"CPUID", "TPR"};
	static const char *const xcr0[] = {"x87", "SSE", "AVX", "BNDREGS", "BNDCSR",
	    "Opmask", "ZMM_Hi256", "Hi16_ZMM"};
	struct nvmm_capability cap;
	char ram[5], buf[128];

	if (nvmm_init() == -1)
		err(EXIT_FAILURE, "nvmm_init failed");
	if (nvmm_capability(&cap) == -1)
		err(EXIT_FAILURE, "nvmm_capability failed");

	printf("nvmm: Kernel API version %u\n", cap.version);
	printf("nvmm: State size %u\n", cap.state_size);
	printf("nvmm: Max machines %u\n", cap.max_machines);
	printf("nvmm: Max VCPUs per machine %u\n", cap.max_vcpus);
	humanize(ram, sizeof(ram), cap.max_ram);
	printf("nvmm: Max RAM per machine %s\n", ram);
	bits(buf, sizeof(buf), cap.arch.mach_conf_support, NULL, 0);
	printf("nvmm: Arch Mach conf %s\n", buf);
	bits(buf, sizeof(buf), cap.arch.vcpu_conf_support, vcpu_conf, 2);
	printf("nvmm: Arch VCPU conf %s\n", buf);
	bits(buf, sizeof(buf), cap.arch.xcr0_mask, xcr0, 8);
	printf("nvmm: Guest FPU states %s\n", buf);
}

static void list(void)
{
	struct nvmm_capability cap;
	struct nvmm_ctl_mach_info info;
	char ram[5], when[32];

	if (nvmm_root_init() == -1)
		err(EXIT_FAILURE, "nvmm_root_init failed");
	if (nvmm_capability(&cap) == -1)
		err(EXIT_FAILURE, "nvmm_capability failed");

	printf("Machine ID VCPUs RAM  Owner PID Creation Time           \n");
	printf("---------- ----- ---- --------- ------------------------\n");
	for (nvmm_machid_t id = 0; id < cap.max_machines; id++) {
		memset(&info, 0, sizeof(info));
		info.machid = id;
		if (nvmm_ctl(NVMM_CTL_MACH_INFO, &info, sizeof(info)) == -1) {
			if (errno == ENOENT)
				continue;
			err(EXIT_FAILURE, "nvmm_ctl failed");
		}
		humanize(ram, sizeof(ram), info.nram);
		asctime_r(localtime(&info.time), when);
		when[strcspn(when, "\n")] = '\0';
		printf("%-10u %-5u %-4s %-9d %s\n", info.machid, info.nvcpus, ram, (int)info.pid, when);
	}
}

int main(int argc, char **argv)
{
	if (argc != 2)
		usage();
	if (strcmp(argv[1], "identify") == 0)
		identify();
	else if (strcmp(argv[1], "list") == 0)
		list();
	else
		errx(EXIT_FAILURE, "unknown command ``%s''", argv[1]);
	return EXIT_SUCCESS;
}
