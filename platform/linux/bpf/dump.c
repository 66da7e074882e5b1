//go:build ignore

/* dump copies what processes send over the AF_UNIX sockets of one target
 * into a ring buffer. Kprobes and fentry are not available everywhere, so
 * it hooks the sock_send_length tracepoint, which every send through
 * sock_sendmsg passes with the socket and the bytes sent; the bytes
 * themselves are still in the sender's buffer, which the system call's
 * arguments (write, writev, sendto, sendmsg) locate. Sending from both
 * ends of a connection is both directions of it. The syscall tracepoints
 * (sys_enter, sys_exit) would give the arguments too, but they run only
 * in tasks the kernel flagged when the first of them was attached, and a
 * dump saw nothing at all now and then with them. */

#include "dump.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "Dual MIT/GPL";

/* Set by dump.go before loading: the system call numbers of this machine,
 * the bytes kept per message, and the target's bound name (sun_path as
 * the kernel holds it: a leading NUL for an abstract name), if it has
 * one. */
volatile const __u32 nr_write = ~0u, nr_writev = ~0u, nr_sendto = ~0u, nr_sendmsg = ~0u, nr_sendmmsg = ~0u;
volatile const __u32 max_bytes = 0;
volatile const __u32 target_name_len = 0;
volatile const __u8 target_name[108];

enum kind {
	KIND_OTHER = 0, /* sendfile, splice, io_uring...: no user buffer to read */
	KIND_WRITE = 1,
	KIND_WRITEV,
	KIND_SENDTO,
	KIND_SENDMSG,
	KIND_SENDMMSG,
};

#define MAX_IOV 32

/* The inodes of the target sockets; a socket is the target's when it or
 * its peer is listed, or when it or its peer is bound to target_name
 * (a listener's accepted connections share its name). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, __u8);
} targets SEC(".maps");

/* One message; dump.go decodes it (host byte order). */
struct event {
	__u64 time_ns; /* CLOCK_BOOTTIME */
	__u64 ino;
	__u64 peer;
	__u32 pid;
	__u32 tid;
	__u32 len;    /* bytes the call sent */
	__u32 caplen; /* bytes that follow */
	__u32 kind;
	__u32 pad;
	char comm[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20);
} events SEC(".maps");

/* lost[0] counts the messages the ring buffer had no room for. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} lost SEC(".maps");

extern int bpf_probe_read_user_dynptr(struct bpf_dynptr *dptr, __u64 off, __u64 size,
				      const void *unsafe_ptr__ign) __ksym;

/* syscall_nr is the number of the system call regs entered by, or -1. */
static __always_inline long syscall_nr(void *regs)
{
	struct pt_regs___x86 *x = regs;
	struct pt_regs___arm64 *a = regs;

	if (bpf_core_field_exists(x->orig_ax))
		return BPF_CORE_READ(x, orig_ax);
	if (bpf_core_field_exists(a->syscallno))
		return BPF_CORE_READ(a, syscallno);
	return -1;
}

/* arg is the system call's argument i, 1 to 5 (not the descriptor). */
static __always_inline __u64 arg(void *regs, int i)
{
	struct pt_regs___x86 *x = regs;
	struct pt_regs___arm64 *a = regs;

	if (bpf_core_field_exists(x->di)) {
		switch (i) {
		case 1: return BPF_CORE_READ(x, si);
		case 2: return BPF_CORE_READ(x, dx);
		case 3: return BPF_CORE_READ(x, r10);
		case 4: return BPF_CORE_READ(x, r8);
		default: return BPF_CORE_READ(x, r9);
		}
	}
	if (bpf_core_field_exists(a->regs)) {
		__u64 v = 0;

		bpf_core_read(&v, sizeof(v), &a->regs[i & 7]);
		return v;
	}
	return 0;
}

static __always_inline __u64 sock_ino(struct sock *sk)
{
	if (!sk)
		return 0;
	return BPF_CORE_READ(sk, sk_socket, file, f_inode, i_ino);
}

/* named says whether sk is bound to name[0:len] (len counts sun_path
 * bytes; a path's trailing NUL is not counted, nor compared). */
static __always_inline int named(const char *name, int len)
{
	int n = target_name_len;

	if (n == 0 || n > 108)
		return 0;
	/* A path may have been given with or without its NUL. */
	if (target_name[0] != 0 && len > n && name[n] == 0)
		len = n;
	if (len != n)
		return 0;
	for (int i = 0; i < 108; i++) {
		if (i >= n)
			break;
		if (name[i] != target_name[i])
			return 0;
	}
	return 1;
}

static __always_inline int bound_to_target(struct sock *sk)
{
	struct unix_sock *u = (void *)sk;
	struct unix_address *addr;
	char name[108];
	int len;

	if (!sk || target_name_len == 0)
		return 0;
	addr = BPF_CORE_READ(u, addr);
	if (!addr)
		return 0;
	len = BPF_CORE_READ(addr, len) - 2; /* less sun_family */
	if (len <= 0 || len > 108)
		return 0;
	if (bpf_core_read(name, sizeof(name), &addr->name[0].sun_path))
		return 0;
	return named(name, len);
}

/* sent_to_target says whether a user sockaddr names the target. */
static __always_inline int sent_to_target(__u64 uaddr, int alen)
{
	/* Room for any length the mask below lets through. */
	struct {
		unsigned short sun_family;
		char sun_path[126];
	} sa = {};
	__u32 n;

	if (!uaddr || target_name_len == 0 || alen <= 2 || alen > 110)
		return 0;
	/* Only alen bytes are sure to be readable. The mask, in assembly so
	 * that clang cannot drop it as redundant, is for the verifier, which
	 * does not follow clang's form of the bounds above. */
	n = alen;
	asm volatile("%0 &= 0x7f" : "+r"(n));
	if (bpf_probe_read_user(&sa, n, (void *)uaddr))
		return 0;
	if (sa.sun_family != AF_UNIX)
		return 0;
	return named(sa.sun_path, n - 2);
}

/* emit sends one message of len bytes, whose first bytes are in the n
 * iovecs at uiov, or in the plain buffer at uiov when n is 0. */
static __always_inline void emit(__u32 kind, __u64 ino, __u64 peer, __u64 uiov, __u64 n, __u64 len)
{
	struct event ev = {};
	struct bpf_dynptr dp;
	__u32 caplen = len < max_bytes ? len : max_bytes;
	__u32 off = 0;

	if (kind == KIND_OTHER || !uiov)
		caplen = 0;
	if (caplen > (1 << 20))
		caplen = 1 << 20;
	if (bpf_ringbuf_reserve_dynptr(&events, sizeof(ev) + caplen, 0, &dp)) {
		__u32 zero = 0;
		__u64 *c = bpf_map_lookup_elem(&lost, &zero);

		if (c)
			__sync_fetch_and_add(c, 1);
		bpf_ringbuf_discard_dynptr(&dp, 0);
		return;
	}
	if (n == 0) {
		if (caplen && !bpf_probe_read_user_dynptr(&dp, sizeof(ev), caplen, (void *)uiov))
			off = caplen;
	} else {
		for (int i = 0; i < MAX_IOV; i++) {
			struct uiovec iov;
			__u32 k;

			if (i >= n || off >= caplen)
				break;
			if (bpf_probe_read_user(&iov, sizeof(iov), (void *)(uiov + i * sizeof(iov))))
				break;
			k = caplen - off;
			if (iov.len < k)
				k = iov.len;
			if (k && bpf_probe_read_user_dynptr(&dp, sizeof(ev) + off, k, (void *)iov.base))
				break;
			off += k;
		}
	}
	ev.time_ns = bpf_ktime_get_boot_ns();
	ev.ino = ino;
	ev.peer = peer;
	ev.pid = bpf_get_current_pid_tgid() >> 32;
	ev.tid = (__u32)bpf_get_current_pid_tgid();
	ev.len = len;
	/* Bytes an unreadable buffer or too many iovecs left out are not
	 * passed off as data: caplen says how many follow. */
	ev.caplen = off;
	ev.kind = kind;
	bpf_get_current_comm(ev.comm, sizeof(ev.comm));
	bpf_dynptr_write(&dp, 0, &ev, sizeof(ev), 0);
	bpf_ringbuf_submit_dynptr(&dp, 0);
}

SEC("tp_btf/sock_send_length")
int udsls_dump_send(__u64 *ctx)
{
	struct sock *sk = (void *)ctx[0], *peer;
	int ret = ctx[1];
	struct task_struct *task;
	__u64 ino, peer_ino, uaddr = 0;
	int alen = 0;
	void *regs;
	long nr;
	__u32 kind;
	struct umsghdr m = {};

	if (ret <= 0 || !sk || BPF_CORE_READ(sk, __sk_common.skc_family) != AF_UNIX)
		return 0;
	task = bpf_get_current_task_btf();
	regs = (void *)bpf_task_pt_regs(task);
	nr = syscall_nr(regs);
	if (nr == nr_write)
		kind = KIND_WRITE;
	else if (nr == nr_writev)
		kind = KIND_WRITEV;
	else if (nr == nr_sendto)
		kind = KIND_SENDTO;
	else if (nr == nr_sendmsg)
		kind = KIND_SENDMSG;
	else if (nr == nr_sendmmsg)
		kind = KIND_SENDMMSG;
	else
		kind = KIND_OTHER;

	ino = sock_ino(sk);
	peer = BPF_CORE_READ((struct unix_sock *)sk, peer);
	peer_ino = sock_ino(peer);
	if (kind == KIND_SENDTO) {
		uaddr = arg(regs, 4);
		alen = arg(regs, 5);
	} else if (kind == KIND_SENDMSG && !bpf_probe_read_user(&m, sizeof(m), (void *)arg(regs, 1))) {
		uaddr = m.name;
		alen = m.namelen;
	}
	if (!bpf_map_lookup_elem(&targets, &ino) && !bpf_map_lookup_elem(&targets, &peer_ino) &&
	    !bound_to_target(sk) && !bound_to_target(peer) && !sent_to_target(uaddr, alen))
		return 0;

	switch (kind) {
	case KIND_WRITE:
	case KIND_SENDTO:
		emit(kind, ino, peer_ino, arg(regs, 1), 0, ret);
		break;
	case KIND_WRITEV:
		emit(kind, ino, peer_ino, arg(regs, 1), arg(regs, 2), ret);
		break;
	case KIND_SENDMSG:
		emit(kind, ino, peer_ino, m.iov, m.iovlen, ret);
		break;
	default:
		/* sendmmsg passes here once per message, with nothing that says
		 * which one: its length is known, its bytes are not. */
		emit(kind, ino, peer_ino, 0, 0, ret);
	}
	return 0;
}
