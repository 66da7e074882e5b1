//go:build unix

package sys

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

	"github.com/udsls/udsls/inspect"
	"github.com/udsls/udsls/internal/errpath"
)

// fileTree is this machine's file tree as inspect.Files.
type fileTree struct {
	// beforeRemove, when set, runs after the last check and before
	// removeAt: tests put another file at the path there.
	beforeRemove func(path string)
}

// Stacked implements inspect.Files.
func (*fileTree) Stacked() func(uint64) inspect.Stack { return stackedDevs() }

// walker finds socket files. It opens every directory relative to its
// parent's descriptor with O_NOFOLLOW, so a directory swapped for a
// symlink mid-walk is not followed, and lstats only the entries getdents
// typed as sockets (the os package lstats DT_UNKNOWN ones itself).
type walker struct {
	ctx  context.Context
	o    *inspect.WalkOptions
	seen map[inspect.FileID]bool // directories, so bind mounts and nested starts are walked once
	inspect.Walk
}

// Walk implements inspect.Files.
func (*fileTree) Walk(ctx context.Context, starts []string, o inspect.WalkOptions) (*inspect.Walk, error) {
	w := &walker{ctx: ctx, o: &o, seen: map[inspect.FileID]bool{}}
	for _, s := range starts {
		if err := w.start(s); err != nil {
			return nil, err
		}
	}
	return &w.Walk, nil
}

func (w *walker) start(path string) error {
	if w.o.MaxDepth < 1 {
		w.Opened++
		return nil
	}
	fd, err := unix.Open(w.o.Root+path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		w.unreadableDir(err)
		return nil
	}
	w.Opened++
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return fmt.Errorf("directory %q: %w", path, err)
	}
	id := inspect.FileID{Dev: uint64(st.Dev), Ino: uint64(st.Ino)}
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
	w.Unreadable++
	if w.Err == nil {
		w.Err = err
		if errors.Is(err, unix.EACCES) {
			w.Err = errors.New("permission denied")
		}
	}
}

// walk reads the directory open at fd, whose entries are at depth, and
// takes ownership of fd.
func (w *walker) walk(fd int, path string, dev uint64, depth int) error {
	// The name lets the os package lstat DT_UNKNOWN entries by path.
	f := os.NewFile(uintptr(fd), path)
	defer f.Close()
	w.Dirs++
	shared := sharedFS(fd)
	unexamined := false
	for {
		if err := w.ctx.Err(); err != nil {
			return err
		}
		ents, err := f.ReadDir(1024)
		for _, de := range ents {
			w.Entries++
			if w.o.Progress != nil && w.Entries%4096 == 0 {
				w.o.Progress(w.Entries, w.Dirs)
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
				w.unreadableDir(errpath.Strip(err))
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
	w.Sockets++
	w.Files = append(w.Files, inspect.FoundFile{Root: w.o.Root, Path: childPath(dir, name), File: *fi, Changed: changed, Shared: shared})
	return nil
}

func (w *walker) subdir(dirfd int, dir, name string, dev uint64, depth int) error {
	path := childPath(dir, name)
	if w.o.Skip != nil && w.o.Skip(path) {
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
	id := inspect.FileID{Dev: uint64(st.Dev), Ino: uint64(st.Ino)}
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
			return -1, "", fmt.Errorf("%w: %q on the way is no longer a directory", inspect.ErrChanged, c)
		}
		if err != nil {
			return -1, "", err
		}
		fd = next
	}
	return fd, name, nil
}

// Recheck implements inspect.Files. It re-examines the socket file the
// walk found: it requires the file, reached through openParent, to be a
// socket with the same device, inode and status change time before and
// after a connect probe, and with unlink set removes it (removeAt) when
// the probe was refused.
//
// Where it can (Linux), it holds the file open (O_PATH) from the first
// check on: an inode in use is never given to another file, so a file
// later found with the same device and inode is this one, and the probe
// connects through the descriptor to this very file, whatever the length
// of its path.
func (t *fileTree) Recheck(ctx context.Context, f *inspect.FoundFile, probe inspect.ProbeFunc, timeout time.Duration, unlink bool) (inspect.ProbeResult, error) {
	dirfd, name, err := openParent(f.Root, f.Path)
	if err != nil {
		return inspect.ProbeResult{}, err
	}
	defer unix.Close(dirfd)
	pin, err := pinFile(dirfd, name)
	switch {
	case err == nil:
		defer unix.Close(pin)
	case errors.Is(err, errors.ErrUnsupported):
		pin = -1
	default:
		return inspect.ProbeResult{}, err
	}
	same := func() error {
		fi, changed, err := statAt(dirfd, name, f.Root, true)
		if err != nil {
			return err
		}
		switch {
		case !fi.IsSocket():
			return fmt.Errorf("%w: no longer a socket", inspect.ErrChanged)
		case fi.ID != f.File.ID || !changed.Equal(f.Changed):
			return fmt.Errorf("%w: a different or modified socket file is there now", inspect.ErrChanged)
		}
		if pin < 0 {
			return nil
		}
		held, changed, err := statAt(pin, "", f.Root, true)
		if err != nil {
			return err
		}
		if held.ID != f.File.ID || !changed.Equal(f.Changed) {
			return fmt.Errorf("%w: a different or modified socket file is there now", inspect.ErrChanged)
		}
		return nil
	}
	if err := same(); err != nil {
		return inspect.ProbeResult{}, err
	}
	res := probeFile(ctx, probe, dirfd, pin, f.Root+f.Path, name, f.File.ID, timeout)
	if err := same(); err != nil {
		return inspect.ProbeResult{}, err
	}
	if unlink && res.Reach == inspect.ReachRefused {
		if t.beforeRemove != nil {
			t.beforeRemove(f.Root + f.Path)
		}
		if err := removeAt(ctx, probe, dirfd, pin, name, f, timeout); err != nil {
			return inspect.ProbeResult{}, err
		}
	}
	return res, nil
}

// removeAt deletes the file proven stale without the window a plain
// unlink by name leaves, in which another process could put a live
// socket's file at the name (a server that cleans up and binds again):
// what is at the name is first renamed to a private name in the same
// directory, which no one else uses, then checked to be the proven file
// and still refused, and only then unlinked; anything else is renamed
// back. Where renameat2's RENAME_NOREPLACE is missing (not Linux, or a
// filesystem without it), the file is unlinked by name, leaving that
// window, microseconds wide, open.
func removeAt(ctx context.Context, probe inspect.ProbeFunc, dirfd, pin int, name string, f *inspect.FoundFile, timeout time.Duration) error {
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
		fi, _, err := statAt(dirfd, tmp, f.Root, true)
		switch {
		case err != nil:
			return err
		case !fi.IsSocket() || fi.ID != f.File.ID:
			// A rename sets the status change time: the pinned inode,
			// which cannot be another file's, tells it apart.
			return fmt.Errorf("%w: a different socket file was put there", inspect.ErrChanged)
		}
		res := probeFile(ctx, probe, dirfd, pin, filepath.Join(filepath.Dir(f.Root+f.Path), tmp), tmp, f.File.ID, timeout)
		if res.Reach != inspect.ReachRefused {
			return fmt.Errorf("%w: a connect is no longer refused (%v)", inspect.ErrChanged, res.Reach)
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
func probeFile(ctx context.Context, probe inspect.ProbeFunc, dirfd, pin int, path, name string, id inspect.FileID, timeout time.Duration) inspect.ProbeResult {
	if pin >= 0 {
		res := probe(ctx, fdPath(pin, ""), timeout)
		if res.Reach != inspect.ReachMissing {
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
func probeAt(ctx context.Context, probe inspect.ProbeFunc, dirfd int, path, name string, id inspect.FileID, timeout time.Duration) inspect.ProbeResult {
	if p := fdPath(dirfd, name); p != "" && len(p) < len(unix.RawSockaddrUnix{}.Path) {
		res := probe(ctx, p, timeout)
		if res.Reach != inspect.ReachMissing {
			return res
		}
		// No procfs, or the file went away; the full path tells which.
	}
	at := func() error {
		fi, err := Lstat(path)
		switch {
		case err != nil:
			return err
		case !fi.IsSocket() || fi.ID != id:
			return errors.New("the path leads to another file than the one examined")
		}
		return nil
	}
	failed := func(err error) inspect.ProbeResult {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, inspect.ErrNotDir) {
			return inspect.ProbeResult{Reach: inspect.ReachMissing, Err: err}
		}
		return inspect.ProbeResult{Reach: inspect.ReachError, Err: err}
	}
	if err := at(); err != nil {
		return failed(err)
	}
	res := probe(ctx, path, timeout)
	if err := at(); err != nil {
		return failed(err)
	}
	return res
}
