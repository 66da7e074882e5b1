//go:build unix && !linux

package sys

import "golang.org/x/sys/unix"

// longAbstract is false where there is no abstract namespace.
func longAbstract(string) bool { return false }

func connectName(fd int, name string) error {
	return unix.Connect(fd, &unix.SockaddrUnix{Name: name})
}

// shortName has no shorter name to give without /proc/self/fd.
func shortName(string) (string, func(), error) { return "", nil, unix.ENAMETOOLONG }
