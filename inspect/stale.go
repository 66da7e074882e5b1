package inspect

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/udsls/udsls/internal/errpath"
)

// StaleOptions configure FindStale.
type StaleOptions struct {
	// Dirs are the directories to walk. Symlinks among them are resolved
	// and a directory reached twice (/var/run and /run) is walked once.
	Dirs []string
	// Explicit says the user named Dirs: a missing one is then an error
	// rather than skipped, and unreachable listeners are limited to those
	// under Dirs and count as findings.
	Explicit bool
	// CrossFS lets the walk enter other filesystems than each start
	// directory's.
	CrossFS bool
	// MaxDepth bounds the walk as find's -maxdepth does: 1 looks only at the
	// entries of each directory in Dirs.
	MaxDepth int
	// Timeout bounds each connect probe; one second when zero.
	Timeout time.Duration
	// Progress, when set, is called every few thousand directory entries
	// with the number of entries and directories seen so far.
	Progress func(files, dirs int)
	// Netns, when set, limits the unreachable listeners reported to those
	// of this network namespace (its inode); every socket in the snapshot
	// still counts as holding a file.
	Netns uint64
	// Root, when set, is where another mount namespace's file tree is seen
	// (/proc/PID/root): Dirs, and the paths reported, are as the processes
	// rooted there see them, symlinks resolved inside the root.
	Root string
}

// Why a file is stale. Both need a refused connect on every socket type.
const (
	ReasonNotBound  = "no socket is bound to it; connect refused"
	ReasonOtherFile = "the live socket bound at this path holds another file; connect refused"
)

// StaleFile is a socket file nothing is bound to.
type StaleFile struct {
	Path   string
	File   FileInfo
	Reason string
	// Removed is set once RemoveStale deleted the file.
	Removed bool
	// found is the file as the walk found it, which RemoveStale proves
	// again through files, probing with probe (FindStale's Resolver's).
	found FoundFile
	files Files
	probe ProbeFunc
}

// StaleReport is what FindStale found.
type StaleReport struct {
	// Dirs are the directories walked, symlinks resolved.
	Dirs  []string
	Stale []StaleFile
	// Unknown are socket files that refuse connects as stale files do, but
	// that a socket bound and not listening may hold, which the snapshot
	// could not rule out; Reason says why. They are never removed.
	Unknown []StaleFile
	// Unreachable are listeners and bound datagram sockets whose file is
	// gone or was replaced: clients cannot reach them by their path.
	Unreachable []Entry
	// Counted says the unreachable sockets are findings (the user named
	// the directories they lie under) rather than information.
	Counted bool
	// Entries and DirsRead count what the walk looked at; Sockets the
	// socket files among the entries.
	Entries  int
	DirsRead int
	Sockets  int
	// Unchecked counts socket files that might be stale but could not be
	// proved so (permission denied on connect, a failed probe).
	Unchecked int
	// Warnings are non-fatal problems, one line each, without prefix.
	Warnings []string
}

// ErrChanged marks a file that is no longer what the scan judged stale.
var ErrChanged = errors.New("changed since the scan")

const defaultProbeTimeout = time.Second

// FindStale walks the directories for socket files, then takes a snapshot
// of the live sockets and keeps the files no live socket is bound to and
// on which a connect is refused. The snapshot comes after the walk so that
// every file the walk saw was already bound, if at all, when the snapshot
// was taken; a socket file's binding cannot be made again once its socket
// is closed, so a file missing from the snapshot can only be in use from
// another network namespace, which the connect probe catches.
func FindStale(ctx context.Context, src Source, r *Resolver, o StaleOptions) (*StaleReport, error) {
	if o.Timeout <= 0 {
		o.Timeout = defaultProbeTimeout
	}
	starts, given, warnings, err := startDirs(o.Dirs, o.Explicit, o.Root, r)
	if err != nil {
		return nil, err
	}
	if r.Files == nil {
		return nil, errNoFiles
	}
	rep := &StaleReport{Dirs: starts, Warnings: warnings}
	files, err := walk(ctx, r, starts, &o, rep)
	if err != nil {
		return nil, err
	}
	snap, err := src.Snapshot(ctx)
	if err != nil {
		return nil, err
	}
	rep.Warnings = append(rep.Warnings, snap.Warnings...)

	lstat := func(p string) (*FileInfo, error) { return r.lstatIn(o.Root, p) }
	stack := r.Files.Stacked()
	live := liveFiles(snap, lstat, stack)
	var refused []StaleFile
	var denied, failed []string // the paths, for the warnings
	var firstErr error
	for _, f := range files {
		if live.ids[f.File.ID.Key()] || live.paths[f.Path] {
			continue
		}
		res, err := r.Files.Recheck(ctx, &f.found, f.probe.do, o.Timeout, false)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if errors.Is(err, fs.ErrNotExist) || errors.Is(err, ErrChanged) {
				continue // gone or replaced since the walk: no longer this file
			}
			failed = append(failed, f.Path)
			firstErr = cmp.Or(firstErr, err)
			continue
		}
		switch res.Reach {
		case ReachRefused:
			f.Reason = ReasonNotBound
			if live.claimed[f.Path] {
				f.Reason = ReasonOtherFile
			}
			r.name(&f.File)
			refused = append(refused, f)
		case ReachDenied:
			denied = append(denied, f.Path)
		case ReachError:
			failed = append(failed, f.Path)
			firstErr = cmp.Or(firstErr, res.Err)
		}
	}
	// A snapshot can miss a socket that lived through it (a dump resumes
	// by position while other sockets close), and a bound socket that does
	// not listen refuses connections as a stale file does: no file is
	// called stale that a second snapshot shows alive, or that either
	// cannot rule out.
	if len(refused) > 0 {
		again, err := src.Snapshot(ctx)
		if err != nil {
			return nil, err
		}
		live2 := liveFiles(again, lstat, stack)
		for _, f := range refused {
			if live2.ids[f.File.ID.Key()] || live2.paths[f.Path] {
				continue
			}
			why := live.unproven(f.Path)
			if why == "" {
				why = live2.unproven(f.Path)
			}
			if why == "" && f.found.Shared != "" {
				why = "on " + f.found.Shared + ", whose files a socket may be bound to through another view (the filesystem it passes through, another machine): a refused connect here proves nothing"
			}
			if why == "" {
				why = live.elsewhere(f.Path, f.File.ID)
			}
			if why == "" {
				why = live2.elsewhere(f.Path, f.File.ID)
			}
			if why != "" {
				f.Reason = why
				rep.Unknown = append(rep.Unknown, f)
				continue
			}
			rep.Stale = append(rep.Stale, f)
		}
	}
	rep.Unchecked = len(denied) + len(failed)
	if len(denied) > 0 {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("%s could not be checked (permission denied); run as root to check them", someFiles(denied)))
	}
	if len(failed) > 0 {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("%s could not be checked: %v", someFiles(failed), firstErr))
	}
	byPath := func(a, b StaleFile) int { return strings.Compare(a.Path, b.Path) }
	slices.SortFunc(rep.Stale, byPath)
	slices.SortFunc(rep.Unknown, byPath)

	rep.Counted = o.Explicit
	for _, e := range r.Entries(ctx, snap, Query{}) {
		if (e.FileStatus != FileGone && e.FileStatus != FileReplaced) || !(e.Listening() || e.Type == TypeDgram) {
			continue
		}
		if o.Explicit && !underDirs(e.Path, given) {
			continue
		}
		if o.Netns != 0 && e.Known.Has(KnownNetns) && e.Netns != o.Netns {
			continue
		}
		rep.Unreachable = append(rep.Unreachable, e)
	}
	return rep, nil
}

// walk finds the socket files under starts through r.Files.
func walk(ctx context.Context, r *Resolver, starts []string, o *StaleOptions, rep *StaleReport) ([]StaleFile, error) {
	w, err := r.Files.Walk(ctx, starts, WalkOptions{Root: o.Root, MaxDepth: o.MaxDepth, CrossFS: o.CrossFS, Progress: o.Progress, Skip: skippedTree})
	if err != nil {
		return nil, err
	}
	if o.Explicit && len(starts) > 0 && w.Opened == 0 {
		// Nothing was looked at: finding nothing stale would be a lie.
		if w.Err == nil {
			return nil, errors.New("no directory given could be read")
		}
		return nil, fmt.Errorf("no directory given could be read (%v)", w.Err)
	}
	rep.Entries, rep.DirsRead, rep.Sockets = w.Entries, w.Dirs, w.Sockets
	if w.Unreadable > 0 {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("%d directories could not be read (%v); socket files in them were not checked", w.Unreadable, w.Err))
	}
	files := make([]StaleFile, len(w.Files))
	for i, f := range w.Files {
		files[i] = StaleFile{Path: f.Path, File: f.File, found: f, files: r.Files, probe: r.Probe}
	}
	return files, nil
}

// RemoveStale deletes a file FindStale judged stale, after proving again,
// through a directory descriptor reached without following symlinks, that
// it is the same socket file and that a connect is still refused. With
// dryRun it proves the same and deletes nothing. An error wrapping
// ErrChanged or fs.ErrNotExist means the file was left alone because it
// changed or went away.
func RemoveStale(ctx context.Context, f *StaleFile, timeout time.Duration, dryRun bool) error {
	if timeout <= 0 {
		timeout = defaultProbeTimeout
	}
	if f.files == nil {
		return errNoFiles
	}
	res, err := f.files.Recheck(ctx, &f.found, f.probe.do, timeout, !dryRun)
	if err != nil {
		return err
	}
	switch res.Reach {
	case ReachRefused:
		f.Removed = !dryRun
		return nil
	case ReachUp, ReachTimeout, ReachNotListening, ReachBusy:
		return fmt.Errorf("%w: a socket answers on it now", ErrChanged)
	case ReachMissing:
		return fmt.Errorf("cannot check it: %w", res.Err)
	}
	return fmt.Errorf("cannot check it: %v", res.Err)
}

// liveSet is what the snapshot says is in use.
type liveSet struct {
	ids map[FileID]bool
	// paths protects files of sockets whose bound file the backend does
	// not know (procfs), by name; relative names cannot be matched.
	paths map[string]bool
	// claimed are the paths a live socket was bound by.
	claimed map[string]bool
	// missing says why sockets may be missing from the snapshot.
	missing string
	// unbound are the names of sockets bound and not listening whose file
	// the backend does not identify: such a socket refuses connects as a
	// stale file does, and may be bound to a file of the same name seen
	// from another directory (relative name) or mount namespace.
	unbound map[string]bool
	// layered are the devices of live sockets' bound files, by inode
	// number: a socket bound through an overlay holds the overlay's
	// inode, and the same file seen in the overlay's upper directory is
	// another inode to the kernel (a connect there is refused) with the
	// same number on another device; bound in the upper directory, the
	// same holds for its file seen through the overlay.
	layered map[uint64][]uint64
	stack   func(dev uint64) Stack
	// relative are the names, by base name, of live sockets bound by a
	// relative name whose file the backend does not identify (procfs).
	relative map[string]string
}

// hold records the file a live socket holds.
func (l *liveSet) hold(id FileID) {
	k := id.Key()
	l.ids[k] = true
	if !slices.Contains(l.layered[k.Ino], k.Dev) {
		l.layered[k.Ino] = append(l.layered[k.Ino], k.Dev)
	}
}

// elsewhere says why the file may be a live socket's file seen through
// another filesystem (an overlay's layer), or "".
func (l *liveSet) elsewhere(p string, id FileID) string {
	if name, ok := l.relative[filepath.Base(p)]; ok {
		return "a live socket bound by the relative name " + strconv.QuoteToASCII(name) + ", whose file the source does not identify, may hold it (seen through an overlay's layer, a connect to it is refused)"
	}
	k := id.Key()
	for _, dev := range l.layered[k.Ino] {
		if dev != k.Dev && mayShow(l.stack, dev, k.Dev) {
			return "a live socket's file on another filesystem (an overlay or FUSE view of this directory?) has the same inode number; the file may be that socket's, seen through a layer"
		}
	}
	return ""
}

// mayShow says whether files on devices a and b with the same inode number
// may be one file seen through a stacking filesystem: when either device
// is a stacking filesystem's whose layers are not known for certain, or
// when the devices that show their files directly meet (a socket bound
// through an overlay and its file seen in a layer, or the reverse).
func mayShow(stack func(uint64) Stack, a, b uint64) bool {
	sa, sb := stack(a), stack(b)
	if !sa.Stacked && !sb.Stacked {
		return false
	}
	if sa.Stacked && !sa.Known || sb.Stacked && !sb.Known {
		return true
	}
	if slices.Contains(sa.Layers, b) || slices.Contains(sb.Layers, a) {
		return true
	}
	return slices.ContainsFunc(sa.Layers, func(x uint64) bool { return slices.Contains(sb.Layers, x) })
}

func liveFiles(snap *Snapshot, lstat func(string) (*FileInfo, error), stack func(dev uint64) Stack) liveSet {
	l := liveSet{ids: map[FileID]bool{}, paths: map[string]bool{}, claimed: map[string]bool{}, missing: snap.Missing, unbound: map[string]bool{}, layered: map[uint64][]uint64{}, relative: map[string]string{}, stack: stack}
	listening := map[string]bool{}
	for i := range snap.Sockets {
		if s := &snap.Sockets[i]; s.State == StateListening && s.Filesystem() {
			listening[s.Path] = true
		}
	}
	for i := range snap.Sockets {
		s := &snap.Sockets[i]
		if !s.Filesystem() {
			continue
		}
		l.claimed[s.Path] = true
		if s.Known.Has(KnownBound) && !s.Bound.IsZero() {
			l.hold(s.Bound)
			continue
		}
		// Only a stream or seqpacket socket bound and not listening
		// refuses a connect to its file; accepted connections (and those
		// not yet accepted, inode 0) carry their listener's name.
		if s.State != StateListening && s.Type != TypeDgram && s.ID != 0 && !listening[s.Path] {
			l.unbound[s.Path] = true
		}
		if !filepath.IsAbs(s.Path) {
			// Its file cannot be found to stat; a connect to it is refused
			// where the file is seen through an overlay's layer.
			l.relative[filepath.Base(s.Path)] = s.Path
			continue
		}
		if l.paths[s.Path] {
			continue // accepted connections repeat their listener's name
		}
		l.paths[s.Path] = true
		// The name may run through a symlinked directory (/var/run): the
		// file it leads to now is protected too. Without the bound file's
		// identity this may protect a stale file that replaced the live
		// one's, which errs on the safe side.
		if fi, err := lstat(s.Path); err == nil && fi.IsSocket() {
			l.hold(fi.ID)
		}
	}
	return l
}

// unproven says why the refused file at p may still be held by a socket
// the snapshot shows without its file, or may not show; "" when nothing
// stands against calling it stale.
func (l *liveSet) unproven(p string) string {
	if l.missing != "" {
		return "some sockets could not be read (" + l.missing + "); one bound there and not listening would refuse connects as well"
	}
	for _, name := range slices.Sorted(maps.Keys(l.unbound)) {
		if !filepath.IsAbs(name) {
			if rel := filepath.Clean(name); p == rel || strings.HasSuffix(p, "/"+rel) {
				return "a socket is bound, not listening, by the relative name " + strconv.QuoteToASCII(name) + ", whose file the source does not identify"
			}
			continue
		}
		if name != p && filepath.Base(name) == filepath.Base(p) {
			return "a socket is bound, not listening, at " + strconv.QuoteToASCII(name) + " in a file tree that may be another mount namespace's, and the source does not identify its file"
		}
	}
	return ""
}

// startDirs resolves the directories to walk and returns them with the
// forms a socket path under them may take (as given, and resolved), both
// as seen under root.
func startDirs(dirs []string, explicit bool, root string, r *Resolver) (starts, given, warnings []string, err error) {
	for _, d := range dirs {
		// filepath.Abs makes "" the working directory: `udsls --stale
		// "$RUNDIR" --remove` with RUNDIR unset would clean wherever it ran.
		if d == "" {
			return nil, nil, nil, errors.New(`directory "": an empty name (an unset variable?)`)
		}
		if root != "" && !filepath.IsAbs(d) {
			return nil, nil, nil, fmt.Errorf("directory %q: must be absolute in another mount namespace", d)
		}
		abs, err := filepath.Abs(d)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("directory %q: %w", d, err)
		}
		var real string
		if root == "" {
			if real, err = filepath.EvalSymlinks(abs); err == nil {
				err = sameDir(abs, real)
			}
		} else {
			real, err = r.ResolveIn(root, abs, true)
		}
		if err == nil {
			var fi os.FileInfo
			if fi, err = os.Stat(root + real); err == nil && !fi.IsDir() {
				err = errors.New("not a directory")
			}
		}
		if err != nil {
			if !explicit && errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if !explicit {
				warnings = append(warnings, fmt.Sprintf("skipping %q: %v", d, errpath.Strip(err)))
				continue
			}
			if errors.Is(err, errOtherTree) {
				return nil, nil, nil, fmt.Errorf("directory %q: %w", d, err)
			}
			return nil, nil, nil, fmt.Errorf("directory %q: %w", d, errpath.Strip(err))
		}
		if skippedTree(real) {
			warnings = append(warnings, fmt.Sprintf("skipping %q: %s holds no socket files", d, real))
			continue
		}
		given = append(given, abs, real)
		if !slices.Contains(starts, real) {
			starts = append(starts, real)
		}
	}
	return starts, given, warnings, nil
}

var errOtherTree = errors.New("it leads into another file tree (through /proc/PID/root or /proc/PID/cwd), " +
	"whose symlinks cannot be resolved by name; name the process with --netns PID and the directory as it sees it: " +
	"udsls --netns PID --stale DIR")

// sameDir requires the resolved form of a directory to be the directory
// itself. Resolving symlinks by name goes wrong through the links procfs
// makes into other file trees: /proc/PID/root reads as "/", so
// /proc/PID/root/run would become our own /run.
func sameDir(given, resolved string) error {
	a, err := os.Stat(given)
	if err != nil {
		return err
	}
	b, err := os.Stat(resolved)
	if err != nil || !os.SameFile(a, b) {
		return errOtherTree
	}
	return nil
}

// skippedTree reports the kernel's virtual trees, which are never walked.
func skippedTree(p string) bool {
	for _, t := range []string{"/proc", "/sys"} {
		if p == t || strings.HasPrefix(p, t+"/") {
			return true
		}
	}
	return false
}

// underDirs reports whether p lies below one of dirs, lexically or once the
// symlinks in its parent directory are resolved.
func underDirs(p string, dirs []string) bool {
	if !filepath.IsAbs(p) {
		return false
	}
	in := func(p string) bool {
		for _, d := range dirs {
			if d == "/" || strings.HasPrefix(p, d+"/") {
				return true
			}
		}
		return false
	}
	if in(p) {
		return true
	}
	parent, err := filepath.EvalSymlinks(filepath.Dir(p))
	return err == nil && in(filepath.Join(parent, filepath.Base(p)))
}

// someFiles names the first few of paths, and counts the rest.
func someFiles(paths []string) string {
	const shown = 3
	s := "socket file "
	if len(paths) > 1 {
		s = strconv.Itoa(len(paths)) + " socket files "
	}
	for i, p := range paths[:min(shown, len(paths))] {
		if i > 0 {
			s += ", "
		}
		s += strconv.Quote(p)
	}
	if len(paths) > shown {
		s += ", ..."
	}
	return s
}
