package linux

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/udsls/udsls/inspect"
)

// The NETLINK_SOCK_DIAG wire format for AF_UNIX, from the kernel's
// include/uapi/linux/netlink.h, sock_diag.h and unix_diag.h. Netlink speaks
// the host's byte order; the decoder lives in an untagged file so it is
// tested on every OS, and uses binary.NativeEndian for that reason.
const (
	nlmsgHdrLen = 16 // struct nlmsghdr: len u32, type u16, flags u16, seq u32, pid u32
	rtaHdrLen   = 4  // struct rtattr: len u16, type u16

	nlmsgNoop    = 1
	nlmsgError   = 2
	nlmsgDone    = 3
	nlmsgOverrun = 4

	nlmFRequest = 0x1
	nlmFDump    = 0x300 // NLM_F_ROOT|NLM_F_MATCH

	sockDiagByFamily = 20
	afUnix           = 1

	unixDiagReqLen = 24 // struct unix_diag_req
	unixDiagMsgLen = 16 // struct unix_diag_msg

	udiagShowName  = 0x01
	udiagShowVFS   = 0x02
	udiagShowPeer  = 0x04
	udiagShowIcons = 0x08
	udiagShowRQLen = 0x10
	udiagShowUID   = 0x40 // Linux 5.3; older kernels ignore unknown show bits

	unixDiagName     = 0
	unixDiagVFS      = 1
	unixDiagPeer     = 2
	unixDiagIcons    = 3
	unixDiagRQLen    = 4
	unixDiagMeminfo  = 5
	unixDiagShutdown = 6
	unixDiagUID      = 7

	// nla_type carries two flag bits above the type (NLA_F_NESTED,
	// NLA_F_NET_BYTEORDER).
	nlaTypeMask = 0x3fff

	// The kernel's TCP_* values, which af_unix keeps in sk_state.
	tcpEstablished = 1
	tcpSynSent     = 2
	tcpClose       = 7
	tcpListen      = 10

	// unknownStateBase offsets sk_state values af_unix is not known to use
	// (TCP_* values stay below 16), so a future state keeps its value,
	// shown as unknown(100+n), without aliasing inspect's SS_*-based states.
	unknownStateBase = 100
)

// diagShow is what DumpUnix asks for. The decoder relies on it: PEER and
// VFS are attributes the kernel omits when empty, so it marks Peer and
// Bound known even when they are absent.
const diagShow = udiagShowName | udiagShowVFS | udiagShowPeer | udiagShowIcons | udiagShowRQLen | udiagShowUID

// ErrNetlinkUnavailable is wrapped, together with the errno, when the kernel
// or a sandbox refuses NETLINK_SOCK_DIAG for AF_UNIX: no netlink or no
// unix_diag module, seccomp, an LSM; and on every system but Linux.
// /proc/net/unix is then the fallback.
var ErrNetlinkUnavailable = errors.New("netlink sock_diag unavailable")

// kernelError is the kernel's refusal of a sock_diag request: an
// NLMSG_ERROR reply, or an NLMSG_DONE that ends a failed dump. errno is
// positive (ENOENT when the unix_diag module is missing, for example).
type kernelError struct {
	errno int32
}

func (e *kernelError) Error() string {
	return "netlink sock_diag: kernel returned errno " + strconv.Itoa(int(e.errno))
}

// appendUnixDiagRequest appends a dump request for every AF_UNIX socket in
// every state.
func appendUnixDiagRequest(b []byte, seq, show uint32) []byte {
	ne := binary.NativeEndian
	b = ne.AppendUint32(b, nlmsgHdrLen+unixDiagReqLen)
	b = ne.AppendUint16(b, sockDiagByFamily)
	b = ne.AppendUint16(b, nlmFRequest|nlmFDump)
	b = ne.AppendUint32(b, seq)
	b = ne.AppendUint32(b, 0) // port id: the kernel fills in ours
	b = append(b, afUnix, 0, 0, 0)
	b = ne.AppendUint32(b, ^uint32(0)) // udiag_states: all
	b = ne.AppendUint32(b, 0)          // udiag_ino
	b = ne.AppendUint32(b, show)
	b = ne.AppendUint32(b, ^uint32(0)) // udiag_cookie: INET_DIAG_NOCOOKIE
	b = ne.AppendUint32(b, ^uint32(0))
	return b
}

// decodeUnixDiag decodes datagrams of a SOCK_DIAG_BY_FAMILY AF_UNIX dump
// (net/unix/diag.c sk_diag_fill), appending the sockets to dst. done
// reports that NLMSG_DONE ended the dump; anything after it is ignored. A
// refusal from the kernel is a *kernelError; bytes that do not decode give
// an error wrapping ErrMalformed that names the byte offset. Attributes of
// unknown type are skipped, as netlink requires.
func decodeUnixDiag(dst []inspect.Socket, b []byte) (socks []inspect.Socket, done bool, err error) {
	done, err = walkNlmsgs(b, func(p []byte) error {
		s, err := decodeUnixDiagMsg(p, nil)
		if err == nil {
			dst = append(dst, s)
		}
		return err
	})
	return dst, done, err
}

// diagDump gathers the datagrams of a dump, so that decoding can allocate
// the sockets once instead of growing a slice of them datagram by datagram.
type diagDump struct {
	dgrams [][]byte
	n      int // SOCK_DIAG_BY_FAMILY messages in dgrams
	names  names
}

// add keeps a copy of a datagram, checking its framing and counting its
// sockets; done reports the end of the dump.
func (d *diagDump) add(b []byte) (done bool, err error) {
	done, err = walkNlmsgs(b, func([]byte) error { d.n++; return nil })
	d.dgrams = append(d.dgrams, bytes.Clone(b))
	return done, err
}

func (d *diagDump) sockets() ([]inspect.Socket, error) {
	socks := make([]inspect.Socket, 0, d.n)
	for _, b := range d.dgrams {
		_, err := walkNlmsgs(b, func(p []byte) error {
			s, err := decodeUnixDiagMsg(p, d.names)
			if err == nil {
				socks = append(socks, s)
			}
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	return socks, nil
}

// unixInUse reads from /proc/net/protocols how many AF_UNIX sockets a
// network namespace has: the sockets column (sock_prot_inuse_get, counted
// per namespace) of the UNIX and UNIX-STREAM lines (net/unix/af_unix.c:
// unix_dgram_proto, unix_stream_proto). A count it cannot tell is false.
func unixInUse(data []byte) (int, bool) {
	lines := strings.Split(string(data), "\n")
	if h := strings.Fields(lines[0]); len(h) < 3 || h[0] != "protocol" || h[2] != "sockets" {
		return 0, false
	}
	n, seen := 0, 0
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) < 3 || (f[0] != "UNIX" && f[0] != "UNIX-STREAM") {
			continue
		}
		k, err := strconv.Atoi(f[2])
		if err != nil || k < 0 {
			return 0, false
		}
		n += k
		seen++
	}
	// A bound on what a count may ask to be allocated ahead.
	return n, seen > 0 && n < 1<<24
}

// walkNlmsgs calls fn with the payload of each SOCK_DIAG_BY_FAMILY message
// in b, and handles the control messages.
func walkNlmsgs(b []byte, fn func(payload []byte) error) (done bool, err error) {
	ne := binary.NativeEndian
	for off := 0; off < len(b); {
		if len(b)-off < nlmsgHdrLen {
			return false, malformed(off, "%d bytes left, short of a message header", len(b)-off)
		}
		n := int(ne.Uint32(b[off:]))
		typ := ne.Uint16(b[off+4:])
		if n < nlmsgHdrLen || n > len(b)-off {
			return false, malformed(off, "message length %d outside 16..%d", n, len(b)-off)
		}
		payload := b[off+nlmsgHdrLen : off+n]
		switch typ {
		case sockDiagByFamily:
			if err := fn(payload); err != nil {
				return false, fmt.Errorf("netlink sock_diag offset %d: %w", off, err)
			}
		case nlmsgDone:
			// NLMSG_DONE carries the dump's final status: a dump that
			// failed midway says so here (netlink_dump_done).
			if len(payload) >= 4 {
				if e := int32(ne.Uint32(payload)); e < 0 {
					return true, &kernelError{errno: -e}
				}
			}
			return true, nil
		case nlmsgError:
			if len(payload) < 4 {
				return false, malformed(off, "error message of %d bytes", len(payload))
			}
			if e := int32(ne.Uint32(payload)); e < 0 {
				return false, &kernelError{errno: -e}
			}
			// An acknowledgement; a dump does not ask for one.
		case nlmsgNoop:
		case nlmsgOverrun:
			return false, malformed(off, "kernel reported overrun")
		default:
			return false, malformed(off, "unexpected message type %d", typ)
		}
		off += align4(n)
	}
	return false, nil
}

// decodeUnixDiagMsg decodes struct unix_diag_msg and its attributes,
// taking the socket's name from names unless it is nil.
func decodeUnixDiagMsg(p []byte, names names) (inspect.Socket, error) {
	ne := binary.NativeEndian
	var s inspect.Socket
	if len(p) < unixDiagMsgLen {
		return s, fmt.Errorf("%w: unix_diag_msg of %d bytes, want %d", ErrMalformed, len(p), unixDiagMsgLen)
	}
	if p[0] != afUnix {
		return s, fmt.Errorf("%w: address family %d, want AF_UNIX", ErrMalformed, p[0])
	}
	s.Type = inspect.Type(p[1])
	s.State = diagState(p[2])
	s.ID = inspect.SocketID(ne.Uint32(p[4:]))
	s.Known = inspect.KnownPeer | inspect.KnownBound | inspect.KnownIcons
	for a := p[unixDiagMsgLen:]; len(a) > 0; {
		if len(a) < rtaHdrLen {
			return s, fmt.Errorf("%w: socket %d: %d stray bytes after the attributes", ErrMalformed, s.ID, len(a))
		}
		n := int(ne.Uint16(a))
		typ := ne.Uint16(a[2:]) & nlaTypeMask
		if n < rtaHdrLen || n > len(a) {
			return s, fmt.Errorf("%w: socket %d: attribute %d of length %d overruns the %d bytes left", ErrMalformed, s.ID, typ, n, len(a))
		}
		v := a[rtaHdrLen:n]
		if err := setAttr(&s, typ, v, names); err != nil {
			return s, err
		}
		// The last attribute's padding may be cut by the message end.
		a = a[min(align4(n), len(a)):]
	}
	// Since Linux 5.15 ("af_unix: Set TCP_ESTABLISHED for datagram
	// sockets too") a datagram connect marks both ends ESTABLISHED, and
	// the end connected to keeps it for good: a bound datagram server
	// reads as connected, with no peer, after its first client (a probe
	// included). Without a peer a datagram socket sends nowhere by
	// default, which is what unconnected means; a client whose peer
	// closed is in the same position (its next send fails and clears it).
	if s.Type == inspect.TypeDgram && s.State == inspect.StateConnected && s.Peer == 0 {
		s.State = inspect.StateUnconnected
	}
	return s, nil
}

// attrSize is the least payload each fixed-size attribute needs; longer
// payloads are accepted, since netlink structs only ever grow at the end.
var attrSize = [...]int{
	unixDiagVFS:      8,
	unixDiagPeer:     4,
	unixDiagRQLen:    8,
	unixDiagShutdown: 1,
	unixDiagUID:      4,
}

func setAttr(s *inspect.Socket, typ uint16, v []byte, names names) error {
	ne := binary.NativeEndian
	if int(typ) < len(attrSize) && len(v) < attrSize[typ] {
		return fmt.Errorf("%w: socket %d: attribute %d has %d bytes, want %d", ErrMalformed, s.ID, typ, len(v), attrSize[typ])
	}
	switch typ {
	case unixDiagName:
		setName(s, v, names)
	case unixDiagVFS:
		// struct unix_diag_vfs holds the kernel's internal dev_t
		// (MAJOR = dev>>20, MINOR = dev&0xfffff, include/linux/kdev_t.h);
		// Bound keeps lstat's encoding so the two compare. The kernel
		// truncates i_ino to 32 bits here.
		dev := ne.Uint32(v[4:])
		s.Bound = inspect.FileID{Dev: mkdev(dev>>20, dev&0xfffff), Ino: uint64(ne.Uint32(v))}
	case unixDiagPeer:
		s.Peer = inspect.SocketID(ne.Uint32(v))
	case unixDiagIcons:
		if len(v)%4 != 0 {
			return fmt.Errorf("%w: socket %d: icons attribute of %d bytes, not a multiple of 4", ErrMalformed, s.ID, len(v))
		}
		if len(v) == 0 {
			return nil // a listener with nothing pending: no allocation
		}
		s.Icons = make([]inspect.SocketID, len(v)/4)
		for i := range s.Icons {
			s.Icons[i] = inspect.SocketID(ne.Uint32(v[4*i:]))
		}
	case unixDiagRQLen:
		s.RecvQueue, s.SendQueue = ne.Uint32(v), ne.Uint32(v[4:])
		s.Known |= inspect.KnownQueues
	case unixDiagUID:
		s.UID = ne.Uint32(v)
		s.Known |= inspect.KnownUID
	}
	// MEMINFO and SHUTDOWN have no place in the model; newer attributes are
	// skipped.
	return nil
}

// setName decodes UNIX_DIAG_NAME, the sun_path bytes as bound. The kernel
// keeps a filesystem path with its terminating NUL (unix_mkname_bsd counts
// it), so the path ends at the first NUL. An abstract name starts with NUL
// and is exactly as long as the address given to bind(2): every byte after
// the first is part of the name, embedded and trailing NULs included. We
// keep them as they are, unlike /proc/net/unix, which shows each NUL as '@'
// and so cannot tell "\x00a\x00b" from "\x00a@b"; the exact name is the one
// a client must connect to.
func setName(s *inspect.Socket, v []byte, names names) {
	switch {
	case len(v) == 0:
		s.Path, s.Abstract = "", false
	case v[0] == 0:
		s.Path, s.Abstract = names.of(v, func() string { return "@" + string(v[1:]) }), true
	default:
		if i := bytes.IndexByte(v, 0); i >= 0 {
			v = v[:i]
		}
		s.Path, s.Abstract = names.of(v, func() string { return string(v) }), false
	}
}

// names holds one string for each socket name a dump gave: a listener's
// accepted connections carry its name, and the second dump of DumpUnix
// names the sockets of the first again, which at 50k sockets cost 3.2 MB
// of copies of 1.5 MB of names.
type names map[string]string

// of returns the name whose kernel bytes are v, made by mk the first time.
func (n names) of(v []byte, mk func() string) string {
	if n == nil {
		return mk()
	}
	if s, ok := n[string(v)]; ok {
		return s
	}
	s := mk()
	if s == string(v) {
		n[s] = s // a path: the key is the name, not a copy
	} else {
		n[string(v)] = s
	}
	return s
}

// diagState maps af_unix's sk_state to inspect's states.
func diagState(st uint8) inspect.State {
	switch st {
	case tcpEstablished:
		return inspect.StateConnected
	case tcpSynSent:
		return inspect.StateConnecting
	case tcpClose:
		return inspect.StateUnconnected
	case tcpListen:
		return inspect.StateListening
	}
	if st < unknownStateBase {
		return inspect.State(unknownStateBase + st)
	}
	return inspect.State(st)
}

// mkdev encodes a device number as glibc's makedev and x/sys/unix.Mkdev
// do, which is what stat(2) returns in st_dev.
func mkdev(major, minor uint32) uint64 {
	return uint64(major&0x00000fff)<<8 | uint64(major&0xfffff000)<<32 |
		uint64(minor&0x000000ff) | uint64(minor&0xffffff00)<<12
}

// dropDuplicates keeps the last report of each socket. A dump is not a
// snapshot: the kernel walks its hash table one datagram at a time and
// resumes by position, so a socket that moves buckets in between (bound,
// for one) can be reported twice, or not at all. A read of /proc/net/unix
// resumes the same way between read(2)s. Inode 0 is no identity: procfs
// shows every connection not yet accepted with it.
func dropDuplicates(socks []inspect.Socket) []inspect.Socket {
	return newSocketSet(socks).socks
}

// socketSet holds one report of each socket, the last: a later report
// replaces an earlier one in place, a new socket goes at the end.
type socketSet struct {
	socks []inspect.Socket
	at    map[inspect.SocketID]int
}

// newSocketSet makes a set of socks, in their storage.
func newSocketSet(socks []inspect.Socket) *socketSet {
	set := &socketSet{socks: socks[:0], at: make(map[inspect.SocketID]int, len(socks))}
	for _, s := range socks {
		set.add(s)
	}
	clear(socks[len(set.socks):])
	return set
}

func (set *socketSet) add(s inspect.Socket) {
	if i, ok := set.at[s.ID]; ok && s.ID != 0 {
		set.socks[i] = s
		return
	}
	set.at[s.ID] = len(set.socks)
	set.socks = append(set.socks, s)
}

func align4(n int) int { return (n + 3) &^ 3 }

func malformed(off int, format string, a ...any) error {
	return fmt.Errorf("netlink sock_diag offset %d: %w: %s", off, ErrMalformed, fmt.Sprintf(format, a...))
}
