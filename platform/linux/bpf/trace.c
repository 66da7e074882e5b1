//go:build ignore

/* trace reports every connect(2) on an AF_UNIX socket, with its result:
 * sys_enter keeps the arguments of a connect per thread, sys_exit reads
 * the address (the kernel has copied it in by then, so the page is
 * present) and the socket behind the descriptor, and sends one record. */

#include "trace.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "Dual MIT/GPL";

/* The connect syscall's number on the running architecture; set by
 * trace_linux.go before loading. */
const volatile __u32 connect_nr = 0;

/* x86-64's __USER_CS, the code segment of 64-bit user mode, and arm64's
 * flag of an AArch32 task. */
#define USER64_CS 0x33
#define PSR_MODE32_BIT 0x10

/* offsetof(struct sockaddr_un, sun_path) and sizeof its sun_path. */
#define SUN_PATH_OFF 2
#define SUN_PATH_MAX 108

struct args {
	__u64 addr;
	__s32 fd;
	__s32 addrlen;
};

/* One record per connect, in host byte order; trace_linux.go reads it. */
struct trace_event {
	__u64 time_ns; /* CLOCK_BOOTTIME */
	__u64 peer_ino;
	__u32 pid;
	__u32 uid;
	__s32 ret;
	__u32 peer_pid;
	__u16 type;
	__u16 name_len;
	char comm[16];
	/* Room for n & 127, a bound the verifier can follow. */
	__u8 name[128];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct args);
} udsls_trace_args SEC(".maps");

/* max_entries is set by the loader. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} udsls_trace_events SEC(".maps");

/* Events that could not be reported: a full ring buffer, or no room to
 * keep a connect's arguments. User space sums the CPUs' counts. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} udsls_trace_lost SEC(".maps");

static __always_inline void lost(void)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&udsls_trace_lost, &zero);

	if (n)
		*n += 1;
}

/* syscall_nr is the number of the syscall regs entered by, or -1 on an
 * architecture this object does not know. Every syscall of the machine
 * comes by here: regs is a pointer the verifier trusts (tp_btf), read
 * directly, without a helper call. */
static __always_inline long syscall_nr(void *regs)
{
	if (bpf_core_field_exists(((struct pt_regs___x86 *)0)->orig_ax))
		return ((struct pt_regs___x86 *)regs)->orig_ax;
	if (bpf_core_field_exists(((struct pt_regs___arm64 *)0)->syscallno))
		return ((struct pt_regs___arm64 *)regs)->syscallno;
	return -1;
}

SEC("tp_btf/sys_enter")
int udsls_trace_enter(__u64 *ctx)
{
	void *regs = (void *)ctx[0];
	long id = (long)ctx[1];
	__u64 tid = bpf_get_current_pid_tgid();
	struct args a = {};
	__u16 family = 0;

	if (id != connect_nr)
		return 0;
	/* A 32-bit process numbers its syscalls another way: its 42 or 203 is
	 * no connect. */
	if (bpf_core_field_exists(((struct pt_regs___x86 *)0)->cs) &&
	    ((struct pt_regs___x86 *)regs)->cs != USER64_CS)
		return 0;
	if (bpf_core_field_exists(((struct pt_regs___arm64 *)0)->pstate) &&
	    (((struct pt_regs___arm64 *)regs)->pstate & PSR_MODE32_BIT))
		return 0;
	if (bpf_core_field_exists(((struct pt_regs___x86 *)0)->di)) {
		a.fd = BPF_CORE_READ((struct pt_regs___x86 *)regs, di);
		a.addr = BPF_CORE_READ((struct pt_regs___x86 *)regs, si);
		a.addrlen = BPF_CORE_READ((struct pt_regs___x86 *)regs, dx);
	} else if (bpf_core_field_exists(((struct pt_regs___arm64 *)0)->regs)) {
		/* At entry x0 still holds the first argument. */
		a.fd = BPF_CORE_READ((struct pt_regs___arm64 *)regs, regs[0]);
		a.addr = BPF_CORE_READ((struct pt_regs___arm64 *)regs, regs[1]);
		a.addrlen = BPF_CORE_READ((struct pt_regs___arm64 *)regs, regs[2]);
	} else {
		return 0;
	}
	/* Most connects are TCP or UDP: leave them at once. An address that
	 * cannot be read yet (a page not faulted in) is judged at exit. */
	if (!bpf_probe_read_user(&family, sizeof(family), (void *)a.addr) && family != AF_UNIX)
		return 0;
	if (bpf_map_update_elem(&udsls_trace_args, &tid, &a, BPF_ANY))
		lost();
	return 0;
}

SEC("tp_btf/sys_exit")
int udsls_trace_exit(__u64 *ctx)
{
	void *regs = (void *)ctx[0];
	long ret = (long)ctx[1];
	__u64 tid = bpf_get_current_pid_tgid();
	struct task_struct *task;
	struct trace_event *ev;
	struct fdtable *fdt;
	struct file **fds;
	struct file *file = 0;
	struct socket *sock;
	struct sock *sk, *peer;
	struct pid *peer_pid;
	struct args *ap, a;
	__u16 family = 0;
	__u32 n;
	long nr = syscall_nr(regs);

	if (nr >= 0 && nr != connect_nr)
		return 0;
	ap = bpf_map_lookup_elem(&udsls_trace_args, &tid);
	if (!ap)
		return 0;
	a = *ap;
	bpf_map_delete_elem(&udsls_trace_args, &tid);

	if (bpf_probe_read_user(&family, sizeof(family), (void *)a.addr) || family != AF_UNIX)
		return 0;
	/* The socket the descriptor names now: task->files->fdt->fd[fd]. */
	task = (struct task_struct *)bpf_get_current_task();
	fdt = BPF_CORE_READ(task, files, fdt);
	if (!fdt || a.fd < 0 || (__u32)a.fd >= BPF_CORE_READ(fdt, max_fds))
		return 0;
	fds = BPF_CORE_READ(fdt, fd);
	/* A plain read: fds is no record CO-RE could relocate. */
	if (bpf_probe_read_kernel(&file, sizeof(file), fds + a.fd) || !file)
		return 0;
	if ((BPF_CORE_READ(file, f_inode, i_mode) & S_IFMT) != S_IFSOCK)
		return 0;
	sock = BPF_CORE_READ(file, private_data);
	sk = BPF_CORE_READ(sock, sk);
	if (!sk || BPF_CORE_READ(sk, __sk_common.skc_family) != AF_UNIX)
		return 0;

	ev = bpf_ringbuf_reserve(&udsls_trace_events, sizeof(*ev), 0);
	if (!ev) {
		lost();
		return 0;
	}
	ev->time_ns = bpf_ktime_get_boot_ns();
	ev->pid = tid >> 32;
	ev->uid = (__u32)bpf_get_current_uid_gid();
	ev->ret = ret;
	ev->type = BPF_CORE_READ(sock, type);
	ev->peer_pid = 0;
	ev->peer_ino = 0;
	if (ret == 0) {
		/* A stream or seqpacket client gets the listener's credentials
		 * (SO_PEERCRED): the process that called listen(2). */
		peer_pid = BPF_CORE_READ(sk, sk_peer_pid);
		if (peer_pid)
			ev->peer_pid = BPF_CORE_READ(peer_pid, numbers[0].nr);
		/* A datagram client's peer is the server's own socket. */
		peer = BPF_CORE_READ((struct unix_sock *)sk, peer);
		if (peer)
			ev->peer_ino = BPF_CORE_READ(peer, sk_socket, file, f_inode, i_ino);
	}
	BPF_CORE_READ_INTO(&ev->comm, task, group_leader, comm);

	n = a.addrlen > SUN_PATH_OFF ? a.addrlen - SUN_PATH_OFF : 0;
	if (n > SUN_PATH_MAX)
		n = SUN_PATH_MAX;
	ev->name_len = n;
	/* clang knows n <= 108 and would drop a mask, and then hand the
	 * verifier a register it cannot bound: hide n from it first. */
	asm volatile("" : "+r"(n));
	n &= 127;
	if (bpf_probe_read_user(ev->name, n, (void *)(a.addr + SUN_PATH_OFF)))
		ev->name_len = 0;
	bpf_ringbuf_submit(ev, 0);
	return 0;
}
