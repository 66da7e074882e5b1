/* The kernel types traffic.c touches. Like kernel.h (which fdsock.c
 * uses, and whose struct sock lacks the fields needed here), every field
 * access is a CO-RE relocation fitted to the running kernel's BTF, so only
 * the names must match the kernel, not the layouts. */
#ifndef UDSLS_TRAFFIC_H
#define UDSLS_TRAFFIC_H

typedef unsigned char __u8;
typedef unsigned short __u16;
typedef unsigned int __u32;
typedef unsigned long long __u64;
typedef signed char __s8;
typedef short __s16;
typedef int __s32;
typedef long long __s64;
typedef __u16 __be16;
typedef __u32 __be32;
typedef __u32 __wsum;

/* Values from the kernel's uapi headers, which do not build for the BPF
 * target without the architecture's asm/ headers. */
enum {
	AF_UNIX = 1,
	MSG_PEEK = 2,
	BPF_MAP_TYPE_HASH = 1,
	BPF_F_NO_PREALLOC = 1,
	BPF_NOEXIST = 1,
};

#pragma clang attribute push(__attribute__((preserve_access_index)), apply_to = record)

struct seq_file;

struct bpf_iter_meta {
	struct seq_file *seq;
	__u64 session_id;
	__u64 seq_num;
};

struct inode {
	unsigned long i_ino;
};

struct file {
	struct inode *f_inode;
};

struct socket {
	struct file *file;
	struct sock *sk;
};

struct sock_common {
	unsigned short skc_family;
};

struct sock {
	struct sock_common __sk_common;
	struct socket *sk_socket;
};

struct task_struct;

struct bpf_iter__task_file {
	struct bpf_iter_meta *meta;
	struct task_struct *task;
	__u32 fd;
	struct file *file;
};

#pragma clang attribute pop

#endif
