/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Guest-physical layout shared by the test guests (.S, through cpp) and the
 * C++ fixture that builds the tables.  Plain #defines only, so that GNU as
 * can include it.  RAM is [0, GUEST_RAM_SIZE); the page tables identity-map
 * the first 2 MiB (so GUEST_MMIO_GPA is mapped but has no RAM behind it) and
 * alias VA GUEST_ALIAS_VA onto PA 0, so a write through the alias proves that
 * paging is really on.
 */
#ifndef VMRUNTIME_TESTS_NVMM_GUESTS_LAYOUT_H
#define VMRUNTIME_TESTS_NVMM_GUESTS_LAYOUT_H

#define GUEST_IVT_GPA    0x0000
#define GUEST_GDT_GPA    0x1000
#define GUEST_TSS_GPA    0x1800
#define GUEST_IDT_GPA    0x2000
#define GUEST_PML4_GPA   0x3000
#define GUEST_PDPT_GPA   0x4000
#define GUEST_PD_GPA     0x5000
#define GUEST_PT_GPA     0x6000
#define GUEST_PD32_GPA   0x7000
#define GUEST_CODE_GPA   0x8000
#define GUEST_DATA_GPA   0x10000
#define GUEST_STACK_TOP  0x1F000
#define GUEST_RAM_SIZE   0x20000

/* A read-only page mapped by the tests that need it. */
#define GUEST_ROM_GPA    0x40000
/* Identity-mapped by the page tables, no RAM: every access is MMIO. */
#define GUEST_MMIO_GPA   0x100000
/* 32-bit PDE 1 and 64-bit PD entry 2 map this VA onto PA 0. */
#define GUEST_ALIAS_VA   0x400000

/* GDT selectors. */
#define GUEST_SEL_CODE64 0x08
#define GUEST_SEL_DATA   0x10
#define GUEST_SEL_CODE32 0x18
/* Data segment whose base is GUEST_DATA_GPA. */
#define GUEST_SEL_DATAHI 0x20
#define GUEST_SEL_UDATA  0x2B
#define GUEST_SEL_UCODE  0x33
#define GUEST_SEL_TSS    0x38

/* The port every guest reports on. */
#define GUEST_PORT       0x10

/* Absolute guest address of a label in a snippet loaded at GUEST_CODE_GPA. */
#define GPA(snippet, label) ((label) - snippet##_begin + GUEST_CODE_GPA)

#endif
