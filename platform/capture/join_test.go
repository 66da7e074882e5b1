package capture

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/udsls/udsls/inspect"
)

func TestRowState(t *testing.T) {
	s, d := inspect.TypeStream, inspect.TypeDgram
	for _, tt := range []struct {
		name string
		row  NetstatRow
		want inspect.State
	}{
		{"listener", NetstatRow{Type: s, Vnode: 1, Path: "/l"}, inspect.StateListening},
		{"seqpacket listener", NetstatRow{Type: inspect.TypeSeqpacket, Vnode: 1, Path: "/l"}, inspect.StateListening},
		{"accepted", NetstatRow{Type: s, Conn: 2, Path: "/l"}, inspect.StateConnected},
		{"client", NetstatRow{Type: s, Conn: 2}, inspect.StateConnected},
		{"peer gone", NetstatRow{Type: s, Path: "/l"}, inspect.StateUnconnected},
		{"fresh", NetstatRow{Type: s}, inspect.StateUnconnected},
		{"bound dgram", NetstatRow{Type: d, Vnode: 1, Refs: 3, Path: "/d"}, inspect.StateUnconnected},
		{"dgram sender", NetstatRow{Type: d, Conn: 2}, inspect.StateConnected},
		{"so listening", NetstatRow{Type: s, HasSo: true, SoOptions: soAcceptConn}, inspect.StateListening},
		{"so bound only", NetstatRow{Type: s, Vnode: 1, HasSo: true}, inspect.StateUnconnected},
		{"so connecting", NetstatRow{Type: s, HasSo: true, SoState: ssIsConnecting}, inspect.StateConnecting},
		{"so connected", NetstatRow{Type: s, HasSo: true, SoState: ssIsConnected | 0x100}, inspect.StateConnected},
		{"so disconnecting", NetstatRow{Type: s, Conn: 2, HasSo: true, SoState: ssIsDisconnecting}, inspect.StateDisconnecting},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := rowState(&tt.row); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestUnjoinedLoop(t *testing.T) {
	d := inspect.TypeDgram
	rows := []NetstatRow{
		{Address: 1, Type: d, Vnode: 9, Refs: 2},
		{Address: 2, Type: d, Conn: 1, Nextref: 3},
		{Address: 3, Type: d, Conn: 1, Nextref: 2}, // loops back
		{Address: 4, Type: d, Vnode: 9, Refs: 5},   // 5 is not listed
		{Address: 6, Type: inspect.TypeStream, Conn: 7},
		{Address: 7, Type: inspect.TypeStream, Conn: 8}, // points elsewhere
	}
	if pairs, chains := unjoined(rows); pairs != 2 || chains != 2 {
		t.Errorf("unjoined = %d pairs, %d chains; want 2, 2", pairs, chains)
	}
	_, warnings := NetstatSockets(append(rows, rows[0]))
	want := []string{
		"netstat listed 1 socket twice; kept the first",
		"netstat: 2 connected sockets whose peer is missing or does not point back",
		"netstat: 2 datagram sockets whose reference list does not match its senders",
	}
	if diff := cmp.Diff(want, warnings); diff != "" {
		t.Errorf("warnings (-want +got)\n%s", diff)
	}
}

// joinLsof is a macOS `lsof -F` listing laid out as FORMATS.md §1.3
// derives it, made up to hold sockets of netstat-jc-osx-10.14.6.txt
// (no public capture pairs the two tools): syslog's receiver and one of
// its senders, a listener whose path has spaces held by a process and its
// child, Docker's accepted connection and its client, and a socket opened
// after netstat ran (its address "0x%08lx" prints 15 digits).
const joinLsof = "p1\nclaunchd\nu0\nLroot\n" +
	"f3\nau\nl \ntunix\nd0x7fb03cb93501c195\no0t0\nn/private//var/run/syslog\n" +
	"f4\nau\nl \ntunix\nd0x7fb03cb94a63c89d\no0t0\nn->0x7fb03cb93501c195\n" +
	"p4321\ncLANDesk Agent\nu0\nLroot\n" +
	"f5\nau\nl \ntunix\nd0x7fb03cb95130cbb5\no0t0\nn/Library/Application Support/LANDesk/tmp/socket/sys\n" +
	"p4322\ncLANDesk Agent\nu0\nLroot\n" +
	"f5\nau\nl \ntunix\nd0x7fb03cb95130cbb5\no0t0\nn/Library/Application Support/LANDesk/tmp/socket/sys\n" +
	"p501\ncDocker\nu501\nLkbrazil\n" +
	"f7\nau\nl \ntunix\nd0x7fb03cb94a63b065\no0t0\nn/Users/kbrazil/Library/Containers/com.docker.docker/Data/docker.raw.sock\n" +
	"f8\nau\nl \ntunix\nd0x7fb03cb94a63b2bd\no0t0\nn->0x7fb03cb94a63b065\n" +
	"f9\nau\nl \ntunix\nd0xfb03cb9aaaa0000\no0t0\nn->(none)\n"

func TestJoinMacOS(t *testing.T) {
	rows, err := ParseNetstat(bytes.NewReader(readCapture(t, "netstat-jc-osx-10.14.6.txt")))
	if err != nil {
		t.Fatal(err)
	}
	l, err := ParseLsof(strings.NewReader(nulTerminated(joinLsof)))
	if err != nil {
		t.Fatal(err)
	}
	socks, warnings := NetstatSockets(rows)
	snap := Join(socks, l)
	if len(warnings) != 0 || len(snap.Sockets) != len(rows)+1 {
		t.Fatalf("got %d sockets and warnings %q, want %d and none", len(snap.Sockets), warnings, len(rows)+1)
	}
	const (
		syslog   = 0x7fb03cb93501c195
		sender   = 0x7fb03cb94a63c89d
		landesk  = 0x7fb03cb95130cbb5
		accepted = 0x7fb03cb94a63b065
		client   = 0x7fb03cb94a63b2bd
		late     = 0xfb03cb9aaaa0000
		docker   = "/Users/kbrazil/Library/Containers/com.docker.docker/Data/docker.raw.sock"
	)
	known := inspect.KnownPeer | inspect.KnownQueues
	want := map[inspect.SocketID]inspect.Socket{
		syslog:   {ID: syslog, Path: "/private//var/run/syslog", Type: inspect.TypeDgram, State: inspect.StateUnconnected, Known: known},
		sender:   {ID: sender, Type: inspect.TypeDgram, State: inspect.StateConnected, Known: known, Peer: syslog},
		landesk:  {ID: landesk, Path: "/Library/Application Support/LANDesk/tmp/socket/sys", Type: inspect.TypeStream, State: inspect.StateListening, Known: inspect.KnownPeer},
		accepted: {ID: accepted, Path: docker, Type: inspect.TypeStream, State: inspect.StateConnected, Known: known, Peer: client},
		client:   {ID: client, Type: inspect.TypeStream, State: inspect.StateConnected, Known: known, Peer: accepted},
		late:     {ID: late, State: inspect.StateUnconnected, Known: inspect.KnownPeer},
	}
	got := map[inspect.SocketID]inspect.Socket{}
	for _, s := range snap.Sockets {
		if _, ok := want[s.ID]; ok {
			got[s.ID] = s
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("sockets (-want +got)\n%s", diff)
	}
	wantOwners := []inspect.Owner{
		{ID: syslog, PID: 1, FD: 3}, {ID: sender, PID: 1, FD: 4},
		{ID: landesk, PID: 4321, FD: 5}, {ID: landesk, PID: 4322, FD: 5},
		{ID: accepted, PID: 501, FD: 7}, {ID: client, PID: 501, FD: 8}, {ID: late, PID: 501, FD: 9},
	}
	if diff := cmp.Diff(wantOwners, snap.Owners); diff != "" {
		t.Errorf("owners (-want +got)\n%s", diff)
	}
	wantProcs := map[int]inspect.Process{
		1:    {PID: 1, Command: "launchd", User: "root"},
		4321: {PID: 4321, Command: "LANDesk Agent", User: "root"},
		4322: {PID: 4322, Command: "LANDesk Agent", User: "root"},
		501:  {PID: 501, Command: "Docker", UID: 501, User: "kbrazil"},
	}
	if diff := cmp.Diff(wantProcs, snap.Processes); diff != "" {
		t.Errorf("processes (-want +got)\n%s", diff)
	}

	// What inspect makes of it: the accepted connection hides behind its
	// listener, and the client's peer leads to Docker through the path.
	r := &inspect.Resolver{
		Process: func(context.Context, int) (inspect.Process, error) {
			return inspect.Process{}, errors.New("not this machine")
		},
		Lstat:     func(string) (*inspect.FileInfo, error) { return nil, fs.ErrNotExist },
		UserName:  func(uint32) string { return "" },
		GroupName: func(uint32) string { return "" },
	}
	entries := r.Entries(context.Background(), snap, inspect.Query{View: inspect.ViewAll, PIDs: []int{501, 4321}})
	var ids []inspect.SocketID
	for _, e := range entries {
		ids = append(ids, e.ID)
		switch e.ID {
		case client:
			if e.Remote == nil || e.Remote.Path != docker || len(e.Remote.Holders) != 1 || e.Remote.Holders[0].Command != "Docker" {
				t.Errorf("client's peer: %+v", e.Remote)
			}
		case landesk:
			if len(e.Holders) != 2 || e.Holders[1].PID != 4322 || e.Holders[1].Command != "LANDesk Agent" {
				t.Errorf("listener's holders: %+v", e.Holders)
			}
		}
	}
	if diff := cmp.Diff([]inspect.SocketID{late, client, landesk, accepted}, ids); diff != "" {
		t.Errorf("entries (-want +got)\n%s", diff)
	}
	def := r.Entries(context.Background(), snap, inspect.Query{PIDs: []int{501}})
	if len(def) != 0 {
		t.Errorf("default view shows %d of Docker's sockets, want none: its named one is an accepted connection", len(def))
	}
}

// TestJoinLsofOnly joins an lsof table with no netstat: one socket per
// DEVICE, every fd an owner, and only what NAME tells.
func TestJoinLsofOnly(t *testing.T) {
	l, err := ParseLsof(bytes.NewReader(readCapture(t, "lsof-aUc-launchd_sim-appium-ios-simulator-2023.txt")))
	if err != nil {
		t.Fatal(err)
	}
	snap := Join(nil, l)
	if len(snap.Owners) != 18 || len(snap.Sockets) != 13 {
		t.Errorf("got %d owners and %d sockets, want 18 and 13 (5 sockets are on two fds)", len(snap.Owners), len(snap.Sockets))
	}
	want := []inspect.Socket{
		{ID: 0x9461828ef425ac31, Path: "/private/tmp/com.apple.launchd.ULf9wKNtd5/com.apple.webinspectord_sim.socket"},
		{ID: 0x9461828ef425bc99, Path: "/tmp/com.apple.CoreSimulator.SimDevice.F1191A22-11DD-408E-8CAF-0BC4A8F79E3B/syslogsock"},
		{ID: 0x9461828ef27d4c39, Peer: 0x9461828ef27d4b71, Known: inspect.KnownPeer, State: inspect.StateConnected},
	}
	if diff := cmp.Diff(want, snap.Sockets[:3]); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
}
