//go:build ignore

/* traffic counts the bytes each AF_UNIX socket sends and receives while
 * the programs are attached; traffic.go loads them, reads the counts and
 * drops those of closed sockets. */

#include "traffic.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual MIT/GPL";

struct counts {
	__u64 sent;
	__u64 received;
};

/* By socket inode. Socket-local storage would be cheaper to reach and
 * freed with the socket, but reading it back needs an iterator over it
 * or over unix sockets, which some kernels refuse to load or which see
 * one network namespace, so traffic.go sweeps closed sockets out. Past
 * max_entries sockets that moved bytes since the last sweep, a new one
 * goes uncounted until the next. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1 << 18);
	__type(key, __u64);
	__type(value, struct counts);
} udsls_bytes SEC(".maps");

/* One record per descriptor of a counted socket, in host byte order;
 * traffic.go reads it. */
struct traffic_record {
	__u64 ino;
	__u64 sent;
	__u64 received;
};

/* counts_of returns the counts of sk, made on its first byte, or NULL
 * for anything but an AF_UNIX socket with a file. */
static __always_inline struct counts *counts_of(struct sock *sk)
{
	static const struct counts zero;
	struct socket *sock;
	struct file *file;
	struct counts *c;
	__u64 ino;

	/* Every socket family passes these tracepoints: AF_UNIX is decided
	 * first, on a field the caller has just used. */
	if (!sk || sk->__sk_common.skc_family != AF_UNIX)
		return 0;
	sock = sk->sk_socket;
	if (!sock)
		return 0;
	file = sock->file;
	if (!file)
		return 0;
	ino = file->f_inode->i_ino;
	c = bpf_map_lookup_elem(&udsls_bytes, &ino);
	if (c)
		return c;
	/* Another CPU may make it meanwhile: NOEXIST keeps its bytes. */
	bpf_map_update_elem(&udsls_bytes, &ino, &zero, BPF_NOEXIST);
	return bpf_map_lookup_elem(&udsls_bytes, &ino);
}

/* sock_send_length fires after every sendmsg of a socket (write, send,
 * sendto, sendmsg, sendmmsg, splice and io_uring into it) with what it
 * returned: the bytes the socket took, or an error. */
SEC("tp_btf/sock_send_length")
int udsls_sent(__u64 *ctx)
{
	struct sock *sk = (struct sock *)ctx[0];
	int ret = (int)ctx[1];
	struct counts *c;

	if (ret <= 0)
		return 0;
	c = counts_of(sk);
	if (c)
		__sync_fetch_and_add(&c->sent, ret);
	return 0;
}

/* sock_recv_length fires after every recvmsg with what it returned. A
 * peek leaves the bytes queued for the read that takes them. */
SEC("tp_btf/sock_recv_length")
int udsls_received(__u64 *ctx)
{
	struct sock *sk = (struct sock *)ctx[0];
	int ret = (int)ctx[1];
	int flags = (int)ctx[2];
	struct counts *c;

	if (ret <= 0 || flags & MSG_PEEK)
		return 0;
	c = counts_of(sk);
	if (c)
		__sync_fetch_and_add(&c->received, ret);
	return 0;
}

/* udsls_counts reads the counts of the sockets open in some process, as
 * fdsock.c finds them; those it does not write are closed. */
SEC("iter/task_file")
int udsls_counts(struct bpf_iter__task_file *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct file *file = ctx->file;
	struct traffic_record rec;
	struct counts *c;
	__u64 ino;

	if (!file || !bpf_sock_from_file(file))
		return 0;
	ino = file->f_inode->i_ino;
	c = bpf_map_lookup_elem(&udsls_bytes, &ino);
	if (!c)
		return 0;
	rec.ino = ino;
	rec.sent = c->sent;
	rec.received = c->received;
	bpf_seq_write(seq, &rec, sizeof(rec));
	return 0;
}
