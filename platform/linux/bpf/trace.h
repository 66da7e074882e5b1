/* The kernel types trace.c touches, apart from kernel.h's: every field
 * access is a CO-RE relocation fitted to the running kernel's BTF. The
 * ___flavour suffixes let one object read the registers of x86-64 and
 * arm64; the loader drops the suffix when it matches names. */
#ifndef UDSLS_TRACE_H
#define UDSLS_TRACE_H

typedef unsigned char __u8;
typedef unsigned short __u16;
typedef unsigned int __u32;
typedef unsigned long long __u64;
typedef int __s32;
typedef long long __s64;
typedef signed char __s8;
typedef short __s16;
typedef __u16 __be16;
typedef __u32 __be32;
typedef __u32 __wsum;

enum {
	AF_UNIX = 1,
	S_IFMT = 0170000,
	S_IFSOCK = 0140000,
	BPF_MAP_TYPE_HASH = 1,
	BPF_MAP_TYPE_PERCPU_ARRAY = 6,
	BPF_MAP_TYPE_RINGBUF = 27,
	BPF_ANY = 0,
	BPF_NOEXIST = 1,
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

struct pid_namespace;

struct upid {
	int nr;
	struct pid_namespace *ns;
};

struct pid {
	unsigned int level;
	struct upid numbers[1];
};

struct inode {
	unsigned short i_mode;
	unsigned long i_ino;
};

struct file {
	struct inode *f_inode;
	void *private_data;
};

struct fdtable {
	unsigned int max_fds;
	struct file **fd;
};

struct files_struct {
	struct fdtable *fdt;
};

struct task_struct {
	struct task_struct *group_leader;
	struct files_struct *files;
	char comm[16];
};

struct sock_common {
	unsigned short skc_family;
};

struct socket;

struct sock {
	struct sock_common __sk_common;
	struct pid *sk_peer_pid;
	struct socket *sk_socket;
};

struct socket {
	short type;
	struct file *file;
	struct sock *sk;
};

struct unix_sock {
	struct sock *peer;
};

#pragma clang attribute pop

#endif
