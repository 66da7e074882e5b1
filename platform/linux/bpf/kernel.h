/* The kernel types the programs touch, instead of a generated
 * vmlinux.h (each program's own header adds what only it needs): preserve_access_index makes every field access a CO-RE
 * relocation, which the loader fits to the running kernel's BTF, so only
 * the names below need to match the kernel, not the layouts. */
#ifndef UDSLS_KERNEL_H
#define UDSLS_KERNEL_H

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
	BPF_MAP_TYPE_HASH = 1,
	BPF_MAP_TYPE_RINGBUF = 27,
	BPF_NOEXIST = 1,
};

#pragma clang attribute push(__attribute__((preserve_access_index)), apply_to = record)

struct seq_file;
struct pid_namespace;

struct bpf_iter_meta {
	struct seq_file *seq;
	__u64 session_id;
	__u64 seq_num;
};

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
	struct pid *thread_pid;
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

struct bpf_iter__task_file {
	struct bpf_iter_meta *meta;
	struct task_struct *task;
	__u32 fd;
	struct file *file;
};

#pragma clang attribute pop

#endif
