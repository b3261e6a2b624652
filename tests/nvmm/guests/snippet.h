/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Assembler macros for guest snippets.  A snippet is the bytes between the
 * global labels NAME_begin and NAME_end; the C++ side copies them into guest
 * RAM at GUEST_CODE_GPA (see ../guest_vm.h).  MARK exports a label inside a
 * snippet so a test can compute where an exit must happen; AT(name, insn)
 * also exports name_next, the address after the instruction (the npc).
 */
#ifndef VMRUNTIME_TESTS_NVMM_GUESTS_SNIPPET_H
#define VMRUNTIME_TESTS_NVMM_GUESTS_SNIPPET_H

#include "layout.h"

#define BEGIN(name) .globl name##_begin; name##_begin:
#define END(name) .globl name##_end; name##_end:
#define MARK(name) .globl name; name:
/* An instruction that must exit, with labels on it and on the next one. */
#define AT(name, ...) MARK(name) __VA_ARGS__; MARK(name##_next)

#endif
