/* The kernel types trace.c touches, apart from kernel.h's: every field
 * access is a CO-RE relocation fitted to the running kernel's BTF. The
 * ___flavour suffixes let one object read the registers of x86-64 and
 * arm64; the loader drops the suffix when it matches names. */
#ifndef UDSLS_TRACE_H
#define UDSLS_TRACE_H

#include "kernel.h"

enum {
	S_IFMT = 0170000,
	S_IFSOCK = 0140000,
	BPF_MAP_TYPE_PERCPU_ARRAY = 6,
	BPF_ANY = 0,
};

#pragma clang attribute push(__attribute__((preserve_access_index)), apply_to = record)

struct pt_regs___x86 {
	unsigned long orig_ax;
	unsigned long di;
	unsigned long si;
	unsigned long dx;
	unsigned long cs;
};

struct pt_regs___arm64 {
	__u64 regs[31];
	__u64 pstate;
	__s32 syscallno;
};

struct unix_sock {
	struct sock *peer;
};

#pragma clang attribute pop

#endif
