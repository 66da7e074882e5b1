package inspect

import (
	"context"
	"errors"
	"time"
)

// Files is the file tree FindStale walks and RemoveStale removes from.
// platform/sys implements it for this machine; the logic that judges what
// is stale stays here and is tested on fakes.
type Files interface {
	// Walk finds the socket files below starts (absolute, symlinks
	// resolved, as seen under o.Root), never following a symlink on the
	// way down. A start directory that cannot be opened is counted, not an
	// error.
	Walk(ctx context.Context, starts []string, o WalkOptions) (*Walk, error)
	// Recheck examines f again, through directories reached from its root
	// without following symlinks, and requires it to be the same socket
	// file (device, inode, status change time) before and after a connect
	// probe. With unlink it removes the file when the connect was refused,
	// so that no file is removed but the one proven. An error wrapping
	// ErrChanged or fs.ErrNotExist means the file is not the one found.
	Recheck(ctx context.Context, f *FoundFile, probe ProbeFunc, timeout time.Duration, unlink bool) (ProbeResult, error)
	// Stacked tells what is known of each device's stacking: whether it
	// may be a stacking filesystem's (overlayfs, FUSE), whose files are
	// another filesystem's seen through it, and on which devices.
	Stacked() func(dev uint64) Stack
}

// Stack is what is known of the filesystems a device's files may be seen
// on directly.
type Stack struct {
	// Stacked says the device may be a stacking filesystem's.
	Stacked bool
	// Known says Layers holds every device other than this one on which
	// its files are seen directly (an overlay's layers, and theirs when
	// a layer is itself an overlay). Without it any device may be.
	Known  bool
	Layers []uint64
}

// ProbeFunc connects to the socket at path, as Resolver.Probe does.
type ProbeFunc func(ctx context.Context, path string, timeout time.Duration) ProbeResult

// WalkOptions bound a walk; they come from StaleOptions.
type WalkOptions struct {
	Root     string
	MaxDepth int
	CrossFS  bool
	Progress func(files, dirs int)
	// Skip names directories never entered (the kernel's virtual trees).
	Skip func(dir string) bool
}

// Walk is what a walk found and looked at.
type Walk struct {
	Files                  []FoundFile
	Entries, Dirs, Sockets int
	// Opened counts the start directories that could be opened;
	// Unreadable the directories that could not be read, for the first
	// of which Err says why.
	Opened, Unreadable int
	Err                error
}

// FoundFile is a socket file as a walk found it.
type FoundFile struct {
	// Root is the walk's WalkOptions.Root, under which Path lies.
	Root string
	Path string
	File FileInfo
	// Changed is the file's status change time at the walk: a file made
	// since may have been given the same inode number.
	Changed time.Time
	// Shared names the file's filesystem when it is one whose files a
	// socket may be bound to through another view (FUSE, NFS, 9p …): a
	// refused connect there proves nothing.
	Shared string
}

// ErrNotDir marks a path with a component that is not a directory
// (ENOTDIR), which has no fs sentinel; Lstat implementations wrap it.
var ErrNotDir = errors.New("not a directory")

var errNoFiles = errors.New("no file tree to search: the resolver has no Files")
