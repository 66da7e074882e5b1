//go:build unix

package sys

import (
	"errors"
	"io/fs"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/udsls/udsls/inspect"
)

// Lstat examines path without following a final symlink, as
// inspect.Resolver.Lstat. The device in the identity is the one the kernel
// reports for a bound socket (see statAt), so that the two compare on
// every filesystem.
func Lstat(path string) (*inspect.FileInfo, error) {
	fi, _, err := statAt(unix.AT_FDCWD, path, rootOf(path), false)
	if err != nil {
		if errors.Is(err, syscall.ENOTDIR) {
			return nil, inspect.ErrNotDir
		}
		return nil, &fs.PathError{Op: "lstat", Path: path, Err: err}
	}
	return fi, nil
}
