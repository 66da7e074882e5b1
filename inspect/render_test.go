package inspect

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestWriteJSON(t *testing.T) {
	snap := testSnapshot()
	snap.Sockets = append(snap.Sockets, Socket{ID: 60, Path: "/tmp/bad\xffname\n.sock", Type: TypeDgram, State: StateUnconnected})
	r := fakeResolver(testProcs(), testFiles())
	es := r.Entries(context.Background(), snap, Query{View: ViewAll})
	var buf bytes.Buffer
	if err := WriteJSON(&buf, es, nil); err != nil {
		t.Fatal(err)
	}
	var doc ListingJSON
	dec := json.NewDecoder(&buf)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("output does not decode into ListingJSON: %v", err)
	}
	if doc.Warnings == nil || len(doc.Sockets) != len(es) {
		t.Fatalf("warnings %v, %d sockets; want [] and %d", doc.Warnings, len(doc.Sockets), len(es))
	}
	by := map[SocketID]SocketJSON{}
	for _, s := range doc.Sockets {
		by[s.Inode] = s
	}
	u32 := func(v uint32) *uint32 { return &v }
	st := func(v FileStatus) *FileStatus { return &v }
	zero := uint32(0)
	want := SocketJSON{
		Path: "/run/app.sock", Type: TypeStream, State: StateListening, Inode: 10,
		Processes: []ProcessJSON{
			{PID: 100, Command: "appd", User: "root", UID: &zero, FD: 3},
			{PID: 101, Command: "appd", User: "root", UID: &zero, FD: 3},
		},
		File:        &FileJSON{Mode: "0660", UID: 0, GID: 100, Owner: "root", Group: "users"},
		FileStatus:  st(FileOK),
		Connections: func() *int { n := 1; return &n }(),
		Pending:     u32(0), Backlog: u32(128),
	}
	if diff := cmp.Diff(want, by[10]); diff != "" {
		t.Errorf("listener (-want +got):\n%s", diff)
	}
	if got := by[12]; got.PeerInode != 11 || got.Peer == nil || got.Peer.Path != "/run/app.sock" || *got.RecvQueue != 7 || got.Pending != nil {
		t.Errorf("client = %+v", got)
	}
	bad := by[60]
	if string(bad.PathBytes) != "/tmp/bad\xffname\n.sock" || bad.RecvQueue != nil || bad.FileStatus == nil || *bad.FileStatus != FileGone {
		t.Errorf("invalid UTF-8 path: %+v", bad)
	}
}

func TestWriteTableEscapes(t *testing.T) {
	hostile := []string{
		"/tmp/new\nline.sock", "/tmp/\x1b[2J\x1b[31mred.sock", "/tmp/\x1b]0;title\x07.sock",
		"/tmp/\u202ekcos.exe", "/tmp/zw\u200bj.sock", "/tmp/\xff\xfe.sock", "@abs\x00nul",
	}
	snap := &Snapshot{}
	for i, p := range hostile {
		snap.Sockets = append(snap.Sockets, Socket{ID: SocketID(i + 1), Path: p, Abstract: p[0] == '@', Type: TypeStream, State: StateListening})
	}
	snap.Owners = []Owner{{ID: 1, PID: 9, FD: 3}}
	procs := map[int]Process{9: {PID: 9, Command: "evil\x1b[0m\ncmd", UID: 0}}
	var buf bytes.Buffer
	r := fakeResolver(procs, nil)
	if err := WriteTable(&buf, r.Entries(context.Background(), snap, Query{}), TableOptions{}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) != len(hostile)+1 {
		t.Errorf("%d lines for %d sockets plus a header:\n%s", len(lines), len(hostile), out)
	}
	for _, l := range lines {
		if strings.HasSuffix(l, " ") {
			t.Errorf("line ends in padding: %q", l)
		}
	}
	for _, c := range out {
		if (c < 0x20 && c != '\n') || c == 0x7f || hidden(c) || c == 0xfffd {
			t.Errorf("table holds %U:\n%q", c, out)
		}
	}
	for _, want := range []string{`/tmp/new\nline.sock`, `/tmp/\x1b[2J\x1b[31mred.sock`, `\u202e`, `\u200b`, `\xff\xfe`, `@abs\x00nul`, `9/evil\x1b[0m\ncmd`} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %s:\n%s", want, out)
		}
	}
}

// TestWriteTableUnknownConnections: where the source cannot count a
// listener's or datagram socket's connections, CONNS says "-", not 0.
func TestWriteTableUnknownConnections(t *testing.T) {
	es := []Entry{
		{Socket: Socket{ID: 1, Path: "/run/known.sock", Type: TypeStream, State: StateListening}, Connections: 2},
		{Socket: Socket{ID: 2, Path: "/run/guess.sock", Type: TypeStream, State: StateListening}, ConnectionsUnknown: true},
		{Socket: Socket{ID: 3, Path: "/run/dgram.sock", Type: TypeDgram, State: StateUnconnected}, ConnectionsUnknown: true},
	}
	var buf bytes.Buffer
	if err := WriteTable(&buf, es, TableOptions{}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(buf.String(), "\n"), "\n")
	conns := strings.Index(lines[0], "CONNS")
	if conns < 0 || len(lines) != 4 {
		t.Fatalf("table:\n%s", buf.String())
	}
	for i, want := range []string{"2", "-", "-"} {
		if got := strings.Fields(lines[i+1][conns:])[0]; got != want {
			t.Errorf("row %d: CONNS %q, want %q\n%s", i+1, got, want, buf.String())
		}
	}
}
