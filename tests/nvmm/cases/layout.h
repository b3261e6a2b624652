/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Guest-physical layout of the NetBSD-style case programs (cases.c), shared
 * with their guest code (cases.S).  RAM is [0, CASES_RAM_SIZE); the MMIO
 * window has no RAM behind it and is served by the program's callback.
 */
#ifndef VMRUNTIME_TESTS_NVMM_CASES_LAYOUT_H
#define VMRUNTIME_TESTS_NVMM_CASES_LAYOUT_H

#define CASES_IVT      0x0000
#define CASES_GDT      0x1000
#define CASES_IDT      0x2000
#define CASES_L4       0x3000
#define CASES_L3       0x4000
#define CASES_L2       0x5000
#define CASES_CODE     0x8000
#define CASES_DATA     0x10000
#define CASES_STACK    0x1F000
#define CASES_RAM_SIZE 0x20000
#define CASES_MMIO     0x30000
#define CASES_MMIO_SIZE 0x1000

#define CASES_SEL_CODE64 0x08
#define CASES_SEL_DATA   0x10
#define CASES_SEL_CODE32 0x18

#define CASES_PORT     123
#define CASES_VECTOR   0x40
/* Every case ends by reading END_MSR, an exit the program leaves unanswered
 * before it replaces the state for the next case. */
#define CASES_END_MSR  0xC0011000
#define CASES_TEST_MSR 0xC0011234

#endif
