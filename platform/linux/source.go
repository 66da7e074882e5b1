package linux

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"github.com/udsls/udsls/inspect"
	"github.com/udsls/udsls/platform/linux/bpf"
)

// SocketSource says where a Source reads the socket list from.
type SocketSource int

const (
	// SocketsProcfs reads <ProcRoot>/net/unix, which does not show peers,
	// queues, backlog, bound-file identity or socket uid, and cannot carry
	// a name holding a newline. It lists the server ends of connections
	// not yet accepted, with inode 0.
	SocketsProcfs SocketSource = iota
	// SocketsNetlink asks the kernel with sock_diag (DumpUnix) and fails if
	// it cannot. It ignores ProcRoot: the kernel answers for the caller's
	// network namespace. Server ends not yet accepted are not listed; the
	// listener's RecvQueue and Icons count them instead.
	SocketsNetlink
	// SocketsAuto tries netlink and falls back to procfs, with one warning,
	// when netlink is unavailable here.
	SocketsAuto
)

// Source reads the sockets of the caller's network namespace, and the
// processes holding them from procfs. The zero value reads procfs only,
// which follows ProcRoot wherever it points; platform.Default asks for
// SocketsAuto.
type Source struct {
	// ProcRoot is where procfs is mounted; "/proc" when empty.
	ProcRoot string
	Sockets  SocketSource
	// AllNetns lists the sockets of every network namespace a process is
	// in, not only the caller's; Netns those of one namespace, named by a
	// pid or a file (/var/run/netns/NAME). Either marks every socket with
	// its namespace, as the caller's are marked otherwise.
	AllNetns bool
	Netns    string
	// Exhaustive, with AllNetns, also reads net/unix of the processes
	// whose namespace cannot be named (without CAP_SYS_PTRACE, other
	// users'), keeping the sockets of namespaces not read otherwise, and
	// says in Snapshot.Missing when some namespace could not be read at
	// all: --stale must not call a file unused that such a socket holds.
	Exhaustive bool
	// FDs says how the holders are found; the zero value walks procfs.
	FDs FDSource
	// Kept, when set, keeps what successive snapshots can share, the BPF
	// iterator, loaded from one to the next until Close, and so prefers
	// the iterator wherever it may load: a watch takes a snapshot a second.
	Kept *Kept

	// bpfThreshold stands in for bpfMinFiles in tests of the choice.
	bpfThreshold int

	// dumpUnix stands in for DumpUnix in tests of the fallback, which a
	// kernel that has sock_diag cannot exercise.
	dumpUnix func(context.Context) ([]inspect.Socket, error)
}

// Kept is what a Source taking snapshot after snapshot keeps loaded.
type Kept struct {
	mu   sync.Mutex
	iter *bpf.FDIter
}

// Close unloads what Kept kept.
func (s *Source) Close() error {
	k := s.Kept
	if k == nil {
		return nil
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.iter == nil {
		return nil
	}
	err := k.iter.Close()
	k.iter = nil
	return err
}

// Snapshot lists the sockets while it walks every process's fds. Backend
// says which source gave the sockets.
func (s *Source) Snapshot(ctx context.Context) (*inspect.Snapshot, error) {
	root := cmp.Or(s.ProcRoot, "/proc")
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// The walk costs the most; the socket list keeps a CPU busy meanwhile.
	type walk struct {
		scan *fdScan
		err  error
	}
	walked := make(chan walk, 1)
	go func() {
		var w walk
		w.scan, w.err = s.scanHolders(ctx, root)
		if w.err == nil {
			// Here, while the sockets are listed, rather than in a copy
			// the listing would sort.
			inspect.SortOwners(w.scan.owners)
		}
		walked <- w
	}()
	snap, err := s.sockets(ctx, root)
	if err != nil {
		cancel()
	}
	w := <-walked
	if err != nil {
		return nil, err
	}
	if w.err != nil {
		return nil, w.err
	}
	snap.Owners = w.scan.owners
	snap.FDSource = "procfs"
	if w.scan.bpf {
		snap.FDSource = "bpf"
	} else {
		w.scan.hidden, w.scan.procRoot = procHidden(root), root
	}
	snap.OwnerWarnings = append(snap.OwnerWarnings, w.scan.warnings()...)
	return snap, nil
}

func (s *Source) sockets(ctx context.Context, root string) (*inspect.Snapshot, error) {
	snap := &inspect.Snapshot{}
	var err error
	switch {
	case s.AllNetns || s.Netns != "":
		err = s.readNamespaces(ctx, root, snap)
	case s.Sockets == SocketsProcfs:
		snap.Backend = "procfs"
		snap.Sockets, err = readProcNetUnix(ctx, root)
		markNetns(snap.Sockets, root)
	case s.Sockets == SocketsNetlink || s.Sockets == SocketsAuto:
		dump := DumpUnix
		if s.dumpUnix != nil {
			dump = s.dumpUnix
		}
		snap.Backend = "netlink"
		snap.Sockets, err = dump(ctx)
		if s.Sockets == SocketsAuto && errors.Is(err, ErrNetlinkUnavailable) {
			snap.Warnings = append(snap.Warnings, fmt.Sprintf("%v; read %s instead: "+
				"peers, queues, backlog, bound-file identity, socket uid and names with newlines are unknown",
				err, filepath.Join(root, "net", "unix")))
			snap.Backend = "procfs"
			snap.Sockets, err = readProcNetUnix(ctx, root)
		}
		markNetns(snap.Sockets, root)
	default:
		return nil, fmt.Errorf("unknown socket source %d", s.Sockets)
	}
	if err != nil {
		return nil, err
	}
	return snap, nil
}

// readProcNetUnix lists the sockets of the network namespace procfs shows
// through net/, which for /proc is the caller's.
func readProcNetUnix(ctx context.Context, procRoot string) ([]inspect.Socket, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	name := filepath.Join(procRoot, "net", "unix")
	// A read resumes by position between read(2)s, as a sock_diag dump
	// does, and can miss a socket that lived throughout: two are merged.
	var reads [2][]inspect.Socket
	for i := range reads {
		data, err := os.ReadFile(name)
		if err != nil {
			return nil, err
		}
		if reads[i], err = parseProcNetUnix(data, name); err != nil {
			return nil, err
		}
	}
	return mergeReads(reads[0], reads[1]), nil
}

// mergeReads lists the sockets of two reads, as the later saw them where
// both did. Inode-0 entries have no identity to merge by; they come from
// the later read alone.
func mergeReads(first, second []inspect.Socket) []inspect.Socket {
	first = slices.DeleteFunc(first, func(s inspect.Socket) bool { return s.ID == 0 })
	return dropDuplicates(append(first, second...))
}
