package bpf

import (
	"syscall"
	"time"
)

// Connect is one connect(2) on an AF_UNIX socket, as the kernel saw it
// return. Pids and uids are those of the initial namespaces.
type Connect struct {
	Time    time.Time
	PID     int
	UID     uint32
	Command string // the process's (its thread group leader's) comm
	// Name is the address as the caller passed it: a path (which may be
	// relative to its working directory, in its mount namespace) up to the
	// first NUL, or, when Abstract, the abstract name's exact bytes, NULs
	// included, without the leading NUL.
	Name     string
	Abstract bool
	Type     int           // SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET
	Err      syscall.Errno // 0 when connected
	// PeerPID is, for a stream or seqpacket connection made, the process
	// that called listen(2) on the server socket (what SO_PEERCRED tells
	// the client); 0 when unknown.
	PeerPID int
	// PeerInode is, for a datagram socket connected, the inode of the
	// server's socket; 0 when unknown.
	PeerInode uint64
}
