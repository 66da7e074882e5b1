//go:build ignore

/* dump copies what processes send over the AF_UNIX sockets of one target
 * into a ring buffer. Kprobes and fentry are not available everywhere, so
 * it watches the system calls that send (write, writev, sendto, sendmsg,
 * sendmmsg) at their entry, where it finds the socket behind the
 * descriptor and decides whether it is the target's, and at their exit,
 * where the result says how many bytes went out. Sending from both ends
 * of a connection is both directions of it. */

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
	KIND_WRITE = 1,
	KIND_WRITEV,
	KIND_SENDTO,
	KIND_SENDMSG,
	KIND_SENDMMSG,
};

#define MAX_IOV 32
#define MAX_MMSG 16

/* The inodes of the target sockets; a socket is the target's when it or
 * its peer is listed, or when it or its peer is bound to target_name
 * (a listener's accepted connections share its name). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, __u8);
} targets SEC(".maps");

/* A send seen at its entry, until its exit. */
struct pending {
	__u64 ino;
	__u64 peer;
	__u64 buf; /* the buffer, the iovec array, the msghdr or the mmsghdr array */
	__u64 count;
	__u32 kind;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, __u64);
	__type(value, struct pending);
} pendings SEC(".maps");

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

static __always_inline __u64 arg(void *regs, int i)
{
	struct pt_regs___x86 *x = regs;
	struct pt_regs___arm64 *a = regs;

	if (bpf_core_field_exists(x->di)) {
		switch (i) {
		case 0: return BPF_CORE_READ(x, di);
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

static __always_inline __u64 sock_ino(struct sock___dump *sk)
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

static __always_inline int bound_to_target(struct sock___dump *sk)
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

SEC("tp_btf/sys_enter")
int udsls_dump_enter(__u64 *ctx)
{
	void *regs = (void *)ctx[0];
	long id = ctx[1];
	struct task_struct___dump *task;
	struct file___dump **fds;
	struct file___dump *file;
	struct socket___dump *sock;
	struct sock___dump *sk, *peer;
	struct fdtable *fdt;
	struct pending p = {};
	__u64 fd, uaddr = 0, key;
	int alen = 0;

	if (id == nr_write)
		p.kind = KIND_WRITE;
	else if (id == nr_writev)
		p.kind = KIND_WRITEV;
	else if (id == nr_sendto)
		p.kind = KIND_SENDTO;
	else if (id == nr_sendmsg)
		p.kind = KIND_SENDMSG;
	else if (id == nr_sendmmsg)
		p.kind = KIND_SENDMMSG;
	else
		return 0;

	fd = arg(regs, 0);
	task = (void *)bpf_get_current_task_btf();
	fdt = BPF_CORE_READ(task, files, fdt);
	if (!fdt || fd >= BPF_CORE_READ(fdt, max_fds))
		return 0;
	fds = BPF_CORE_READ(fdt, fd);
	if (bpf_core_read(&file, sizeof(file), &fds[fd]) || !file)
		return 0;
	if (BPF_CORE_READ(file, f_inode, i_sb, s_magic) != SOCKFS_MAGIC)
		return 0;
	sock = BPF_CORE_READ(file, private_data);
	sk = BPF_CORE_READ(sock, sk);
	if (!sk || BPF_CORE_READ(sk, __sk_common.skc_family) != AF_UNIX)
		return 0;
	p.ino = BPF_CORE_READ(file, f_inode, i_ino);
	peer = BPF_CORE_READ((struct unix_sock *)sk, peer);
	p.peer = sock_ino(peer);
	p.buf = arg(regs, 1);
	p.count = arg(regs, 2);

	if (p.kind == KIND_SENDTO) {
		uaddr = arg(regs, 4);
		alen = arg(regs, 5);
	}
	if (!bpf_map_lookup_elem(&targets, &p.ino) && !bpf_map_lookup_elem(&targets, &p.peer) &&
	    !bound_to_target(sk) && !bound_to_target(peer)) {
		/* An unconnected datagram socket names the target per call. */
		if (p.kind == KIND_SENDTO) {
			if (!sent_to_target(uaddr, alen))
				return 0;
		} else if (p.kind == KIND_SENDMSG) {
			struct umsghdr m;

			if (bpf_probe_read_user(&m, sizeof(m), (void *)p.buf) ||
			    !sent_to_target(m.name, m.namelen))
				return 0;
		} else {
			return 0;
		}
	}
	key = bpf_get_current_pid_tgid();
	bpf_map_update_elem(&pendings, &key, &p, BPF_ANY);
	return 0;
}

/* emit sends one message of len bytes, whose first bytes are in the n
 * iovecs at uiov (or, when n is 0, in the plain buffer at uiov). */
static __always_inline void emit(struct pending *p, __u64 uiov, __u64 n, __u64 len)
{
	struct event ev = {};
	struct bpf_dynptr dp;
	__u32 caplen = len < max_bytes ? len : max_bytes;
	__u32 off = 0;

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
	ev.ino = p->ino;
	ev.peer = p->peer;
	ev.pid = bpf_get_current_pid_tgid() >> 32;
	ev.tid = (__u32)bpf_get_current_pid_tgid();
	ev.len = len;
	/* Bytes an unreadable buffer or too many iovecs left out are not
	 * passed off as data: caplen says how many follow. */
	ev.caplen = off;
	ev.kind = p->kind;
	bpf_get_current_comm(ev.comm, sizeof(ev.comm));
	bpf_dynptr_write(&dp, 0, &ev, sizeof(ev), 0);
	bpf_ringbuf_submit_dynptr(&dp, 0);
}

SEC("tp_btf/sys_exit")
int udsls_dump_exit(__u64 *ctx)
{
	long ret = ctx[1];
	__u64 key = bpf_get_current_pid_tgid();
	struct pending *pp, p;

	pp = bpf_map_lookup_elem(&pendings, &key);
	if (!pp)
		return 0;
	p = *pp;
	bpf_map_delete_elem(&pendings, &key);
	if (ret <= 0)
		return 0;

	switch (p.kind) {
	case KIND_WRITE:
	case KIND_SENDTO:
		emit(&p, p.buf, 0, ret);
		break;
	case KIND_WRITEV:
		emit(&p, p.buf, p.count, ret);
		break;
	case KIND_SENDMSG: {
		struct umsghdr m;

		if (!bpf_probe_read_user(&m, sizeof(m), (void *)p.buf))
			emit(&p, m.iov, m.iovlen, ret);
		break;
	}
	case KIND_SENDMMSG:
		/* ret messages went; the kernel wrote each one's length. */
		for (int i = 0; i < MAX_MMSG; i++) {
			struct ummsghdr m;

			if (i >= ret)
				break;
			if (bpf_probe_read_user(&m, sizeof(m), (void *)(p.buf + i * sizeof(m))))
				break;
			emit(&p, m.hdr.iov, m.hdr.iovlen, m.len);
		}
		break;
	}
	return 0;
}
