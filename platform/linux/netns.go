package linux

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/udsls/udsls/inspect"
	"github.com/udsls/udsls/internal/errpath"
)

// netnsRef is one network namespace and the ways into it.
type netnsRef struct {
	ino  uint64
	pid  int    // the lowest pid of a process in it; 0 when none is known
	file string // a file naming it: <procRoot>/<pid>/ns/net or the --netns path
}

func (n netnsRef) String() string {
	if n.pid == 0 {
		return strconv.FormatUint(n.ino, 10)
	}
	return fmt.Sprintf("%d (pid %d)", n.ino, n.pid)
}

// enterError says setns failed: the namespace was not entered, which as an
// unprivileged user is the normal case.
type enterError struct{ err error }

func (e *enterError) Error() string { return e.err.Error() }
func (e *enterError) Unwrap() error { return e.err }

// unseen are the processes whose network namespace could not be read:
// without CAP_SYS_PTRACE, those of other users.
type unseen struct {
	pids []int
	err  error // the first reason
}

// findNetns lists the network namespaces that processes are in, each with
// its lowest pid, in order of that pid (the host's namespace first).
func findNetns(ctx context.Context, procRoot string) (nss []netnsRef, hidden unseen, err error) {
	d, err := os.Open(procRoot)
	if err != nil {
		return nil, hidden, err
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return nil, hidden, err
	}
	var pids []int
	for _, name := range names {
		if pid, ok := parseDecimal(name); ok {
			pids = append(pids, pid)
		}
	}
	slices.Sort(pids)
	seen := map[uint64]bool{}
	for _, pid := range pids {
		if err := ctx.Err(); err != nil {
			return nil, hidden, err
		}
		file := filepath.Join(procRoot, strconv.Itoa(pid), "ns", "net")
		ino, err := nsInode(file)
		switch {
		case err == nil:
		case gone(err):
			continue
		default:
			hidden.pids = append(hidden.pids, pid)
			hidden.err = cmp.Or(hidden.err, errpath.Strip(err))
			continue
		}
		if !seen[ino] {
			seen[ino] = true
			nss = append(nss, netnsRef{ino: ino, pid: pid, file: file})
		}
	}
	return nss, hidden, nil
}

// NetnsInode is the inode of the network namespace netns names, a pid or
// a file as in Source.Netns, or the error a listing gives for it: every
// mode says the same of a bad --netns.
func NetnsInode(procRoot, netns string) (uint64, error) {
	ns, err := lookupNetns(cmp.Or(procRoot, "/proc"), netns)
	return ns.ino, err
}

// selectNetns finds the namespace --netns names: a pid, or a file naming a
// namespace (/var/run/netns/NAME, /proc/PID/ns/net).
func selectNetns(ctx context.Context, procRoot, arg string) (netnsRef, error) {
	ns, err := lookupNetns(procRoot, arg)
	if err != nil || ns.pid != 0 {
		return ns, err
	}
	// A process inside is what procfs shows the namespace through, should
	// netlink be out of reach; a namespace kept by a bind mount alone
	// (ip netns add) may have none.
	if all, _, err := findNetns(ctx, procRoot); err == nil {
		for _, n := range all {
			if n.ino == ns.ino {
				ns.pid = n.pid
				break
			}
		}
	}
	return ns, nil
}

// lookupNetns is selectNetns without the search for a process in a
// namespace a file names.
func lookupNetns(procRoot, arg string) (netnsRef, error) {
	if pid, ok := parseDecimal(arg); ok {
		file := filepath.Join(procRoot, arg, "ns", "net")
		ino, err := nsInode(file)
		if gone(err) {
			return netnsRef{}, fmt.Errorf("network namespace of pid %d: no such process", pid)
		}
		if err != nil {
			return netnsRef{}, fmt.Errorf("network namespace of pid %d: %w", pid, errpath.Strip(err))
		}
		return netnsRef{ino: ino, pid: pid, file: file}, nil
	}
	f, ino, err := openNetns(arg)
	if err != nil {
		return netnsRef{}, fmt.Errorf("network namespace %q: %w", arg, errpath.Strip(err))
	}
	f.Close()
	return netnsRef{ino: ino, file: arg}, nil
}

// readNamespaces lists the sockets of every network namespace (AllNetns)
// or of the one Netns selects, each marked with its namespace. A
// namespace that cannot be read is left out with one warning for all of
// them, unless it is the one asked for.
func (s *Source) readNamespaces(ctx context.Context, root string, snap *inspect.Snapshot) error {
	if s.Sockets > SocketsAuto {
		return fmt.Errorf("unknown socket source %d", s.Sockets)
	}
	var (
		nss    []netnsRef
		hidden unseen
		err    error
	)
	if s.Netns != "" {
		ns, err := selectNetns(ctx, root, s.Netns)
		if err != nil {
			return err
		}
		nss = []netnsRef{ns}
	} else if nss, hidden, err = findNetns(ctx, root); err != nil {
		return err
	}
	self, _ := nsInode(filepath.Join(root, "self", "ns", "net"))

	var unread, viaProcfs []netnsRef
	var unreadErr, procfsWhy error
	backends := map[string]bool{}
	for _, ns := range nss {
		socks, backend, why, err := s.readNetnsRetry(ctx, root, ns, self)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if s.Netns != "" {
				return fmt.Errorf("network namespace %s: %w", ns, err)
			}
			if gone(err) {
				continue // its last process exited since the listing
			}
			unread = append(unread, ns)
			unreadErr = cmp.Or(unreadErr, err)
			continue
		}
		if why != nil {
			viaProcfs = append(viaProcfs, ns)
			procfsWhy = cmp.Or(procfsWhy, why)
		}
		backends[backend] = true
		for i := range socks {
			socks[i].Netns = ns.ino
			socks[i].Known |= inspect.KnownNetns
		}
		snap.Sockets = append(snap.Sockets, socks...)
	}
	switch {
	case len(backends) > 1:
		snap.Backend = "netlink+procfs"
	case backends["procfs"]:
		snap.Backend = "procfs"
	default:
		snap.Backend = "netlink"
	}
	if s.Exhaustive && s.Netns == "" {
		extra, missing := readHidden(ctx, root, hidden.pids, snap.Sockets)
		snap.Sockets = append(snap.Sockets, extra...)
		var parts []string
		if len(unread) > 0 {
			parts = append(parts, fmt.Sprintf("%s unreadable (%v)", namespaces(unread), errpath.Strip(unreadErr)))
		}
		if missing != "" {
			parts = append(parts, missing)
		}
		snap.Missing = strings.Join(parts, "; ")
		if len(extra) > 0 && snap.Backend == "netlink" {
			snap.Backend = "netlink+procfs"
		}
		hidden = unseen{} // read after all, or named in Missing
	}
	if len(viaProcfs) > 0 {
		snap.Warnings = append(snap.Warnings, fmt.Sprintf("%s read from /proc/<pid>/net/unix (%v): "+
			"peers, queues, backlog, bound-file identity, socket uid and names with newlines are unknown there",
			namespaces(viaProcfs), procfsWhy))
	}
	if w := unreadWarning(unread, unreadErr, hidden, os.Geteuid() == 0); w != "" {
		snap.Warnings = append(snap.Warnings, w)
	}
	return nil
}

// readNetnsRetry is readNetns, tried again when it ran short of
// descriptors: under a low RLIMIT_NOFILE (prlimit, a container) the fd
// walk beside it holds some for a moment, and a namespace given up for
// that would turn every stale file's verdict there into "unknown".
func (s *Source) readNetnsRetry(ctx context.Context, root string, ns netnsRef, self uint64) (socks []inspect.Socket, backend string, why, err error) {
	for try := 1; ; try++ {
		socks, backend, why, err = s.readNetns(ctx, root, ns, self)
		if try == 5 || !outOfFDs(err) && !outOfFDs(why) {
			return socks, backend, why, err
		}
		select {
		case <-ctx.Done():
			return nil, "", nil, ctx.Err()
		case <-time.After(time.Duration(try) * 10 * time.Millisecond):
		}
	}
}

func outOfFDs(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE)
}

// readNetns lists one namespace's sockets: by sock_diag from a thread
// inside it, or, when netlink may fall back and the thread could not get
// in (no CAP_SYS_ADMIN) or sock_diag is missing, from net/unix of a process
// inside it. why says what made it fall back.
func (s *Source) readNetns(ctx context.Context, root string, ns netnsRef, self uint64) (socks []inspect.Socket, backend string, why, err error) {
	if s.Sockets != SocketsProcfs {
		dump := DumpUnix
		if s.dumpUnix != nil {
			dump = s.dumpUnix
		}
		if ns.ino == self {
			socks, err = dump(ctx)
		} else {
			socks, err = dumpIn(ctx, ns, dump)
		}
		var ee *enterError
		switch {
		case err == nil:
			return socks, "netlink", nil, nil
		case s.Sockets == SocketsNetlink || ctx.Err() != nil:
			return nil, "", nil, err
		case errors.As(err, &ee) || errors.Is(err, ErrNetlinkUnavailable):
			why = err
		default:
			return nil, "", nil, err
		}
	}
	if ns.pid == 0 {
		return nil, "", nil, cmp.Or(why, errors.New("no process in it shows its net/unix"))
	}
	proc := filepath.Join(root, strconv.Itoa(ns.pid))
	socks, err = readProcNetUnix(ctx, proc)
	if err == nil {
		// Read through the process, which may have exited meanwhile and
		// its pid gone to a process of another namespace.
		file := filepath.Join(proc, "ns", "net")
		if ino, err2 := nsInode(file); err2 != nil || ino != ns.ino {
			socks, err = nil, errReused(file)
		}
	}
	if err != nil && why != nil && !gone(err) {
		err = fmt.Errorf("%v; %w", why, err)
	}
	return socks, "procfs", why, err
}

// errReused says file, a /proc/<pid>/ns/net, no longer names the
// namespace it was listed by: its process exited since, and the pid may
// be another's. It is gone, as the namespace may be.
func errReused(file string) error {
	return fmt.Errorf("%s no longer names the network namespace it was listed by: %w", file, fs.ErrNotExist)
}

// dumpIn runs dump inside the namespace ns, through its file. A
// /proc/<pid>/ns/net names the namespace of whatever process has that pid
// now: one whose process exited since the namespaces were listed may name
// another by now, most often the host's, whose sockets were then listed
// twice, once as the dead namespace's.
func dumpIn(ctx context.Context, ns netnsRef, dump func(context.Context) ([]inspect.Socket, error)) ([]inspect.Socket, error) {
	f, ino, err := openNetns(ns.file)
	if err != nil {
		return nil, &enterError{err}
	}
	defer f.Close()
	if ino != ns.ino {
		return nil, errReused(ns.file)
	}
	var socks []inspect.Socket
	err = inNetns(f, func() error {
		socks, err = dump(ctx)
		return err
	})
	return socks, err
}

// unreadWarning says in one line which namespaces were left out and why.
func unreadWarning(unread []netnsRef, err error, hidden unseen, root bool) string {
	var parts []string
	if len(unread) > 0 {
		parts = append(parts, fmt.Sprintf("%s unreadable (%v)", namespaces(unread), errpath.Strip(err)))
	}
	if n := len(hidden.pids); n > 0 {
		const most = 3
		var pids []string
		for _, p := range hidden.pids[:min(n, most)] {
			pids = append(pids, strconv.Itoa(p))
		}
		if n > most {
			pids = append(pids, "...")
		}
		parts = append(parts, fmt.Sprintf("the network namespaces of %s are unknown (%v: pid %s)", processes(n), hidden.err, strings.Join(pids, ", ")))
	}
	if len(parts) == 0 {
		return ""
	}
	w := strings.Join(parts, "; ") + "; sockets only there are not shown"
	if !root {
		w += "; run as root to see every namespace"
	}
	return w
}

// namespaces names a few namespaces for a warning.
func namespaces(nss []netnsRef) string {
	const most = 5
	var names []string
	for i, ns := range nss {
		if i == most {
			names = append(names, fmt.Sprintf("and %d more", len(nss)-most))
			break
		}
		names = append(names, ns.String())
	}
	if len(nss) == 1 {
		return "network namespace " + names[0]
	}
	return "network namespaces " + strings.Join(names, ", ")
}

// markNetns marks sockets read from the caller's namespace, which is also
// the one <procRoot>/net shows, with it when it can be read.
func markNetns(socks []inspect.Socket, procRoot string) {
	ino, err := nsInode(filepath.Join(procRoot, "self", "ns", "net"))
	if err != nil {
		return
	}
	for i := range socks {
		socks[i].Netns = ino
		socks[i].Known |= inspect.KnownNetns
	}
}

// InNetns runs fn on a thread inside the network namespace netns names, a
// pid or a file as in Source.Netns: the sockets fn makes, and the abstract
// names it reaches, are that namespace's.
func InNetns(procRoot, netns string, fn func() error) error {
	file := netns
	if _, ok := parseDecimal(netns); ok {
		file = filepath.Join(cmp.Or(procRoot, "/proc"), netns, "ns", "net")
	}
	f, _, err := openNetns(file)
	if err != nil {
		return fmt.Errorf("network namespace %s: %w", netns, errpath.Strip(err))
	}
	defer f.Close()
	return inNetns(f, fn)
}

// readHidden reads net/unix of each process whose network namespace could
// not be named, which anyone may read, and keeps the sockets of those
// namespaces not already read: a namespace is known by its sockets'
// inodes, which are unique on the machine. missing names the processes
// whose sockets could not be read at all.
func readHidden(ctx context.Context, root string, pids []int, have []inspect.Socket) (extra []inspect.Socket, missing string) {
	known := make(map[inspect.SocketID]bool, len(have))
	for i := range have {
		known[have[i].ID] = true
	}
	var failed []int
	var why error
	for _, pid := range pids {
		if ctx.Err() != nil {
			return nil, ctx.Err().Error()
		}
		dir := filepath.Join(root, strconv.Itoa(pid))
		// Most are in a namespace already read, which the first sockets
		// of the table tell at a fraction of the cost of the whole.
		if head, err := readProcNetUnixHead(dir); err == nil &&
			slices.ContainsFunc(head, func(s inspect.Socket) bool { return s.ID != 0 && known[s.ID] }) {
			continue
		}
		socks, err := readProcNetUnix(ctx, dir)
		switch {
		case gone(err):
			continue
		case err != nil:
			failed = append(failed, pid)
			why = cmp.Or(why, errpath.Strip(err))
			continue
		}
		if slices.ContainsFunc(socks, func(s inspect.Socket) bool { return s.ID != 0 && known[s.ID] }) {
			continue // a namespace already read
		}
		for _, s := range socks {
			if s.ID != 0 {
				known[s.ID] = true
			}
		}
		extra = append(extra, socks...)
	}
	if len(failed) > 0 {
		missing = fmt.Sprintf("the sockets of %s could not be read (%v: pid %d)", processes(len(failed)), why, failed[0])
	}
	return extra, missing
}

// readProcNetUnixHead parses the complete lines among the first bytes of
// net/unix.
func readProcNetUnixHead(procDir string) ([]inspect.Socket, error) {
	name := filepath.Join(procDir, "net", "unix")
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	buf := make([]byte, 32<<10)
	n, err := io.ReadFull(f, buf)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, err
	}
	data := buf[:n]
	if i := bytes.LastIndexByte(data, '\n'); i >= 0 {
		data = data[:i+1]
	}
	return parseProcNetUnix(data, name)
}
