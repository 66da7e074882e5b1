package inspect

import (
	"cmp"
	"slices"
	"time"
)

// Change says how a row of a watch differs from the refresh before.
type Change uint8

const (
	Unchanged Change = iota
	Changed          // a queue, state, count, holder, file or traffic moved
	Appeared         // not there the refresh before
	Vanished         // there the refresh before, gone now: shown once more
)

// Rate is traffic per second over the time since the refresh before.
type Rate struct {
	Sent, Received float64 // bytes per second
}

// WatchRow is one row of a refresh.
type WatchRow struct {
	*Entry
	Change Change
	// Rate is nil when the socket's traffic is not counted, or was not the
	// refresh before.
	Rate *Rate
}

// Totals count the sockets of a whole snapshot, whatever the view shows.
type Totals struct {
	Sockets     int
	Listeners   int
	Connections int // connected sockets
	Full        int // listeners whose backlog is full
}

// Frame is one refresh of a watch: the rows of the listing in its order
// (path, holder, socket), then the rows that vanished since the refresh
// before, by path.
type Frame struct {
	Time   time.Time
	Rows   []WatchRow
	Totals Totals
	// Warnings are the snapshot's warnings, as a listing gives them.
	Warnings []string
}

// Watcher turns successive listings into frames that say what changed.
// The first frame, and the first after Reset, marks nothing.
type Watcher struct {
	prev     map[SocketID]*Entry
	prevTime time.Time
	started  bool
}

// Reset forgets the refresh before, so that a listing that now shows
// other sockets (another view, another filter) marks none as new.
func (w *Watcher) Reset() { w.prev, w.started = nil, false }

// Next makes the frame of a listing taken at t. It keeps entries until
// the next call, so they must not be reused (Resolver.Entries makes new ones).
func (w *Watcher) Next(t time.Time, snap *Snapshot, entries []Entry) *Frame {
	f := &Frame{Time: t, Rows: make([]WatchRow, 0, len(entries)), Totals: totals(snap)}
	f.Warnings = snap.WarningsFor(slices.ContainsFunc(entries, func(e Entry) bool { return len(e.Holders) == 0 }))
	dt := t.Sub(w.prevTime).Seconds()
	cur := make(map[SocketID]*Entry, len(entries))
	for i := range entries {
		e := &entries[i]
		cur[e.ID] = e
		row := WatchRow{Entry: e}
		p, ok := w.prev[e.ID]
		switch {
		case !w.started:
		case !ok:
			row.Change = Appeared
		case !sameRow(p, e):
			row.Change = Changed
		}
		if ok && e.Traffic != nil && p.Traffic != nil && dt > 0 {
			row.Rate = &Rate{
				Sent:     float64(e.Traffic.SentBytes-min(p.Traffic.SentBytes, e.Traffic.SentBytes)) / dt,
				Received: float64(e.Traffic.ReceivedBytes-min(p.Traffic.ReceivedBytes, e.Traffic.ReceivedBytes)) / dt,
			}
		}
		f.Rows = append(f.Rows, row)
	}
	var gone []WatchRow
	for id, p := range w.prev {
		if _, ok := cur[id]; !ok {
			gone = append(gone, WatchRow{Entry: p, Change: Vanished})
		}
	}
	slices.SortFunc(gone, func(a, b WatchRow) int {
		if c := ComparePaths(a.Path, b.Path); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	f.Rows = append(f.Rows, gone...)
	w.prev, w.prevTime, w.started = cur, t, true
	return f
}

// sameRow reports whether nothing a row shows differs between a and b.
func sameRow(a, b *Entry) bool {
	if a.State != b.State || a.RecvQueue != b.RecvQueue || a.SendQueue != b.SendQueue ||
		a.Connections != b.Connections || a.ConnectionsUnknown != b.ConnectionsUnknown ||
		a.FileStatus != b.FileStatus || a.Socket.Peer != b.Socket.Peer || len(a.Holders) != len(b.Holders) ||
		(a.Traffic == nil) != (b.Traffic == nil) || a.Traffic != nil && *a.Traffic != *b.Traffic {
		return false
	}
	for i := range a.Holders {
		ha, hb := &a.Holders[i], &b.Holders[i]
		if ha.PID != hb.PID || ha.FD != hb.FD || ha.Command != hb.Command || ha.User != hb.User {
			return false
		}
	}
	if (a.File == nil) != (b.File == nil) {
		return false
	}
	return a.File == nil || a.File.Mode == b.File.Mode && a.File.UID == b.File.UID && a.File.GID == b.File.GID
}

func totals(snap *Snapshot) Totals {
	var t Totals
	for i := range snap.Sockets {
		s := &snap.Sockets[i]
		if s.ID == 0 {
			continue // a connection not yet accepted (procfs)
		}
		t.Sockets++
		switch s.State {
		case StateListening:
			t.Listeners++
			if s.Known.Has(KnownQueues) && s.RecvQueue > s.SendQueue {
				t.Full++
			}
		case StateConnected:
			t.Connections++
		}
	}
	return t
}

// Prune forgets what the resolver learned of processes that hold none of
// snap's sockets, so that a resolver kept across the refreshes of a watch
// neither grows without end nor names a new process by an old one's pid,
// and that it could not learn, so that a process read at a bad moment is
// not unknown for the rest of the watch.
func (r *Resolver) Prune(snap *Snapshot) {
	live := make(map[int]bool, len(r.procs))
	for i := range snap.Owners {
		live[snap.Owners[i].PID] = true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for pid, p := range r.procs {
		// A process not read (it was starting, or going) is tried again.
		if !live[pid] || p == nil {
			delete(r.procs, pid)
		}
	}
	for pid := range r.containers {
		if !live[pid] {
			delete(r.containers, pid)
		}
	}
	for pid := range r.roots {
		if !live[pid] {
			delete(r.roots, pid)
		}
	}
	for pid := range r.services {
		if !live[pid] {
			delete(r.services, pid)
		}
	}
}
