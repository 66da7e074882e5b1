package bpf

import "time"

// DumpTarget says which sockets to dump: those whose inode is listed, or
// whose peer's is, and those bound to Name or connected to a socket bound
// to it (a listener's accepted connections share its name), or sending a
// datagram to it. Name is sun_path as bound, a leading NUL for an
// abstract name.
type DumpTarget struct {
	Inodes   []uint64
	Name     []byte
	MaxBytes int
}

// Call is the system call that sent a message; 0 is one that sends from
// no user buffer (sendfile, splice, io_uring), whose bytes are not seen.
type Call uint32

func (c Call) String() string {
	switch c {
	case 1:
		return "write"
	case 2:
		return "writev"
	case 3:
		return "sendto"
	case 4:
		return "sendmsg"
	case 5:
		return "sendmmsg"
	}
	return "other"
}

// Message is what one system call sent over a target socket.
type Message struct {
	Time     time.Time
	PID, TID uint32
	Command  string // as the kernel holds it: any bytes
	Inode    uint64 // the sending socket
	Peer     uint64 // the socket it is connected to; 0 when not connected
	Len      uint32 // bytes sent
	Data     []byte // the first of them, up to MaxBytes
	Call     Call
}

// DumpProgramNames are the names the kernel lists the dump programs by.
var DumpProgramNames = []string{"udsls_dump_send"}

// MissingCaps names the capabilities the dump needs that this process
// lacks: CAP_BPF and CAP_PERFMON (reading other processes' memory), or
// CAP_SYS_ADMIN for both.
func MissingCaps() []string {
	return missingCaps()
}
