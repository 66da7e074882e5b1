package inspect

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fakeResolver answers from literal tables instead of the system.
func fakeResolver(procs map[int]Process, files map[string]*FileInfo) *Resolver {
	return &Resolver{
		Process: func(_ context.Context, pid int) (Process, error) {
			p, ok := procs[pid]
			if !ok {
				return Process{}, fs.ErrNotExist
			}
			return p, nil
		},
		Lstat: func(path string) (*FileInfo, error) {
			fi, ok := files[path]
			if !ok {
				return nil, fs.ErrNotExist
			}
			c := *fi
			return &c, nil
		},
		UserName:  func(uid uint32) string { return map[uint32]string{0: "root", 1000: "alice"}[uid] },
		GroupName: func(gid uint32) string { return map[uint32]string{0: "root", 100: "users"}[gid] },
		ProcRoot:  "/proc",
	}
}

const diag = KnownPeer | KnownQueues | KnownBound

func testSnapshot() *Snapshot {
	return &Snapshot{
		Sockets: []Socket{
			// A listener with one accepted connection from a client.
			{ID: 10, Path: "/run/app.sock", Type: TypeStream, State: StateListening, Known: diag, Bound: FileID{1, 500}, RecvQueue: 0, SendQueue: 128},
			{ID: 11, Path: "/run/app.sock", Type: TypeStream, State: StateConnected, Known: diag, Bound: FileID{1, 500}, Peer: 12},
			{ID: 12, Type: TypeStream, State: StateConnected, Known: diag, Peer: 11, RecvQueue: 7},
			// A listener whose file was deleted.
			{ID: 20, Path: "/run/gone.sock", Type: TypeStream, State: StateListening, Known: diag, Bound: FileID{1, 600}},
			// A listener whose path now names another socket.
			{ID: 30, Path: "/run/replaced.sock", Type: TypeSeqpacket, State: StateListening, Known: diag, Bound: FileID{1, 700}, RecvQueue: 6, SendQueue: 5},
			// A bound datagram socket with one connected sender.
			{ID: 40, Path: "@abstract-dgram", Abstract: true, Type: TypeDgram, State: StateUnconnected, Known: diag},
			{ID: 41, Type: TypeDgram, State: StateConnected, Known: diag, Peer: 40},
			// A socketpair.
			{ID: 50, Type: TypeStream, State: StateConnected, Known: diag, Peer: 51},
			{ID: 51, Type: TypeStream, State: StateConnected, Known: diag, Peer: 50},
		},
		Owners: []Owner{
			{ID: 10, PID: 100, FD: 3}, {ID: 11, PID: 100, FD: 4}, {ID: 12, PID: 200, FD: 5},
			{ID: 20, PID: 100, FD: 6}, {ID: 30, PID: 300, FD: 3}, {ID: 40, PID: 100, FD: 7},
			{ID: 41, PID: 200, FD: 6}, {ID: 50, PID: 300, FD: 8}, {ID: 51, PID: 301, FD: 9},
			// The listener is shared with a forked child.
			{ID: 10, PID: 101, FD: 3},
		},
	}
}

func testFiles() map[string]*FileInfo {
	return map[string]*FileInfo{
		"/run/app.sock":      {ID: FileID{1, 500}, Mode: fs.ModeSocket | 0o660, UID: 0, GID: 100},
		"/run/replaced.sock": {ID: FileID{1, 701}, Mode: fs.ModeSocket | 0o600, UID: 1000, GID: 1000},
	}
}

func testProcs() map[int]Process {
	return map[int]Process{
		100: {PID: 100, Command: "appd", UID: 0},
		101: {PID: 101, Command: "appd", UID: 0},
		200: {PID: 200, Command: "curl", UID: 1000},
		300: {PID: 300, Command: "seqd", UID: 1000},
		// 301 exited before it could be read.
	}
}

func TestEntriesViews(t *testing.T) {
	ids := func(es []Entry) []SocketID {
		var out []SocketID
		for _, e := range es {
			out = append(out, e.ID)
		}
		return out
	}
	tests := []struct {
		name string
		q    Query
		want []SocketID
	}{
		// Sorted by path: unnamed first, then "/..." and "@...".
		{"default", Query{}, []SocketID{10, 20, 30, 40}},
		{"all", Query{View: ViewAll}, []SocketID{12, 41, 50, 51, 10, 11, 20, 30, 40}},
		{"listening", Query{View: ViewListening}, []SocketID{10, 20, 30}},
		{"glob", Query{Patterns: []string{"/run/*"}}, []SocketID{10, 20, 30}},
		{"basename glob", Query{Patterns: []string{"app.*"}}, []SocketID{10}},
		{"abstract glob", Query{Patterns: []string{"@abstract-*"}}, []SocketID{40}},
		{"pid", Query{View: ViewAll, PIDs: []int{200}}, []SocketID{12, 41}},
		{"shared holder pid", Query{PIDs: []int{101}}, []SocketID{10}},
		{"user name", Query{Users: []string{"alice"}}, []SocketID{30}},
		{"user uid", Query{View: ViewAll, Users: []string{"1000"}}, []SocketID{12, 41, 50, 30}},
		{"type", Query{Types: []Type{TypeSeqpacket, TypeDgram}}, []SocketID{30, 40}},
		{"no match", Query{Patterns: []string{"/nope"}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := fakeResolver(testProcs(), testFiles())
			got := ids(r.Entries(context.Background(), testSnapshot(), tt.q))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ids (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEntriesJoin(t *testing.T) {
	r := fakeResolver(testProcs(), testFiles())
	es := r.Entries(context.Background(), testSnapshot(), Query{View: ViewAll, Clients: true})
	byID := map[SocketID]Entry{}
	for _, e := range es {
		byID[e.ID] = e
	}

	app := byID[10]
	wantHolders := []Holder{
		{PID: 100, FD: 3, Command: "appd", User: "root", UID: 0, Known: true},
		{PID: 101, FD: 3, Command: "appd", User: "root", UID: 0, Known: true},
	}
	if diff := cmp.Diff(wantHolders, app.Holders); diff != "" {
		t.Errorf("holders (-want +got):\n%s", diff)
	}
	if app.Connections != 1 || app.FileStatus != FileOK {
		t.Errorf("app: connections %d, status %q; want 1, ok", app.Connections, app.FileStatus)
	}
	wantFile := &FileInfo{ID: FileID{1, 500}, Mode: fs.ModeSocket | 0o660, UID: 0, GID: 100, Owner: "root", Group: "users"}
	if diff := cmp.Diff(wantFile, app.File); diff != "" {
		t.Errorf("file (-want +got):\n%s", diff)
	}
	wantClients := []Peer{{ID: 12, Holders: []Holder{{PID: 200, FD: 5, Command: "curl", User: "alice", UID: 1000, Known: true}}}}
	if diff := cmp.Diff(wantClients, app.Clients); diff != "" {
		t.Errorf("clients (-want +got):\n%s", diff)
	}

	if got := byID[20].FileStatus; got != FileGone {
		t.Errorf("deleted file: status %q, want gone", got)
	}
	rep := byID[30]
	if rep.FileStatus != FileReplaced || !rep.Full() {
		t.Errorf("replaced: status %q full %v; want replaced, full", rep.FileStatus, rep.Full())
	}
	if got := byID[40]; got.Connections != 1 || got.FileStatus != FileNone || got.File != nil {
		t.Errorf("dgram: connections %d status %q file %v; want 1, none, nil", got.Connections, got.FileStatus, got.File)
	}
	client := byID[12]
	if client.Remote == nil || client.Remote.ID != 11 || client.Remote.Path != "/run/app.sock" || len(client.Remote.Holders) != 1 {
		t.Errorf("client's peer = %+v, want the accepted end 11 held by pid 100", client.Remote)
	}
	pair := byID[50]
	if pair.Remote == nil || pair.Remote.ID != 51 || pair.Remote.Holders[0].Known {
		t.Errorf("pair's peer = %+v, want 51 with an unknown (exited) holder", pair.Remote)
	}
}

func TestEntriesProcfsFallback(t *testing.T) {
	// Without bound identities, accepted connections are tied to their
	// listener by name, and any socket file at the path counts as ok.
	snap := &Snapshot{Sockets: []Socket{
		{ID: 1, Path: "/run/a.sock", Type: TypeStream, State: StateListening},
		{ID: 2, Path: "/run/a.sock", Type: TypeStream, State: StateConnected},
		// Two connections the listener has not accepted yet.
		{ID: 0, Path: "/run/a.sock", Type: TypeStream, State: StateConnecting},
		{ID: 0, Path: "/run/a.sock", Type: TypeStream, State: StateConnecting},
		{ID: 3, Path: "rel.sock", Type: TypeStream, State: StateListening},
	}}
	r := fakeResolver(nil, map[string]*FileInfo{"/run/a.sock": {ID: FileID{9, 9}, Mode: fs.ModeSocket | 0o600}})
	es := r.Entries(context.Background(), snap, Query{})
	if len(es) != 2 || es[0].ID != 1 || es[0].Connections != 1 || es[0].FileStatus != FileOK {
		t.Fatalf("entries = %+v", es)
	}
	if es[1].FileStatus != FileRelative {
		t.Errorf("relative path: status %q, want relative", es[1].FileStatus)
	}
}

func TestEntriesUnreadablePath(t *testing.T) {
	snap := &Snapshot{Sockets: []Socket{{ID: 1, Path: "/secret/a.sock", Type: TypeStream, State: StateListening}}}
	r := fakeResolver(nil, nil)
	r.Lstat = func(string) (*FileInfo, error) { return nil, fs.ErrPermission }
	es := r.Entries(context.Background(), snap, Query{})
	if len(es) != 1 || es[0].FileStatus != FileUnknown {
		t.Fatalf("entries = %+v, want one with status unknown", es)
	}
}

func TestCaptureResolverLooksNothingUp(t *testing.T) {
	snap := testSnapshot()
	snap.Processes = map[int]Process{100: {PID: 100, Command: "appd", UID: 0, User: "root"}}
	es := NewCaptureResolver().Entries(context.Background(), snap, Query{Patterns: []string{"/run/app.sock"}})
	if len(es) != 1 {
		t.Fatalf("%d entries, want 1", len(es))
	}
	e := es[0]
	if e.File != nil || e.FileStatus != FileNone {
		t.Errorf("capture entry examined a local file: %+v %q", e.File, e.FileStatus)
	}
	want := []Holder{{PID: 100, FD: 3, Command: "appd", User: "root", Known: true}, {PID: 101, FD: 3}}
	if diff := cmp.Diff(want, e.Holders); diff != "" {
		t.Errorf("holders (-want +got):\n%s", diff)
	}
}

func TestComparePaths(t *testing.T) {
	sorted := []string{"", "/run/a.sock", "/run/set-2.sock", "/run/set-02.sock", "/run/set-10.sock", "/run/set-100", "/run/set-100.sock", "/run/setx", "@abstract"}
	for i := range sorted {
		for j := range sorted {
			got := ComparePaths(sorted[i], sorted[j])
			if (i < j && got >= 0) || (i > j && got <= 0) || (i == j && got != 0) {
				t.Errorf("ComparePaths(%q, %q) = %d, want the sign of %d", sorted[i], sorted[j], got, i-j)
			}
		}
	}
}

func TestBoundInodeTruncatedByKernel(t *testing.T) {
	// unix_diag_vfs reports only the low 32 bits of the inode: a file with
	// a larger inode number must still count as the socket's own.
	big := FileID{Dev: 7, Ino: 1<<32 | 42}
	snap := &Snapshot{Sockets: []Socket{{ID: 1, Path: "/big/a.sock", Type: TypeStream, State: StateListening, Known: KnownBound, Bound: FileID{Dev: 7, Ino: 42}}}}
	r := fakeResolver(nil, map[string]*FileInfo{"/big/a.sock": {ID: big, Mode: fs.ModeSocket | 0o600}})
	es := r.Entries(context.Background(), snap, Query{})
	if len(es) != 1 || es[0].FileStatus != FileOK {
		t.Fatalf("entries = %+v, want one with status ok", es)
	}
}

// TestEntriesConnectionIdentity: connections and clients belong to a
// listener by name and network namespace, or by the bound file; where
// procfs ties them by a name several listeners may own, the count is
// unknown, not a guess; its inode-0 sockets waiting to be accepted are
// never rows.
func TestEntriesConnectionIdentity(t *testing.T) {
	ns := func(s Socket, netns uint64) Socket {
		s.Netns, s.Known = netns, s.Known|KnownNetns
		return s
	}
	const nl = KnownPeer | KnownQueues
	var socks []Socket
	id := SocketID(100)
	// One abstract name in three namespaces with 1, 2 and 3 clients.
	for k, netns := range []uint64{7001, 7002, 7003} {
		id++
		socks = append(socks, ns(Socket{ID: id, Path: "@same", Abstract: true, Type: TypeStream, State: StateListening, Known: nl}, netns))
		for range k + 1 {
			acc, cli := id+1, id+2
			id += 2
			socks = append(socks,
				ns(Socket{ID: acc, Path: "@same", Abstract: true, Type: TypeStream, State: StateConnected, Known: nl, Peer: cli}, netns),
				ns(Socket{ID: cli, Type: TypeStream, State: StateConnected, Known: nl, Peer: acc}, netns))
		}
	}
	// The same abstract name bound by a socket of another type is another
	// listener (the kernel hashes the type in).
	socks = append(socks, ns(Socket{ID: 90, Path: "@same", Abstract: true, Type: TypeSeqpacket, State: StateListening, Known: nl}, 7001))
	// procfs: an old and a new listener at one path, a relative name, a
	// bound datagram socket, and two connections not yet accepted.
	socks = append(socks,
		ns(Socket{ID: 1, Path: "/run/r.sock", Type: TypeStream, State: StateListening}, 1),
		ns(Socket{ID: 2, Path: "/run/r.sock", Type: TypeStream, State: StateListening}, 1),
		ns(Socket{ID: 3, Path: "/run/r.sock", Type: TypeStream, State: StateConnected}, 1),
		ns(Socket{ID: 4, Path: "rel.sock", Type: TypeStream, State: StateListening}, 1),
		ns(Socket{ID: 5, Path: "/run/d.sock", Type: TypeDgram, State: StateUnconnected}, 1),
		ns(Socket{ID: 6, Path: "/run/only.sock", Type: TypeStream, State: StateListening}, 1),
		ns(Socket{ID: 0, Path: "/run/only.sock", Type: TypeStream, State: StateConnecting}, 1),
		ns(Socket{ID: 0, Path: "/run/only.sock", Type: TypeStream, State: StateConnecting}, 1),
		// procfs: a client in another namespace reached a file listener;
		// the accepted end is made in the client's namespace.
		ns(Socket{ID: 7, Path: "/run/cross.sock", Type: TypeStream, State: StateListening}, 1),
		ns(Socket{ID: 8, Path: "/run/cross.sock", Type: TypeStream, State: StateConnected}, 2),
		// procfs: a socket being released, unnamed, inode 0.
		ns(Socket{ID: 0, State: StateDisconnecting}, 1),
	)
	r := fakeResolver(nil, nil)
	es := r.Entries(context.Background(), &Snapshot{Sockets: socks}, Query{View: ViewAll, Clients: true})
	type got struct {
		conns   int
		unknown bool
		clients int
	}
	by := map[SocketID]got{}
	for _, e := range es {
		if e.ID == 0 {
			t.Errorf("a row for a connection not yet accepted: %+v", e.Socket)
		}
		by[e.ID] = got{e.Connections, e.ConnectionsUnknown, len(e.Clients)}
	}
	want := map[SocketID]got{
		101: {1, false, 1},
		104: {2, false, 2},
		109: {3, false, 3},
		1:   {1, true, 0},
		2:   {1, true, 0},
		4:   {0, true, 0},
		5:   {0, true, 0},
		6:   {0, false, 0},
		90:  {0, false, 0},
		7:   {1, false, 0},
	}
	for id, w := range want {
		if g := by[id]; g != w {
			t.Errorf("socket %d: connections %d (unknown %v), %d clients; want %d (unknown %v), %d clients",
				id, g.conns, g.unknown, g.clients, w.conns, w.unknown, w.clients)
		}
	}
}

// TestEntriesCancelled: a join whose context is done stops, so Ctrl-C ends
// a listing of 100k sockets rather than waiting for it.
func TestEntriesCancelled(t *testing.T) {
	snap := &Snapshot{}
	for i := range 3 * entryChunk {
		snap.Sockets = append(snap.Sockets, Socket{ID: SocketID(i + 1), Path: fmt.Sprintf("/run/s%05d.sock", i), Type: TypeStream, State: StateListening})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := NewCaptureResolver()
	if es := r.Entries(ctx, snap, Query{}); es != nil {
		t.Errorf("Entries after cancel = %d entries, want nil", len(es))
	}
	n := 0
	err := r.EachEntry(ctx, snap, Query{}, func(*Entry) error { n++; return nil })
	if !errors.Is(err, context.Canceled) || n != 0 {
		t.Errorf("EachEntry after cancel: %d entries, error %v; want none and context.Canceled", n, err)
	}

	// Cancelled half-way, EachEntry stops at the next chunk.
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	n = 0
	err = r.EachEntry(ctx, snap, Query{}, func(*Entry) error {
		if n++; n == 1 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) || n > 2*entryChunk {
		t.Errorf("EachEntry cancelled at the first entry: %d entries, error %v; want at most %d and context.Canceled", n, err, 2*entryChunk)
	}
}

// TestIndexOwnersSorted: owners a source sorted are indexed where they
// are, not copied (1.7 MB at 50k sockets); others are sorted in a copy,
// leaving the snapshot's as they were, and both index alike.
func TestIndexOwnersSorted(t *testing.T) {
	unsorted := []Owner{{ID: 7, PID: 30, FD: 4}, {ID: 5, PID: 10, FD: 3}, {ID: 7, PID: 20, FD: 9}, {ID: 7, PID: 20, FD: 5}}
	sorted := slices.Clone(unsorted)
	SortOwners(sorted)
	want := []Owner{{ID: 5, PID: 10, FD: 3}, {ID: 7, PID: 20, FD: 5}, {ID: 7, PID: 20, FD: 9}, {ID: 7, PID: 30, FD: 4}}
	if diff := cmp.Diff(want, sorted); diff != "" {
		t.Fatalf("SortOwners (-want +got):\n%s", diff)
	}
	given := slices.Clone(unsorted)
	// Socket 5 is in the snapshot, at index 1; 7 and 9 are not.
	byID := map[SocketID]int32{3: 0, 5: 1}
	x := indexOwners(given, byID, 2)
	if diff := cmp.Diff(unsorted, given); diff != "" {
		t.Errorf("indexing changed the snapshot's owners (-want +got):\n%s", diff)
	}
	y := indexOwners(sorted, byID, 2)
	if &y.sorted[0] != &sorted[0] {
		t.Errorf("sorted owners were copied")
	}
	for _, id := range []SocketID{3, 5, 7, 9} {
		if diff := cmp.Diff(x.of(id), y.of(id)); diff != "" {
			t.Errorf("owners of %d (-unsorted +sorted):\n%s", id, diff)
		}
	}
	if diff := cmp.Diff(want[1:], y.of(7)); diff != "" {
		t.Errorf("owners of 7 (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want[:1], y.of(5)); diff != "" {
		t.Errorf("owners of 5 (-want +got):\n%s", diff)
	}
	if got := y.of(3); got != nil {
		t.Errorf("owners of 3, which has none: %v", got)
	}
}
