//go:build unix

package inspect

import (
	"errors"
	"io/fs"
	"syscall"

	"golang.org/x/sys/unix"
)

// lstat examines path without following a final symlink. The device in
// the identity is the one the kernel reports for a bound socket (see
// statAt), so that the two compare on every filesystem.
func lstat(path string) (*FileInfo, error) {
	fi, _, err := statAt(unix.AT_FDCWD, path, rootOf(path), false)
	if err != nil {
		if errors.Is(err, syscall.ENOTDIR) {
			return nil, errNotDir
		}
		return nil, &fs.PathError{Op: "lstat", Path: path, Err: err}
	}
	return fi, nil
}
