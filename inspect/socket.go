package inspect

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/udsls/udsls/inspect/internal/text"
)

// SocketID identifies a socket within one snapshot: the socket inode on
// Linux, the kernel address of the socket on macOS.
type SocketID uint64

// Type is the socket type. The values are the SOCK_* constants, which agree
// on Linux and the BSDs.
type Type uint8

const (
	TypeStream    Type = 1
	TypeDgram     Type = 2
	TypeSeqpacket Type = 5
)

func (t Type) String() string {
	switch t {
	case TypeStream:
		return "stream"
	case TypeDgram:
		return "dgram"
	case TypeSeqpacket:
		return "seqpacket"
	case 0:
		return "unknown" // the source does not say (lsof alone)
	}
	return "unknown(" + strconv.Itoa(int(t)) + ")"
}

func (t Type) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

func (t *Type) UnmarshalText(b []byte) error {
	if string(b) == "unknown" {
		*t = 0
		return nil
	}
	v, err := ParseType(string(b))
	*t = v
	return err
}

// ParseType accepts the names String returns, plus the common aliases
// "str", "seq" and "seqpkt".
func ParseType(s string) (Type, error) {
	switch strings.ToLower(s) {
	case "stream", "str":
		return TypeStream, nil
	case "dgram", "datagram":
		return TypeDgram, nil
	case "seqpacket", "seq", "seqpkt":
		return TypeSeqpacket, nil
	}
	return 0, fmt.Errorf("unknown socket type %q (want stream, dgram or seqpacket)", s)
}

// State is the connection state of a socket, normalised across backends.
// The values 1-4 are Linux's SS_* (the St column of /proc/net/unix).
type State uint8

const (
	StateUnconnected   State = 1
	StateConnecting    State = 2
	StateConnected     State = 3
	StateDisconnecting State = 4
	StateListening     State = 10
)

func (s State) String() string {
	switch s {
	case StateUnconnected:
		return "unconnected"
	case StateConnecting:
		return "connecting"
	case StateConnected:
		return "connected"
	case StateDisconnecting:
		return "disconnecting"
	case StateListening:
		return "listening"
	case 0:
		return "unknown" // the source does not say (lsof alone)
	}
	return "unknown(" + strconv.Itoa(int(s)) + ")"
}

func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

func (s *State) UnmarshalText(b []byte) error {
	for _, v := range []State{0, StateUnconnected, StateConnecting, StateConnected, StateDisconnecting, StateListening} {
		if v.String() == string(b) {
			*s = v
			return nil
		}
	}
	return fmt.Errorf("unknown socket state %q", b)
}

// FileID is a file's identity: device and inode, with the device in the
// userspace st_dev encoding (as lstat reports it).
type FileID struct {
	Dev uint64
	Ino uint64
}

func (f FileID) IsZero() bool { return f == FileID{} }

// Key is the identity as the kernel can report it for a bound socket:
// unix_diag_vfs carries the inode in 32 bits (include/uapi/linux/unix_diag.h),
// so a file on a filesystem with larger inode numbers (XFS inode64, btrfs)
// would never match its own socket. Compare and index bound files by Key.
func (f FileID) Key() FileID { return FileID{Dev: f.Dev, Ino: f.Ino & 0xffffffff} }

// Known says which optional fields of a Socket the backend could fill in.
// A field whose bit is clear is unknown, not zero.
type Known uint16

const (
	KnownPeer   Known = 1 << iota // Peer
	KnownQueues                   // RecvQueue, SendQueue
	KnownBound                    // Bound
	KnownUID                      // UID
	KnownIcons                    // Icons
	KnownNetns                    // Netns
)

func (k Known) Has(f Known) bool { return k&f == f }

// Socket is one Unix domain socket as the kernel reports it.
type Socket struct {
	ID SocketID
	// Path is the exact bound name: "" for an unnamed socket, "@" followed
	// by the name for the abstract namespace (the kernel's leading NUL
	// replaced), otherwise the filesystem path as passed to bind(2), which
	// may be relative. It may hold any bytes, including invalid UTF-8.
	Path     string
	Abstract bool
	Type     Type
	State    State
	Known    Known

	Peer SocketID // 0 when not connected
	// For a listener RecvQueue is the number of connections waiting to be
	// accepted and SendQueue the listen(2) backlog; otherwise bytes queued.
	RecvQueue uint32
	SendQueue uint32
	Bound     FileID     // identity of the file the socket is bound to
	UID       uint32     // owner of the socket (UNIX_DIAG_UID)
	Icons     []SocketID // a listener's not-yet-accepted connections
	Netns     uint64     // inode of the network namespace
}

// Named reports whether the socket has a filesystem or abstract name.
func (s *Socket) Named() bool { return s.Path != "" }

// Filesystem reports whether the socket is bound to a filesystem path.
func (s *Socket) Filesystem() bool { return s.Path != "" && !s.Abstract }

// Owner says that process PID holds socket ID at file descriptor FD.
type Owner struct {
	ID  SocketID
	PID int
	FD  int
}

// Process is what is known of a process holding sockets.
type Process struct {
	PID     int
	Command string
	UID     uint32
	User    string // empty when the uid has no name
	// UIDUnknown says that the source did not give the uid (an lsof
	// table capture shows only the login name); UID is then meaningless.
	UIDUnknown bool
}

// Hex is the ID as a "0x…" string in lowercase hex, as lsof prints kernel
// addresses: exact in any JSON reader, unlike a number above 2^53.
func (id SocketID) Hex() string { return string(text.AppendHex(nil, uint64(id))) }
