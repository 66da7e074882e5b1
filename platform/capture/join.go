package capture

import (
	"fmt"
	"maps"
	"slices"

	"github.com/udsls/udsls/inspect"
)

// NetstatSockets turns netstat rows into sockets keyed by their kernel
// address, with a warning for each kind of link that does not join: that
// happens when sockets come and go while netstat reads the list, and in
// excerpts.
//
// What netstat cannot say is guessed, and the guess is exact only with the
// so_state and so_options columns of `netstat -v` (macOS 15 and later):
// without them a stream socket bound to a path (Vnode set) and not
// connected is taken for a listener, though it may never have called
// listen(2). A listener's queues are its own buffers, not the accept queue
// inspect means for listeners, so they are left unknown.
func NetstatSockets(rows []NetstatRow) ([]inspect.Socket, []string) {
	var warnings []string
	socks := make([]inspect.Socket, 0, len(rows))
	seen := make(map[uint64]bool, len(rows))
	kept := make([]NetstatRow, 0, len(rows))
	for i := range rows {
		r := &rows[i]
		if seen[r.Address] {
			continue
		}
		seen[r.Address] = true
		kept = append(kept, *r)
		s := inspect.Socket{
			ID:        inspect.SocketID(r.Address),
			Path:      r.Path,
			Type:      r.Type,
			State:     rowState(r),
			Known:     inspect.KnownPeer,
			Peer:      inspect.SocketID(r.Conn),
			RecvQueue: r.RecvQ,
			SendQueue: r.SendQ,
		}
		if s.State != inspect.StateListening {
			s.Known |= inspect.KnownQueues
		} else {
			s.RecvQueue, s.SendQueue = 0, 0
		}
		socks = append(socks, s)
	}
	if dups := len(rows) - len(kept); dups > 0 {
		warnings = append(warnings, fmt.Sprintf("netstat listed %s twice; kept the first", plural(dups, "socket")))
	}
	pairs, chains := unjoined(kept)
	if pairs > 0 {
		warnings = append(warnings, fmt.Sprintf("netstat: %s whose peer is missing or does not point back", plural(pairs, "connected socket")))
	}
	if chains > 0 {
		warnings = append(warnings, fmt.Sprintf("netstat: %s whose reference list does not match its senders", plural(chains, "datagram socket")))
	}
	return socks, warnings
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

func rowState(r *NetstatRow) inspect.State {
	switch {
	case r.HasSo && r.SoOptions&soAcceptConn != 0:
		return inspect.StateListening
	case r.HasSo && r.SoState&ssIsConnected != 0:
		return inspect.StateConnected
	case r.HasSo && r.SoState&ssIsConnecting != 0:
		return inspect.StateConnecting
	case r.HasSo && r.SoState&ssIsDisconnecting != 0:
		return inspect.StateDisconnecting
	case r.HasSo:
		return inspect.StateUnconnected
	case r.Conn != 0:
		return inspect.StateConnected
	case r.Type != inspect.TypeDgram && r.Vnode != 0:
		return inspect.StateListening
	}
	return inspect.StateUnconnected
}

// unjoined checks the links netstat prints (FORMATS.md §3.3): a connected
// stream or seqpacket socket's Conn row must point back at it, and a
// datagram socket's Refs list, followed through Nextref, must hold exactly
// the datagram sockets whose Conn is that socket (xnu unp_connect2 links
// senders into the receiver's unp_refs). It counts the sockets for which
// either fails, the second only where the receiver itself is listed.
func unjoined(rows []NetstatRow) (pairs, chains int) {
	by := make(map[uint64]*NetstatRow, len(rows))
	senders := map[uint64][]uint64{}
	for i := range rows {
		r := &rows[i]
		by[r.Address] = r
		if r.Type == inspect.TypeDgram && r.Conn != 0 {
			senders[r.Conn] = append(senders[r.Conn], r.Address)
		}
	}
	for i := range rows {
		r := &rows[i]
		if r.Type != inspect.TypeDgram {
			if p, ok := by[r.Conn]; r.Conn != 0 && (!ok || p.Conn != r.Address) {
				pairs++
			}
			continue
		}
		if r.Refs == 0 && len(senders[r.Address]) == 0 {
			continue
		}
		var list []uint64
		ok := true
		for a := r.Refs; a != 0 && ok; {
			m, found := by[a]
			// A list longer than the rows has a loop.
			ok = found && len(list) < len(rows)
			list = append(list, a)
			if found {
				a = m.Nextref
			}
		}
		want := slices.Clone(senders[r.Address])
		slices.Sort(list)
		slices.Sort(want)
		if !ok || !slices.Equal(list, want) {
			chains++
		}
	}
	return pairs, chains
}

// Join combines a socket list (from netstat, or a Linux /proc/net/unix
// capture; nil when there is none) with lsof's holders. Sockets lsof saw
// that the list lacks (opened between the two commands, or no list at
// all) are added with what lsof's NAME tells; on macOS that is only the
// path or the peer, never the type or, for a named socket, the state.
// Where both name a socket netstat's path wins: it is raw, lsof's is
// escaped.
func Join(sockets []inspect.Socket, l *Lsof) *inspect.Snapshot {
	snap := &inspect.Snapshot{Sockets: slices.Clone(sockets), Processes: map[int]inspect.Process{}}
	if l == nil {
		return snap
	}
	idx := make(map[inspect.SocketID]int, len(snap.Sockets))
	for i, s := range snap.Sockets {
		idx[s.ID] = i
	}
	for _, f := range l.Files {
		if i, ok := idx[f.ID]; !ok {
			idx[f.ID] = len(snap.Sockets)
			snap.Sockets = append(snap.Sockets, f.socket())
		} else if s := &snap.Sockets[i]; s.Path == "" && f.Path != "" {
			s.Path, s.Abstract = f.Path, f.Abstract
		}
		if f.FD >= 0 {
			snap.Owners = append(snap.Owners, inspect.Owner{ID: f.ID, PID: f.PID, FD: f.FD})
		}
	}
	maps.Copy(snap.Processes, l.Processes)
	return snap
}

func (f *LsofFile) socket() inspect.Socket {
	s := inspect.Socket{ID: f.ID, Path: f.Path, Abstract: f.Abstract, Type: f.Type, State: f.State}
	if f.PeerKnown {
		s.Peer, s.Known = f.Peer, inspect.KnownPeer
	}
	return s
}
