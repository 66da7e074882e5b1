package inspect

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestAddTraffic(t *testing.T) {
	snap := testSnapshot()
	r := fakeResolver(nil, nil)
	es := r.Entries(context.Background(), snap, Query{View: ViewAll})
	AddTraffic(snap, es, map[uint64]Traffic{
		11: {SentBytes: 5, ReceivedBytes: 6},   // accepted by the listener 10
		12: {SentBytes: 6, ReceivedBytes: 5},   // its client
		40: {SentBytes: 0, ReceivedBytes: 100}, // a bound datagram socket: its own
		99: {SentBytes: 1},                     // a socket not in the snapshot
	})
	got := map[SocketID]Traffic{}
	for _, e := range es {
		if e.Traffic == nil {
			t.Fatalf("socket %d: no traffic", e.ID)
		}
		got[e.ID] = *e.Traffic
	}
	want := map[SocketID]Traffic{
		10: {5, 6}, 11: {5, 6}, 12: {6, 5}, 20: {}, 30: {}, 40: {0, 100}, 41: {}, 50: {}, 51: {},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("traffic (-want +got):\n%s", diff)
	}
}

// TestWatcher: the first frame marks nothing; then a changed queue, a new
// socket and a vanished one are marked, rates come from the traffic moved
// over the time between frames, and Reset starts marking afresh.
func TestWatcher(t *testing.T) {
	t0 := time.Unix(1000, 0)
	e := func(id SocketID, recvq uint32, sent uint64) Entry {
		return Entry{Socket: Socket{ID: id, Path: "/s", Type: TypeStream, State: StateConnected, Known: KnownQueues, RecvQueue: recvq}, Traffic: &Traffic{SentBytes: sent}}
	}
	snap := &Snapshot{Sockets: []Socket{
		{ID: 1, State: StateListening, Known: KnownQueues, RecvQueue: 3, SendQueue: 2},
		{ID: 2, State: StateConnected}, {ID: 0, State: StateConnected},
	}}
	var w Watcher
	changes := func(f *Frame) map[SocketID]Change {
		m := map[SocketID]Change{}
		for _, r := range f.Rows {
			m[r.ID] = r.Change
		}
		return m
	}
	f := w.Next(t0, snap, []Entry{e(1, 0, 0), e(2, 0, 0), e(3, 0, 0)})
	if diff := cmp.Diff(map[SocketID]Change{1: Unchanged, 2: Unchanged, 3: Unchanged}, changes(f)); diff != "" {
		t.Errorf("first frame (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(Totals{Sockets: 2, Listeners: 1, Connections: 1, Full: 1}, f.Totals); diff != "" {
		t.Errorf("totals (-want +got):\n%s", diff)
	}
	f = w.Next(t0.Add(2*time.Second), snap, []Entry{e(2, 9, 0), e(4, 0, 0), e(3, 0, 4000)})
	if diff := cmp.Diff(map[SocketID]Change{2: Changed, 3: Changed, 4: Appeared, 1: Vanished}, changes(f)); diff != "" {
		t.Errorf("second frame (-want +got):\n%s", diff)
	}
	if got := f.Rows[len(f.Rows)-1]; got.ID != 1 || got.Change != Vanished {
		t.Errorf("last row %d %v, want the vanished socket 1", got.ID, got.Change)
	}
	rates := map[SocketID]*Rate{}
	for _, r := range f.Rows {
		rates[r.ID] = r.Rate
	}
	if diff := cmp.Diff(map[SocketID]*Rate{2: {}, 3: {Sent: 2000}, 4: nil, 1: nil}, rates); diff != "" {
		t.Errorf("rates (-want +got):\n%s", diff)
	}
	w.Reset()
	f = w.Next(t0.Add(3*time.Second), snap, []Entry{e(5, 0, 0)})
	if diff := cmp.Diff(map[SocketID]Change{5: Unchanged}, changes(f)); diff != "" {
		t.Errorf("after Reset (-want +got):\n%s", diff)
	}
}

// TestResolverPrune: a pid that holds nothing any more is looked up again,
// so that a new process with an old pid is not named by the old one.
func TestResolverPrune(t *testing.T) {
	procs := map[int]Process{100: {PID: 100, Command: "old"}}
	r := fakeResolver(procs, nil)
	snap := &Snapshot{Sockets: []Socket{{ID: 1, Path: "@a", Abstract: true, State: StateListening}}, Owners: []Owner{{ID: 1, PID: 100, FD: 3}}}
	command := func() string {
		es := r.Entries(context.Background(), snap, Query{})
		return es[0].Holders[0].Command
	}
	if got := command(); got != "old" {
		t.Fatalf("command %q", got)
	}
	procs[100] = Process{PID: 100, Command: "new"}
	r.Prune(snap)
	if got := command(); got != "old" {
		t.Errorf("a pid still holding the socket was looked up again: %q", got)
	}
	r.Prune(&Snapshot{})
	if got := command(); got != "new" {
		t.Errorf("after the pid held nothing: command %q, want new", got)
	}
	// A process that could not be read is tried again at the next refresh.
	delete(procs, 100)
	r.Prune(&Snapshot{})
	if got := command(); got != "" {
		t.Fatalf("unreadable process: command %q", got)
	}
	procs[100] = Process{PID: 100, Command: "readable"}
	r.Prune(snap)
	if got := command(); got != "readable" {
		t.Errorf("a process unreadable once stays unknown: command %q", got)
	}
}

// TestResolverPruneService: a new process with an old pid is not taken for
// the old one's unit, which --watch --unit would have shown it by.
func TestResolverPruneService(t *testing.T) {
	r := fakeResolver(map[int]Process{100: {PID: 100, Command: "srv"}}, nil)
	services := map[int]*Service{100: {Unit: "old.service", FDNames: map[int]string{3: "api"}}}
	r.Service = func(pid int) *Service { return services[pid] }
	snap := &Snapshot{Sockets: []Socket{{ID: 1, Path: "@a", Abstract: true, State: StateListening}}, Owners: []Owner{{ID: 1, PID: 100, FD: 3}}}
	unit := func() (string, string) {
		h := r.Entries(context.Background(), snap, Query{})[0].Holders[0]
		return h.Unit, h.FDName
	}
	if u, n := unit(); u != "old.service" || n != "api" {
		t.Fatalf("unit %q, fd name %q", u, n)
	}
	services[100] = &Service{Unit: "new.service"}
	r.Prune(&Snapshot{})
	if u, n := unit(); u != "new.service" || n != "" {
		t.Errorf("after the pid held nothing: unit %q, fd name %q; want new.service and none", u, n)
	}
	if got := len(r.Entries(context.Background(), snap, Query{Units: []string{"old"}})); got != 0 {
		t.Errorf("--unit old still selects the new process's socket")
	}
}
