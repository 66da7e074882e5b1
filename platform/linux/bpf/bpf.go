package bpf

import "errors"

// FD is one descriptor that is an AF_UNIX socket: the process holding it,
// its number there, and the socket's inode.
type FD struct {
	PID, FD int
	Inode   uint64
}

// ErrUnavailable says the kernel cannot run a program here, or we may not
// load it: a caller may fall back to a slower way.
var ErrUnavailable = errors.New("BPF unavailable")

// MayLoad says whether this process holds the capabilities loading an
// iterator needs: CAP_BPF and CAP_PERFMON (Linux >= 5.8), or CAP_SYS_ADMIN.
// It does not say the kernel can run it.
func MayLoad() bool {
	return mayLoad()
}

// FDSockProgram is the name the kernel lists the fd iterator by (bpftool
// prog list), for tests that check nothing is left loaded.
const FDSockProgram = "udsls_fdsock"
