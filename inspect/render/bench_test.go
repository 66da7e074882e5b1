package render

import (
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"strconv"
	"testing"

	"github.com/udsls/udsls/inspect"
)

// benchSnapshot is what a listing of sets sockets looks like: sets of a
// listener, its accepted connection and the client, the shape `udsls
// --serve --count` makes, spread over 16 processes, plus the files and
// processes a resolver finds for them.
func benchSnapshot(sets int) (snap *inspect.Snapshot, procs map[int]inspect.Process, files map[string]*inspect.FileInfo) {
	snap = &inspect.Snapshot{}
	files = map[string]*inspect.FileInfo{}
	for i := range sets {
		id := inspect.SocketID(100000 + 3*i)
		path := "/run/bench/set-" + strconv.Itoa(i) + ".sock"
		bound := inspect.FileID{Dev: 7, Ino: uint64(id)}
		snap.Sockets = append(snap.Sockets,
			inspect.Socket{ID: id, Path: path, Type: inspect.TypeStream, State: inspect.StateListening, Known: diag | inspect.KnownUID, Bound: bound, SendQueue: 128},
			inspect.Socket{ID: id + 1, Path: path, Type: inspect.TypeStream, State: inspect.StateConnected, Known: diag | inspect.KnownUID, Bound: bound, Peer: id + 2},
			inspect.Socket{ID: id + 2, Type: inspect.TypeStream, State: inspect.StateConnected, Known: diag | inspect.KnownUID, Peer: id + 1},
		)
		pid := 1000 + i%16
		snap.Owners = append(snap.Owners,
			inspect.Owner{ID: id, PID: pid, FD: 3 * i}, inspect.Owner{ID: id + 1, PID: pid, FD: 3*i + 1}, inspect.Owner{ID: id + 2, PID: pid, FD: 3*i + 2})
		files[path] = &inspect.FileInfo{ID: bound, Mode: fs.ModeSocket | 0o755}
	}
	procs = map[int]inspect.Process{}
	for pid := 1000; pid < 1016; pid++ {
		procs[pid] = inspect.Process{PID: pid, Command: "udsls", UID: 0}
	}
	return snap, procs, files
}

// BenchmarkWriteJSON encodes 10k entries; "encoding-json" is the same
// document through encoding/json, for comparison.
func BenchmarkWriteJSON(b *testing.B) {
	snap, procs, files := benchSnapshot(3333)
	es := fakeResolver(procs, files).Entries(context.Background(), snap, inspect.Query{View: inspect.ViewAll})
	b.Run("udsls", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := WriteJSON(io.Discard, es, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			doc := ListingJSON{Warnings: []string{}}
			for i := range es {
				doc.Sockets = append(doc.Sockets, ToJSON(&es[i]))
			}
			enc := json.NewEncoder(io.Discard)
			enc.SetIndent("", "  ")
			if err := enc.Encode(doc); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkWriteTable renders the same 10k entries as BenchmarkWriteJSON as the table
// `udsls -a` prints: the two should cost about the same.
func BenchmarkWriteTable(b *testing.B) {
	snap, procs, files := benchSnapshot(3333)
	es := fakeResolver(procs, files).Entries(context.Background(), snap, inspect.Query{View: inspect.ViewAll})
	b.ReportAllocs()
	for b.Loop() {
		if err := WriteTable(io.Discard, es, TableOptions{Peers: true}); err != nil {
			b.Fatal(err)
		}
	}
}
