//go:build unix && !linux

package sys

import (
	"errors"

	"golang.org/x/sys/unix"

	"github.com/udsls/udsls/inspect"
)

const parentOpenFlags = unix.O_RDONLY

// fdPath returns "": there is no path that names a file through a
// directory descriptor here.
func fdPath(int, string) string { return "" }

// pinFile: no descriptor here both holds a socket file and leads a
// connect(2) to it.
func pinFile(int, string) (int, error) { return -1, errors.ErrUnsupported }

func renameNoReplace(int, string, string) error { return errors.ErrUnsupported }

// stackedDevs: no source here identifies a socket's bound file.
func stackedDevs() func(uint64) inspect.Stack {
	return func(uint64) inspect.Stack { return inspect.Stack{} }
}

// sharedFS: filesystem types are not told apart here.
func sharedFS(int) string { return "" }
