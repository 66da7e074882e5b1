//go:build ignore

/* fdsock lists the descriptors of every process that are AF_UNIX sockets,
 * as the /proc/PID/fd walk does, without a readlink per descriptor. */

#include "kernel.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "Dual MIT/GPL";

/* One record per descriptor, in host byte order; fdsock.go reads it. */
struct fd_record {
	__u32 pid;
	__u32 fd;
	__u64 ino;
};

/* pid_in_level is task's thread group id in the pid namespace at level,
 * or 0 when task has no pid there. */
static __always_inline __u32 pid_in_level(struct task_struct *task, unsigned int level,
					  struct pid_namespace *ns)
{
	struct pid *pid = BPF_CORE_READ(task, group_leader, thread_pid);
	struct upid upid;

	if (!pid || BPF_CORE_READ(pid, level) < level)
		return 0;
	/* numbers[] has level+1 entries: a variable index needs a probe read. */
	if (bpf_core_read(&upid, sizeof(upid), &pid->numbers[level]))
		return 0;
	if (upid.ns != ns)
		return 0;
	return upid.nr;
}

SEC("iter/task_file")
int udsls_fdsock(struct bpf_iter__task_file *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *task = ctx->task;
	struct file *file = ctx->file;
	struct fd_record rec;
	struct socket *sock;
	struct task_struct *me;
	struct pid *mypid;
	unsigned int level;
	struct upid myupid;

	if (!task || !file)
		return 0;
	/* /proc/PID/fd shows the table of the thread group leader; a thread
	 * that unshared its table is not listed there, nor here. */
	if (task != BPF_CORE_READ(task, group_leader))
		return 0;
	/* Only a socket's file has socket_file_ops; the helper checks them. */
	sock = bpf_sock_from_file(file);
	if (!sock)
		return 0;
	if (BPF_CORE_READ(sock, sk, __sk_common.skc_family) != AF_UNIX)
		return 0;

	/* The iterator walks the tasks of the reader's pid namespace, and the
	 * reader wants their pids as its namespace numbers them. */
	me = bpf_get_current_task_btf();
	mypid = BPF_CORE_READ(me, thread_pid);
	if (!mypid)
		return 0;
	level = BPF_CORE_READ(mypid, level);
	if (bpf_core_read(&myupid, sizeof(myupid), &mypid->numbers[level]))
		return 0;

	rec.pid = pid_in_level(task, level, myupid.ns);
	if (!rec.pid)
		return 0;
	rec.fd = ctx->fd;
	rec.ino = BPF_CORE_READ(file, f_inode, i_ino);
	bpf_seq_write(seq, &rec, sizeof(rec));
	return 0;
}
