/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A guest image is the bytes between the global labels NAME_begin and
 * NAME_end; the test hands them to a Machine as a flat long-mode image,
 * entered at its first byte.  The code must be position-free.
 */
#ifndef VMRUNTIME_TESTS_RUNTIME_GUESTS_SNIPPET_H
#define VMRUNTIME_TESTS_RUNTIME_GUESTS_SNIPPET_H

#define BEGIN(name) .globl name##_begin; name##_begin:
#define END(name) .globl name##_end; name##_end:

#define DEBUG_EXIT_PORT	0x501

#endif
