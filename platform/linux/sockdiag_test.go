package linux

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/udsls/udsls/inspect"
)

// The helpers below write sock_diag messages the way net/unix/diag.c does,
// for malformed-input tests and generated benchmark dumps. Real dumps come
// from testdata/linux/sockdiag/.

type rtattr struct {
	typ uint16
	val []byte
}

func u32s(vs ...uint32) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.NativeEndian.AppendUint32(b, v)
	}
	return b
}

// appendNlmsg appends a netlink message with its length computed.
func appendNlmsg(b []byte, typ uint16, payload []byte) []byte {
	ne := binary.NativeEndian
	b = ne.AppendUint32(b, uint32(nlmsgHdrLen+len(payload)))
	b = ne.AppendUint16(b, typ)
	b = ne.AppendUint16(b, 2) // NLM_F_MULTI, as in a dump
	b = ne.AppendUint32(b, 1)
	b = ne.AppendUint32(b, 4242)
	b = append(b, payload...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

// diagPayload is a struct unix_diag_msg followed by attributes.
func diagPayload(typ, state uint8, ino uint32, attrs ...rtattr) []byte {
	b := []byte{afUnix, typ, state, 0}
	b = append(b, u32s(ino, 0xdead, 0xbeef)...)
	for _, a := range attrs {
		b = binary.NativeEndian.AppendUint16(b, uint16(rtaHdrLen+len(a.val)))
		b = binary.NativeEndian.AppendUint16(b, a.typ)
		b = append(b, a.val...)
		for len(b)%4 != 0 {
			b = append(b, 0)
		}
	}
	return b
}

func diagMsg(typ, state uint8, ino uint32, attrs ...rtattr) []byte {
	return appendNlmsg(nil, sockDiagByFamily, diagPayload(typ, state, ino, attrs...))
}

func doneMsg(errno int32) []byte {
	return appendNlmsg(nil, nlmsgDone, u32s(uint32(-errno)))
}

// appendDiagSocket encodes s as the kernel would report it; it inverts
// decodeUnixDiagMsg.
func appendDiagSocket(b []byte, s *inspect.Socket) []byte {
	var attrs []rtattr
	switch {
	case s.Abstract:
		attrs = append(attrs, rtattr{unixDiagName, append([]byte{0}, s.Path[1:]...)})
	case s.Path != "":
		attrs = append(attrs, rtattr{unixDiagName, append([]byte(s.Path), 0)})
	}
	if !s.Bound.IsZero() {
		attrs = append(attrs, rtattr{unixDiagVFS, u32s(uint32(s.Bound.Ino), kernelDev(s.Bound.Dev))})
	}
	if s.Peer != 0 {
		attrs = append(attrs, rtattr{unixDiagPeer, u32s(uint32(s.Peer))})
	}
	if s.State == inspect.StateListening || s.Icons != nil {
		var icons []byte
		for _, id := range s.Icons {
			icons = binary.NativeEndian.AppendUint32(icons, uint32(id))
		}
		attrs = append(attrs, rtattr{unixDiagIcons, icons})
	}
	if s.Known.Has(inspect.KnownQueues) {
		attrs = append(attrs, rtattr{unixDiagRQLen, u32s(s.RecvQueue, s.SendQueue)})
	}
	attrs = append(attrs, rtattr{unixDiagShutdown, []byte{0}})
	if s.Known.Has(inspect.KnownUID) {
		attrs = append(attrs, rtattr{unixDiagUID, u32s(s.UID)})
	}
	return append(b, appendNlmsg(nil, sockDiagByFamily, diagPayload(uint8(s.Type), kernelState(s.State), uint32(s.ID), attrs...))...)
}

// kernelDev inverts mkdev into the kernel's internal dev_t.
func kernelDev(dev uint64) uint32 {
	major := uint32(dev>>8&0xfff | dev>>32&^0xfff)
	minor := uint32(dev&0xff | dev>>12&^0xff)
	return major<<20 | minor&0xfffff
}

func kernelState(s inspect.State) uint8 {
	switch s {
	case inspect.StateConnected:
		return tcpEstablished
	case inspect.StateConnecting:
		return tcpSynSent
	case inspect.StateUnconnected:
		return tcpClose
	case inspect.StateListening:
		return tcpListen
	}
	// diagState offsets unknown states below unknownStateBase and passes
	// the others through: 102 is raw 102, since raw 2 is a known state.
	if s >= 2*unknownStateBase || diagState(uint8(s)-unknownStateBase) != s {
		return uint8(s)
	}
	return uint8(s) - unknownStateBase
}

const allKnown = inspect.KnownPeer | inspect.KnownQueues | inspect.KnownBound | inspect.KnownIcons | inspect.KnownUID

func TestDecodeUnixDiag(t *testing.T) {
	// major 8, minor 1 in the kernel's encoding, which lstat shows as 0x801.
	vfs := rtattr{unixDiagVFS, u32s(1234, 8<<20|1)}
	tests := []struct {
		name     string
		in       []byte
		want     []inspect.Socket
		wantDone bool
	}{
		{
			name: "listener with pending connections",
			in: slices.Concat(
				diagMsg(1, tcpListen, 10,
					rtattr{unixDiagName, []byte("/run/a.sock\x00")}, vfs,
					rtattr{unixDiagIcons, u32s(11, 12, 13)},
					rtattr{unixDiagRQLen, u32s(3, 5)},
					rtattr{unixDiagShutdown, []byte{0}},
					rtattr{unixDiagUID, u32s(1000)}),
				doneMsg(0)),
			want: []inspect.Socket{{
				ID: 10, Path: "/run/a.sock", Type: inspect.TypeStream, State: inspect.StateListening, Known: allKnown,
				RecvQueue: 3, SendQueue: 5, Bound: inspect.FileID{Dev: 0x801, Ino: 1234}, UID: 1000,
				Icons: []inspect.SocketID{11, 12, 13},
			}},
			wantDone: true,
		},
		{
			name: "idle listener has no icons slice",
			in:   diagMsg(5, tcpListen, 10, rtattr{unixDiagIcons, nil}, rtattr{unixDiagRQLen, u32s(0, 128)}),
			want: []inspect.Socket{{
				ID: 10, Type: inspect.TypeSeqpacket, State: inspect.StateListening,
				Known: allKnown &^ inspect.KnownUID, SendQueue: 128,
			}},
		},
		{
			name: "connected pair without uid attribute",
			in: slices.Concat(
				diagMsg(1, tcpEstablished, 20, rtattr{unixDiagPeer, u32s(21)}, rtattr{unixDiagRQLen, u32s(1000, 0)}),
				diagMsg(1, tcpEstablished, 21, rtattr{unixDiagPeer, u32s(20)}, rtattr{unixDiagRQLen, u32s(0, 1280)})),
			want: []inspect.Socket{
				{ID: 20, Type: inspect.TypeStream, State: inspect.StateConnected, Known: allKnown &^ inspect.KnownUID, Peer: 21, RecvQueue: 1000},
				{ID: 21, Type: inspect.TypeStream, State: inspect.StateConnected, Known: allKnown &^ inspect.KnownUID, Peer: 20, SendQueue: 1280},
			},
		},
		{
			name: "abstract name keeps embedded and trailing NULs",
			in:   diagMsg(2, tcpClose, 30, rtattr{unixDiagName, []byte("\x00a\x00b\x00")}),
			want: []inspect.Socket{{ID: 30, Path: "@a\x00b\x00", Abstract: true, Type: inspect.TypeDgram, State: inspect.StateUnconnected, Known: allKnown &^ (inspect.KnownUID | inspect.KnownQueues)}},
		},
		{
			name: "path bytes kept exactly",
			in:   diagMsg(2, tcpClose, 31, rtattr{unixDiagName, []byte("new\nline\x1b[31m\xff.sock\x00")}),
			want: []inspect.Socket{{ID: 31, Path: "new\nline\x1b[31m\xff.sock", Type: inspect.TypeDgram, State: inspect.StateUnconnected, Known: allKnown &^ (inspect.KnownUID | inspect.KnownQueues)}},
		},
		{
			name: "a later name replaces an abstract one",
			in:   diagMsg(2, tcpClose, 32, rtattr{unixDiagName, []byte("\x00x")}, rtattr{unixDiagName, []byte("y\x00")}),
			want: []inspect.Socket{{ID: 32, Path: "y", Type: inspect.TypeDgram, State: inspect.StateUnconnected, Known: allKnown &^ (inspect.KnownUID | inspect.KnownQueues)}},
		},
		{
			name: "unknown attributes and flag bits",
			in: diagMsg(1, tcpEstablished, 40,
				rtattr{42, []byte("future")},
				rtattr{unixDiagMeminfo, u32s(1, 2, 3, 4, 5, 6, 7, 8, 9)},
				rtattr{0x8000 | unixDiagPeer, u32s(41)}),
			want: []inspect.Socket{{ID: 40, Type: inspect.TypeStream, State: inspect.StateConnected, Known: allKnown &^ (inspect.KnownUID | inspect.KnownQueues), Peer: 41}},
		},
		{
			name: "longer attribute payloads are accepted",
			in:   diagMsg(1, tcpEstablished, 42, rtattr{unixDiagRQLen, u32s(7, 8, 9)}),
			want: []inspect.Socket{{ID: 42, Type: inspect.TypeStream, State: inspect.StateConnected, Known: allKnown &^ inspect.KnownUID, RecvQueue: 7, SendQueue: 8}},
		},
		{
			name: "unknown states keep their value",
			in:   slices.Concat(diagMsg(1, 3, 50), diagMsg(1, 200, 51), diagMsg(1, tcpSynSent, 52)),
			want: []inspect.Socket{
				{ID: 50, Type: inspect.TypeStream, State: 103, Known: allKnown &^ (inspect.KnownUID | inspect.KnownQueues)},
				{ID: 51, Type: inspect.TypeStream, State: 200, Known: allKnown &^ (inspect.KnownUID | inspect.KnownQueues)},
				{ID: 52, Type: inspect.TypeStream, State: inspect.StateConnecting, Known: allKnown &^ (inspect.KnownUID | inspect.KnownQueues)},
			},
		},
		{
			name: "noop and acknowledgement are skipped",
			in:   slices.Concat(appendNlmsg(nil, nlmsgNoop, nil), appendNlmsg(nil, nlmsgError, u32s(0, 0, 0, 0, 0)), diagMsg(1, tcpClose, 60)),
			want: []inspect.Socket{{ID: 60, Type: inspect.TypeStream, State: inspect.StateUnconnected, Known: allKnown &^ (inspect.KnownUID | inspect.KnownQueues)}},
		},
		{
			name:     "nothing after done is read",
			in:       slices.Concat(doneMsg(0), []byte("garbage")),
			wantDone: true,
		},
		{
			name:     "done without status",
			in:       appendNlmsg(nil, nlmsgDone, nil),
			wantDone: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, done, err := decodeUnixDiag(nil, tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("sockets (-want +got):\n%s", diff)
			}
			if done != tt.wantDone {
				t.Errorf("done = %v, want %v", done, tt.wantDone)
			}
		})
	}
}

func TestDecodeUnixDiagKernelError(t *testing.T) {
	tests := []struct {
		name     string
		in       []byte
		want     int32
		wantDone bool
	}{
		{"error reply (-ENOENT)", appendNlmsg(nil, nlmsgError, u32s(^uint32(1), 0, 0, 0, 0)), 2, false},
		{"dump failed midway", slices.Concat(diagMsg(1, tcpClose, 1), doneMsg(90)), 90, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, done, err := decodeUnixDiag(nil, tt.in)
			var ke *kernelError
			if !errors.As(err, &ke) {
				t.Fatalf("err = %v, want a *kernelError", err)
			}
			if ke.errno != tt.want || done != tt.wantDone {
				t.Errorf("errno %d, done %v; want %d, %v", ke.errno, done, tt.want, tt.wantDone)
			}
		})
	}
}

func TestDecodeUnixDiagMalformed(t *testing.T) {
	good := diagMsg(1, tcpClose, 7)
	// withLen overwrites a message's length field.
	withLen := func(b []byte, n uint32) []byte {
		b = slices.Clone(b)
		binary.NativeEndian.PutUint32(b, n)
		return b
	}
	// rawAttr builds a message whose attribute bytes are written as is.
	rawAttr := func(attr []byte) []byte {
		return appendNlmsg(nil, sockDiagByFamily, append(diagPayload(1, tcpClose, 7), attr...))
	}
	attrHdr := func(n, typ uint16) []byte {
		return binary.NativeEndian.AppendUint16(binary.NativeEndian.AppendUint16(nil, n), typ)
	}
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"short header", good[:10], "netlink sock_diag offset 0: malformed: 10 bytes left, short of a message header"},
		{"short header after a message", slices.Concat(good, good[:4]), "netlink sock_diag offset 32: malformed: 4 bytes left, short of a message header"},
		{"length below header", withLen(good, 8), "netlink sock_diag offset 0: malformed: message length 8 outside 16..32"},
		{"length beyond buffer", withLen(good, 64), "netlink sock_diag offset 0: malformed: message length 64 outside 16..32"},
		{"truncated unix_diag_msg", appendNlmsg(nil, sockDiagByFamily, []byte{afUnix, 1, 7, 0, 1, 2}), "netlink sock_diag offset 0: malformed: unix_diag_msg of 6 bytes, want 16"},
		{"wrong family", appendNlmsg(nil, sockDiagByFamily, append([]byte{2, 1, 7, 0}, u32s(7, 0, 0)...)), "netlink sock_diag offset 0: malformed: address family 2, want AF_UNIX"},
		{"attribute overruns message", rawAttr(slices.Concat(attrHdr(12, unixDiagPeer), u32s(1))), "netlink sock_diag offset 0: malformed: socket 7: attribute 2 of length 12 overruns the 8 bytes left"},
		{"attribute length below header", rawAttr(slices.Concat(attrHdr(2, unixDiagPeer), u32s(1))), "netlink sock_diag offset 0: malformed: socket 7: attribute 2 of length 2 overruns the 8 bytes left"},
		{"truncated vfs payload", rawAttr(slices.Concat(attrHdr(8, unixDiagVFS), u32s(1))), "netlink sock_diag offset 0: malformed: socket 7: attribute 1 has 4 bytes, want 8"},
		{"truncated peer payload", rawAttr(slices.Concat(attrHdr(6, unixDiagPeer), u32s(1))), "netlink sock_diag offset 0: malformed: socket 7: attribute 2 has 2 bytes, want 4"},
		{"truncated rqlen payload", rawAttr(slices.Concat(attrHdr(8, unixDiagRQLen), u32s(1))), "netlink sock_diag offset 0: malformed: socket 7: attribute 4 has 4 bytes, want 8"},
		{"empty uid payload", rawAttr(attrHdr(4, unixDiagUID)), "netlink sock_diag offset 0: malformed: socket 7: attribute 7 has 0 bytes, want 4"},
		{"icons not whole inodes", rawAttr(slices.Concat(attrHdr(10, unixDiagIcons), u32s(1, 2))), "netlink sock_diag offset 0: malformed: socket 7: icons attribute of 6 bytes, not a multiple of 4"},
		{"stray bytes after attributes", rawAttr([]byte{1, 0}), "netlink sock_diag offset 0: malformed: socket 7: 2 stray bytes after the attributes"},
		{"short error reply", appendNlmsg(nil, nlmsgError, []byte{1, 2}), "netlink sock_diag offset 0: malformed: error message of 2 bytes"},
		{"overrun", appendNlmsg(nil, nlmsgOverrun, nil), "netlink sock_diag offset 0: malformed: kernel reported overrun"},
		{"unexpected message type", appendNlmsg(nil, 16, nil), "netlink sock_diag offset 0: malformed: unexpected message type 16"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := decodeUnixDiag(nil, tt.in)
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("err = %v, want one wrapping ErrMalformed", err)
			}
			if err.Error() != tt.want {
				t.Errorf("err = %q\nwant  %q", err, tt.want)
			}
		})
	}
}

func TestAppendUnixDiagRequest(t *testing.T) {
	// The layout of struct nlmsghdr and struct unix_diag_req, field by field.
	want := slices.Concat(
		u32s(40), binary.NativeEndian.AppendUint16(nil, sockDiagByFamily),
		binary.NativeEndian.AppendUint16(nil, 0x301), u32s(9, 0),
		[]byte{afUnix, 0, 0, 0}, u32s(0xffffffff, 0, diagShow, 0xffffffff, 0xffffffff))
	if diff := cmp.Diff(want, appendUnixDiagRequest(nil, 9, diagShow)); diff != "" {
		t.Errorf("request (-want +got):\n%s", diff)
	}
}

// capture is a dump recorded by TestCaptureSockDiag together with what the
// capturing test made, as learned from the syscalls that made it.
type capture struct {
	name     string
	dump     []byte
	manifest captureManifest
}

// captureManifest is the JSON beside each dump.
type captureManifest struct {
	Kernel  string           `json:"kernel"`
	Arch    string           `json:"arch"`
	Sockets []manifestSocket `json:"sockets"`
}

// manifestSocket is one socket the capture made and what the kernel must
// say of it. Path is bytes so that JSON keeps invalid UTF-8.
type manifestSocket struct {
	Role      string   `json:"role"`
	ID        uint64   `json:"id"`
	Path      []byte   `json:"path,omitempty"`
	Abstract  bool     `json:"abstract,omitempty"`
	Type      uint8    `json:"type"`
	State     uint8    `json:"state"`
	Peer      uint64   `json:"peer,omitempty"`
	RecvQueue uint32   `json:"recv_queue"`
	SendQueue *uint32  `json:"send_queue"` // null: bytes in flight, counted by skb size
	Dev       uint64   `json:"dev,omitempty"`
	Ino       uint64   `json:"ino,omitempty"`
	UID       uint32   `json:"uid"`
	Icons     []uint64 `json:"icons,omitempty"`
}

func (m *manifestSocket) socket() inspect.Socket {
	s := inspect.Socket{
		ID: inspect.SocketID(m.ID), Path: string(m.Path), Abstract: m.Abstract,
		Type: inspect.Type(m.Type), State: inspect.State(m.State), Known: allKnown,
		Peer: inspect.SocketID(m.Peer), RecvQueue: m.RecvQueue,
		Bound: inspect.FileID{Dev: m.Dev, Ino: m.Ino}, UID: m.UID,
	}
	if m.SendQueue != nil {
		s.SendQueue = *m.SendQueue
	}
	for _, id := range m.Icons {
		s.Icons = append(s.Icons, inspect.SocketID(id))
	}
	return s
}

const captureDir = "../../testdata/linux/sockdiag"

func readCaptures(t testing.TB) []capture {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(captureDir, "*.bin"))
	if err != nil || len(names) == 0 {
		t.Fatalf("no captures in %s (%v)", captureDir, err)
	}
	var cs []capture
	for _, name := range names {
		c := capture{name: filepath.Base(name)}
		if c.dump, err = os.ReadFile(name); err != nil {
			t.Fatal(err)
		}
		m, err := os.ReadFile(strings.TrimSuffix(name, ".bin") + ".json")
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(m, &c.manifest); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		cs = append(cs, c)
	}
	return cs
}

// littleEndian reports whether this machine reads the captures, which hold
// x86_64 (little-endian) netlink bytes, as the kernel wrote them.
func littleEndian() bool { return binary.NativeEndian.Uint16([]byte{1, 0}) == 1 }

func TestDecodeUnixDiagCaptures(t *testing.T) {
	if !littleEndian() {
		t.Skip("the captures are little-endian netlink bytes; this machine is big-endian")
	}
	for _, c := range readCaptures(t) {
		t.Run(c.name, func(t *testing.T) {
			got, done, err := decodeUnixDiag(nil, c.dump)
			if err != nil {
				t.Fatal(err)
			}
			if !done {
				t.Error("dump does not end with NLMSG_DONE")
			}
			byID := map[inspect.SocketID]inspect.Socket{}
			for _, s := range got {
				byID[s.ID] = s
			}
			if len(byID) != len(c.manifest.Sockets) {
				t.Errorf("decoded %d sockets, the capture made %d", len(byID), len(c.manifest.Sockets))
			}
			for _, m := range c.manifest.Sockets {
				want := m.socket()
				g := byID[want.ID]
				if m.SendQueue == nil {
					want.SendQueue = g.SendQueue
				}
				// The kernel marks the end a datagram socket connected to
				// ESTABLISHED; without a peer the decoder says unconnected.
				if want.Type == inspect.TypeDgram && want.State == inspect.StateConnected && want.Peer == 0 {
					want.State = inspect.StateUnconnected
				}
				if diff := cmp.Diff(want, g); diff != "" {
					t.Errorf("%s (-want +got):\n%s", m.Role, diff)
				}
			}
		})
	}
}

// TestDiagDump decodes a dump of several datagrams the way DumpUnix does.
// It also checks the test encoder against the decoder, since the
// benchmarks and the fuzz property rely on it.
func TestDiagDump(t *testing.T) {
	socks := generateSockets(1000)
	dgrams := generateDump(socks)
	if len(dgrams) < 2 {
		t.Fatalf("%d datagrams, want several", len(dgrams))
	}
	var d diagDump
	for i, b := range dgrams {
		done, err := d.add(b)
		if err != nil {
			t.Fatal(err)
		}
		if last := i == len(dgrams)-1; done != last {
			t.Errorf("datagram %d: done %v", i, done)
		}
	}
	got, err := d.sockets()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(socks, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if cap(got) != len(socks) {
		t.Errorf("capacity %d for %d sockets", cap(got), len(socks))
	}

	var bad diagDump
	if _, err := bad.add(dgrams[0][:10]); !errors.Is(err, ErrMalformed) {
		t.Errorf("cut datagram: err = %v, want ErrMalformed", err)
	}
}

// generateSockets makes n sockets in the proportions of a busy desktop:
// mostly unnamed connected pairs, some named listeners with their accepted
// connections, some datagram sockets.
func generateSockets(n int) []inspect.Socket {
	socks := make([]inspect.Socket, n)
	for i := range socks {
		id := inspect.SocketID(100000 + i)
		s := inspect.Socket{ID: id, Type: inspect.TypeStream, State: inspect.StateConnected, Known: allKnown, UID: uint32(i % 3 * 1000)}
		switch i % 10 {
		case 0:
			s.State, s.SendQueue = inspect.StateListening, 4096
			s.Path = "/run/user/1000/service-" + strconv.Itoa(i) + ".sock"
			s.Bound = inspect.FileID{Dev: 0x19, Ino: uint64(5000 + i)}
			if i%30 == 0 {
				s.RecvQueue, s.Icons = 2, []inspect.SocketID{id + 1, id + 2}
			}
		case 1:
			s.Path = "@dbus-" + strconv.Itoa(i)
			s.Abstract = true
			s.Peer = id + 1
		case 2:
			s.Type, s.State = inspect.TypeDgram, inspect.StateUnconnected
			s.Path = "/run/systemd/journal/socket"
			s.Bound = inspect.FileID{Dev: 0x19, Ino: 42}
			s.RecvQueue = 512
		default:
			if i%2 == 0 {
				s.Peer = id + 1
			} else {
				s.Peer = id - 1
			}
		}
		socks[i] = s
	}
	return socks
}

// generateDump encodes socks into datagrams of at most 32 KiB, as the
// kernel sends them, the last one ending with NLMSG_DONE.
func generateDump(socks []inspect.Socket) [][]byte {
	var dgrams [][]byte
	var b []byte
	for i := range socks {
		m := appendDiagSocket(nil, &socks[i])
		if len(b)+len(m) > diagMaxDatagram {
			dgrams, b = append(dgrams, b), nil
		}
		b = append(b, m...)
	}
	return append(dgrams, append(b, doneMsg(0)...))
}

const diagMaxDatagram = 32 << 10

func BenchmarkDecodeUnixDiag10k(b *testing.B) {
	dump := generateDump(generateSockets(10000))
	size := 0
	for _, d := range dump {
		size += len(d)
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		// As DumpUnix does it.
		var d diagDump
		for _, dgram := range dump {
			if _, err := d.add(dgram); err != nil {
				b.Fatal(err)
			}
		}
		socks, err := d.sockets()
		if err != nil {
			b.Fatal(err)
		}
		if len(socks) != 10000 {
			b.Fatalf("decoded %d sockets", len(socks))
		}
	}
}

func FuzzDecodeUnixDiag(f *testing.F) {
	if littleEndian() {
		for _, c := range readCaptures(f) {
			f.Add(c.dump)
		}
	}
	socks := generateSockets(40)
	f.Add(generateDump(socks)[0])
	f.Add(diagMsg(1, tcpListen, 1, rtattr{unixDiagIcons, u32s(2, 3)}))
	f.Add(diagMsg(2, tcpClose, 1, rtattr{unixDiagName, []byte("\x00a\x00")}))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, _, err := decodeUnixDiag(nil, b)
		var ke *kernelError
		if err != nil && !errors.Is(err, ErrMalformed) && !errors.As(err, &ke) {
			t.Fatalf("error %v wraps neither ErrMalformed nor *kernelError", err)
		}
		for i := range got {
			s := &got[i]
			if s.Abstract && !strings.HasPrefix(s.Path, "@") {
				t.Fatalf("abstract socket %d named %q", s.ID, s.Path)
			}
			if !s.Abstract && strings.IndexByte(s.Path, 0) >= 0 {
				t.Fatalf("filesystem path %q holds a NUL", s.Path)
			}
			if s.Icons != nil && len(s.Icons) == 0 {
				t.Fatalf("socket %d has an empty icons slice", s.ID)
			}
		}
		if err != nil {
			return
		}
		// What decodes must encode back to the same sockets.
		var re []byte
		for i := range got {
			re = appendDiagSocket(re, &got[i])
		}
		again, _, err := decodeUnixDiag(nil, re)
		if err != nil {
			t.Fatalf("re-encoded dump: %v", err)
		}
		if diff := cmp.Diff(got, again); diff != "" {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
	})
}

func TestDropDuplicates(t *testing.T) {
	in := []inspect.Socket{{ID: 1}, {ID: 2, RecvQueue: 1}, {ID: 0, Path: "a"}, {ID: 3}, {ID: 2, RecvQueue: 2}, {ID: 0, Path: "a"}, {ID: 1, Path: "later"}}
	want := []inspect.Socket{{ID: 1, Path: "later"}, {ID: 2, RecvQueue: 2}, {ID: 0, Path: "a"}, {ID: 3}, {ID: 0, Path: "a"}}
	if diff := cmp.Diff(want, dropDuplicates(in)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestUnixInUse reads the AF_UNIX socket count DumpUnix sizes its first
// dump by, and refuses a file it does not know.
func TestUnixInUse(t *testing.T) {
	const header = "protocol  size sockets  memory press maxhdr  slab module     cl co di ac io in de sh ss gs se re bi br ha uh gp em\n"
	tests := []struct {
		name string
		data string
		n    int
		ok   bool
	}{
		{"both lines", header +
			"PACKET    1600      0      -1   NI       0   no   kernel      n  n  n  n  n  n  n  n  n  n  n  n  n  n  n  n  n  n\n" +
			"UNIX-STREAM 1152  50810      -1   NI       0   yes  kernel      y  n  n  n  n  n  n  n  n  n  n  n  n  n  n  n  n  n\n" +
			"UNIX      1152     21      -1   NI       0   yes  kernel      y  n  n  n  n  n  n  n  n  n  n  n  n  n  n  n  n  n\n", 50831, true},
		{"no unix", header + "PACKET    1600      0      -1   NI       0   no   kernel      n  n\n", 0, false},
		{"unknown header", "proto size count\nUNIX 1152 21\n", 0, false},
		{"bad count", header + "UNIX      1152     x1      -1   NI\n", 0, false},
		{"absurd count", header + "UNIX      1152     99999999999      -1   NI\n", 0, false},
		{"empty", "", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if n, ok := unixInUse([]byte(tt.data)); n != tt.n && tt.ok || ok != tt.ok {
				t.Errorf("unixInUse = %d, %v; want %d, %v", n, ok, tt.n, tt.ok)
			}
		})
	}
}
