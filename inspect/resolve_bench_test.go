package inspect

import (
	"context"
	"io/fs"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
)

// benchSnapshot is what a listing of sets sockets looks like: sets of a
// listener, its accepted connection and the client, the shape `udsls
// --serve --count` makes, spread over 16 processes, plus the files and
// processes a resolver finds for them.
func benchSnapshot(sets int) (snap *Snapshot, procs map[int]Process, files map[string]*FileInfo) {
	snap = &Snapshot{}
	files = map[string]*FileInfo{}
	for i := range sets {
		id := SocketID(100000 + 3*i)
		path := "/run/bench/set-" + strconv.Itoa(i) + ".sock"
		bound := FileID{Dev: 7, Ino: uint64(id)}
		snap.Sockets = append(snap.Sockets,
			Socket{ID: id, Path: path, Type: TypeStream, State: StateListening, Known: diag | KnownUID, Bound: bound, SendQueue: 128},
			Socket{ID: id + 1, Path: path, Type: TypeStream, State: StateConnected, Known: diag | KnownUID, Bound: bound, Peer: id + 2},
			Socket{ID: id + 2, Type: TypeStream, State: StateConnected, Known: diag | KnownUID, Peer: id + 1},
		)
		pid := 1000 + i%16
		snap.Owners = append(snap.Owners,
			Owner{ID: id, PID: pid, FD: 3 * i}, Owner{ID: id + 1, PID: pid, FD: 3*i + 1}, Owner{ID: id + 2, PID: pid, FD: 3*i + 2})
		files[path] = &FileInfo{ID: bound, Mode: fs.ModeSocket | 0o755}
	}
	procs = map[int]Process{}
	for pid := 1000; pid < 1016; pid++ {
		procs[pid] = Process{PID: pid, Command: "udsls", UID: 0}
	}
	return snap, procs, files
}

// BenchmarkEntries joins 10k sockets, holders and files into entries, as
// `udsls -a` does; processes and files come from maps, so this is the
// join alone.
func BenchmarkEntries(b *testing.B) {
	snap, procs, files := benchSnapshot(3333)
	b.ReportAllocs()
	for b.Loop() {
		r := fakeResolver(procs, files) // nothing cached
		if es := r.Entries(context.Background(), snap, Query{View: ViewAll}); len(es) != len(snap.Sockets) {
			b.Fatalf("%d entries, want %d", len(es), len(snap.Sockets))
		}
	}
}

// BenchmarkSortPaths sorts the names of 17k listeners in 64 directories,
// what a listing of 50k sockets sorts.
func BenchmarkSortPaths(b *testing.B) {
	var paths []string
	for d := range 64 {
		for i := range 261 {
			paths = append(paths, "/tmp/udsls-serve-"+strconv.Itoa(1000000000+d*7919)+"/set-"+strconv.Itoa(i)+".sock")
		}
	}
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(paths), func(i, j int) { paths[i], paths[j] = paths[j], paths[i] })
	s := make([]string, len(paths))
	for b.Loop() {
		copy(s, paths)
		slices.SortFunc(s, ComparePaths)
	}
}
