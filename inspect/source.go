package inspect

import (
	"context"
	"slices"
)

// Source produces a snapshot of the sockets on a machine or in a capture.
type Source interface {
	Snapshot(ctx context.Context) (*Snapshot, error)
}

// Snapshot is everything one backend saw at one moment. Live systems change
// while they are read, so a snapshot may name an owner whose socket it did
// not list or the reverse; consumers treat both as normal.
type Snapshot struct {
	// Backend names where the data came from: "netlink", "procfs",
	// "lsof+netstat", or "capture".
	Backend string
	// FDSource names how the holders were found on Linux: "procfs" (the
	// /proc/PID/fd walk) or "bpf" (an iterator over every process's
	// descriptors); "" elsewhere.
	FDSource string
	Sockets  []Socket
	Owners   []Owner
	// Processes holds what the backend already knows about holder pids
	// (macOS lsof names them). Pids missing here are looked up by the
	// resolver when shown.
	Processes map[int]Process
	// Warnings are non-fatal problems, one line each, without prefix.
	Warnings []string
	// Missing, when set, says why sockets of some network namespace may
	// be missing from Sockets: a bound socket there, which refuses
	// connects as a stale file does, cannot be ruled out.
	Missing string
	// OwnerWarnings say which processes could not be read: they matter only where a
	// shown socket has no holder, so a listing prints them only then.
	OwnerWarnings []string
	// Addresses says that the socket IDs are kernel addresses (macOS,
	// FreeBSD), which their tools print in hex, rather than inodes.
	Addresses bool
}

// WarningsFor is what to tell about a listing of entries: every warning, and the owner
// warnings only when some entry has no holder that they could explain.
func (s *Snapshot) WarningsFor(orphans bool) []string {
	if !orphans {
		return s.Warnings
	}
	return slices.Concat(s.Warnings, s.OwnerWarnings)
}
