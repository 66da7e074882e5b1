//go:build unix

package inspect

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// walker finds socket files. It opens every directory relative to its
// parent's descriptor with O_NOFOLLOW, so a directory swapped for a
// symlink mid-walk is not followed, and lstats only the entries getdents
// typed as sockets (the os package lstats DT_UNKNOWN ones itself).
type walker struct {
	ctx        context.Context
	o          *StaleOptions
	seen       map[FileID]bool // directories, so bind mounts and nested starts are walked once
	files      []StaleFile
	entries    int
	dirs       int
	sockets    int
	unreadable int
	firstErr   error
	// opened counts the start directories that could be opened.
	opened int
}

func walkSockets(ctx context.Context, starts []string, o *StaleOptions, rep *StaleReport) ([]StaleFile, error) {
	w := &walker{ctx: ctx, o: o, seen: map[FileID]bool{}}
	for _, s := range starts {
		if err := w.start(s); err != nil {
			return nil, err
		}
	}
	if o.Explicit && len(starts) > 0 && w.opened == 0 {
		// Nothing was looked at: finding nothing stale would be a lie.
		if w.firstErr == nil {
			return nil, errors.New("no directory given could be read")
		}
		return nil, fmt.Errorf("no directory given could be read (%v)", w.firstErr)
	}
	rep.Entries, rep.DirsRead, rep.Sockets = w.entries, w.dirs, w.sockets
	if w.unreadable > 0 {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("%d directories could not be read (%v); socket files in them were not checked", w.unreadable, w.firstErr))
	}
	return w.files, nil
}

func (w *walker) start(path string) error {
	if w.o.MaxDepth < 1 {
		w.opened++
		return nil
	}
	fd, err := unix.Open(w.o.Root+path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		w.unreadableDir(err)
		return nil
	}
	w.opened++
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return fmt.Errorf("directory %q: %w", path, err)
	}
	id := FileID{Dev: uint64(st.Dev), Ino: uint64(st.Ino)}
	if w.seen[id] {
		unix.Close(fd)
		return nil
	}
	w.seen[id] = true
	return w.walk(fd, path, id.Dev, 1)
}

func (w *walker) unreadableDir(err error) {
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOTDIR) {
		return // gone, or replaced by a symlink or file since it was listed
	}
	w.unreadable++
	if w.firstErr == nil {
		w.firstErr = err
		if errors.Is(err, unix.EACCES) {
			w.firstErr = errors.New("permission denied")
		}
	}
}

// walk reads the directory open at fd, whose entries are at depth, and
// takes ownership of fd.
func (w *walker) walk(fd int, path string, dev uint64, depth int) error {
	// The name lets the os package lstat DT_UNKNOWN entries by path.
	f := os.NewFile(uintptr(fd), path)
	defer f.Close()
	w.dirs++
	shared := sharedFS(fd)
	unexamined := false
	for {
		if err := w.ctx.Err(); err != nil {
			return err
		}
		ents, err := f.ReadDir(1024)
		for _, de := range ents {
			w.entries++
			if w.o.Progress != nil && w.entries%4096 == 0 {
				w.o.Progress(w.entries, w.dirs)
			}
			switch de.Type() {
			case fs.ModeSocket:
				// A directory we may read but not search (r without x)
				// lists its entries but cannot show them: counted once
				// as unreadable, never silently skipped.
				if err := w.socket(fd, path, de.Name(), shared); err != nil && !unexamined {
					unexamined = true
					w.unreadableDir(err)
				}
			case fs.ModeDir:
				if depth >= w.o.MaxDepth {
					continue
				}
				if err := w.subdir(fd, path, de.Name(), dev, depth+1); err != nil {
					return err
				}
			}
		}
		if err == io.EOF || (err == nil && len(ents) == 0) {
			return nil
		}
		if err != nil {
			if !errors.Is(err, unix.ENOENT) {
				w.unreadableDir(unwrapPath(err))
			}
			return nil
		}
	}
}

// socket examines a directory entry typed as a socket; an error means it
// could not be examined.
func (w *walker) socket(dirfd int, dir, name, shared string) error {
	fi, changed, err := statAt(dirfd, name, w.o.Root, false)
	if err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil // gone since getdents
		}
		return err
	}
	if !fi.IsSocket() {
		return nil
	}
	w.sockets++
	w.files = append(w.files, StaleFile{Path: childPath(dir, name), File: *fi, changed: changed, root: w.o.Root, shared: shared})
	return nil
}

func (w *walker) subdir(dirfd int, dir, name string, dev uint64, depth int) error {
	path := childPath(dir, name)
	if skippedTree(path) {
		return nil
	}
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		w.unreadableDir(err)
		return nil
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		w.unreadableDir(err)
		return nil
	}
	id := FileID{Dev: uint64(st.Dev), Ino: uint64(st.Ino)}
	if (id.Dev != dev && !w.o.CrossFS) || w.seen[id] {
		unix.Close(fd)
		return nil
	}
	w.seen[id] = true
	return w.walk(fd, path, dev, depth)
}

func childPath(dir, name string) string {
	if strings.HasSuffix(dir, "/") {
		return dir + name
	}
	return dir + "/" + name
}

// statMode converts st_mode as the os package does.
func statMode(m uint32) fs.FileMode {
	mode := fs.FileMode(m & 0o777)
	switch m & unix.S_IFMT {
	case unix.S_IFSOCK:
		mode |= fs.ModeSocket
	case unix.S_IFDIR:
		mode |= fs.ModeDir
	case unix.S_IFLNK:
		mode |= fs.ModeSymlink
	case unix.S_IFIFO:
		mode |= fs.ModeNamedPipe
	case unix.S_IFCHR:
		mode |= fs.ModeDevice | fs.ModeCharDevice
	case unix.S_IFBLK:
		mode |= fs.ModeDevice
	case unix.S_IFREG:
	default:
		mode |= fs.ModeIrregular
	}
	if m&unix.S_ISUID != 0 {
		mode |= fs.ModeSetuid
	}
	if m&unix.S_ISGID != 0 {
		mode |= fs.ModeSetgid
	}
	if m&unix.S_ISVTX != 0 {
		mode |= fs.ModeSticky
	}
	return mode
}

// openParent opens the directory holding the absolute, clean path by
// walking from root ("" for /) one component at a time with O_NOFOLLOW, so
// that no directory swapped for a symlink can redirect what is done through
// the returned descriptor.
func openParent(root, path string) (int, string, error) {
	if !filepath.IsAbs(path) || filepath.Clean(path) != path || path == "/" {
		return -1, "", fmt.Errorf("%q is not a clean absolute path", path)
	}
	dir, name := filepath.Split(path)
	fd, err := unix.Open(root+"/", unix.O_DIRECTORY|parentOpenFlags|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, "", err
	}
	for _, c := range strings.Split(strings.Trim(dir, "/"), "/") {
		if c == "" {
			continue
		}
		next, err := unix.Openat(fd, c, unix.O_DIRECTORY|unix.O_NOFOLLOW|parentOpenFlags|unix.O_CLOEXEC, 0)
		unix.Close(fd)
		if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOTDIR) {
			return -1, "", fmt.Errorf("%w: %q on the way is no longer a directory", ErrChanged, c)
		}
		if err != nil {
			return -1, "", err
		}
		fd = next
	}
	return fd, name, nil
}

// checkStale re-examines the socket file the walk found: it requires the
// file, reached through openParent, to be a socket with the same device,
// inode and status change time before and after a connect probe, and with
// unlink set removes it (removeAt) when the probe was refused.
//
// Where it can (Linux), it holds the file open (O_PATH) from the first
// check on: an inode in use is never given to another file, so a file
// later found with the same device and inode is this one, and the probe
// connects through the descriptor to this very file, whatever the length
// of its path.
func checkStale(ctx context.Context, f *StaleFile, timeout time.Duration, unlink bool) (ProbeResult, error) {
	dirfd, name, err := openParent(f.root, f.Path)
	if err != nil {
		return ProbeResult{}, err
	}
	defer unix.Close(dirfd)
	pin, err := pinFile(dirfd, name)
	switch {
	case err == nil:
		defer unix.Close(pin)
	case errors.Is(err, errors.ErrUnsupported):
		pin = -1
	default:
		return ProbeResult{}, err
	}
	same := func() error {
		fi, changed, err := statAt(dirfd, name, f.root, true)
		if err != nil {
			return err
		}
		switch {
		case !fi.IsSocket():
			return fmt.Errorf("%w: no longer a socket", ErrChanged)
		case fi.ID != f.File.ID || !changed.Equal(f.changed):
			return fmt.Errorf("%w: a different or modified socket file is there now", ErrChanged)
		}
		if pin < 0 {
			return nil
		}
		held, changed, err := statAt(pin, "", f.root, true)
		if err != nil {
			return err
		}
		if held.ID != f.File.ID || !changed.Equal(f.changed) {
			return fmt.Errorf("%w: a different or modified socket file is there now", ErrChanged)
		}
		return nil
	}
	if err := same(); err != nil {
		return ProbeResult{}, err
	}
	res := probeFile(ctx, f.probe, dirfd, pin, f.root+f.Path, name, f.File.ID, timeout)
	if err := same(); err != nil {
		return ProbeResult{}, err
	}
	if unlink && res.Reach == ReachRefused {
		if beforeRemoveAt != nil {
			beforeRemoveAt(f.root + f.Path)
		}
		if err := removeAt(ctx, dirfd, pin, name, f, timeout); err != nil {
			return ProbeResult{}, err
		}
	}
	return res, nil
}

// beforeRemoveAt, when set, runs after the last check and before removeAt:
// tests put another file at the path there.
var beforeRemoveAt func(path string)

// removeAt deletes the file proven stale without the window a plain
// unlink by name leaves, in which another process could put a live
// socket's file at the name (a server that cleans up and binds again):
// what is at the name is first renamed to a private name in the same
// directory, which no one else uses, then checked to be the proven file
// and still refused, and only then unlinked; anything else is renamed
// back. Where renameat2's RENAME_NOREPLACE is missing (not Linux, or a
// filesystem without it), the file is unlinked by name, leaving that
// window, microseconds wide, open.
func removeAt(ctx context.Context, dirfd, pin int, name string, f *StaleFile, timeout time.Duration) error {
	tmp, err := privateName()
	if err != nil {
		return err
	}
	switch err := renameNoReplace(dirfd, name, tmp); {
	case err == nil:
	case errors.Is(err, unix.EINVAL), errors.Is(err, unix.ENOSYS), errors.Is(err, errors.ErrUnsupported):
		return unix.Unlinkat(dirfd, name, 0)
	default:
		return err
	}
	verify := func() error {
		fi, _, err := statAt(dirfd, tmp, f.root, true)
		switch {
		case err != nil:
			return err
		case !fi.IsSocket() || fi.ID != f.File.ID:
			// A rename sets the status change time: the pinned inode,
			// which cannot be another file's, tells it apart.
			return fmt.Errorf("%w: a different socket file was put there", ErrChanged)
		}
		res := probeFile(ctx, f.probe, dirfd, pin, filepath.Join(filepath.Dir(f.root+f.Path), tmp), tmp, f.File.ID, timeout)
		if res.Reach != ReachRefused {
			return fmt.Errorf("%w: a connect is no longer refused (%v)", ErrChanged, res.Reach)
		}
		return nil
	}
	err = verify()
	if err == nil {
		err = unix.Unlinkat(dirfd, tmp, 0)
		if err == nil {
			return nil
		}
	}
	if rerr := renameNoReplace(dirfd, tmp, name); rerr != nil {
		return fmt.Errorf("%v; it was moved aside to %q in the same directory and could not be put back: %v", err, tmp, rerr)
	}
	return err
}

// privateName is a name in the file's directory that no one else uses.
func privateName() (string, error) {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return ".udsls-remove-" + hex.EncodeToString(b[:]), nil
}

// probeFile probes the file held open at pin, through its /proc/self/fd
// name, which is short and leads to that very file; without one (pin < 0,
// no procfs) it probes by name, as probeAt does.
func probeFile(ctx context.Context, probe probeFunc, dirfd, pin int, path, name string, id FileID, timeout time.Duration) ProbeResult {
	if pin >= 0 {
		res := probe.do(ctx, fdPath(pin, ""), timeout)
		if res.Reach != ReachMissing {
			return res
		}
	}
	return probeAt(ctx, probe, dirfd, path, name, id, timeout)
}

// probeAt probes the file name in the directory open at dirfd. connect(2)
// takes a path of at most 107 bytes, so it goes through the descriptor's
// /proc/self/fd name where there is one (Linux); otherwise through the
// full path, trusted only if lstat finds the same file there before and
// after, which shows the probe did not land on another file.
func probeAt(ctx context.Context, probe probeFunc, dirfd int, path, name string, id FileID, timeout time.Duration) ProbeResult {
	if p := fdPath(dirfd, name); p != "" && len(p) < len(unix.RawSockaddrUnix{}.Path) {
		res := probe.do(ctx, p, timeout)
		if res.Reach != ReachMissing {
			return res
		}
		// No procfs, or the file went away; the full path tells which.
	}
	at := func() error {
		fi, err := lstat(path)
		switch {
		case err != nil:
			return err
		case !fi.IsSocket() || fi.ID != id:
			return errors.New("the path leads to another file than the one examined")
		}
		return nil
	}
	failed := func(err error) ProbeResult {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, errNotDir) {
			return ProbeResult{Reach: ReachMissing, Err: err}
		}
		return ProbeResult{Reach: ReachError, Err: err}
	}
	if err := at(); err != nil {
		return failed(err)
	}
	res := probe.do(ctx, path, timeout)
	if err := at(); err != nil {
		return failed(err)
	}
	return res
}
