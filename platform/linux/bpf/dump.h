/* The kernel types dump.c reads beyond kernel.h's, fitted to the running
 * kernel by CO-RE as kernel.h's are. */
#ifndef UDSLS_DUMP_H
#define UDSLS_DUMP_H

#include "kernel.h"

/* From linux/bpf.h, beyond kernel.h's. */
enum {
	BPF_MAP_TYPE_ARRAY = 2,
};

#pragma clang attribute push(__attribute__((preserve_access_index)), apply_to = record)

struct sockaddr_un___dump {
	unsigned short sun_family;
	char sun_path[108];
};

struct unix_address {
	int len;
	struct sockaddr_un___dump name[0];
};

struct unix_sock {
	struct sock sk;
	struct unix_address *addr;
	struct sock *peer;
};

/* The registers of a system call, as x86-64 and arm64 name them: only the
 * flavour the running kernel has exists, and the other's reads are dead
 * code the loader removes. */
struct pt_regs___x86 {
	unsigned long orig_ax;
	unsigned long di;
	unsigned long si;
	unsigned long dx;
	unsigned long r10;
	unsigned long r8;
	unsigned long r9;
};

struct pt_regs___arm64 {
	__u64 regs[31];
	__s32 syscallno;
};

#pragma clang attribute pop

/* The user ABI of sendmsg(2) and sendmmsg(2) on a 64-bit machine: fixed,
 * not fitted; dump.go refuses other machines. */
struct uiovec {
	__u64 base;
	__u64 len;
};

struct umsghdr {
	__u64 name;
	__s32 namelen;
	__u32 pad;
	__u64 iov;
	__u64 iovlen;
	__u64 control;
	__u64 controllen;
	__u32 flags;
	__u32 pad2;
};

struct ummsghdr {
	struct umsghdr hdr;
	__u32 len;
	__u32 pad;
};

struct bpf_dynptr {
	__u64 __opaque[2];
} __attribute__((aligned(8)));

#endif
