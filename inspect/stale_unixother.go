//go:build unix && !linux

package inspect

import "golang.org/x/sys/unix"

const parentOpenFlags = unix.O_RDONLY

// fdPath returns "": there is no path that names a file through a
// directory descriptor here.
func fdPath(int, string) string { return "" }
