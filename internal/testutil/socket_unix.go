//go:build unix

package testutil

import (
	"testing"

	"golang.org/x/sys/unix"
)

// StaleSocket leaves a socket file of type typ (unix.SOCK_STREAM …) with
// nothing bound to it, as a crashed server does.
func StaleSocket(t testing.TB, path string, typ int) {
	t.Helper()
	fd, err := unix.Socket(unix.AF_UNIX, typ, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		t.Fatalf("bind %q: %v", path, err)
	}
}

// ListenRaw listens on path with the given backlog, which package net
// does not let a test choose, and returns the descriptor, which the
// caller closes.
func ListenRaw(t testing.TB, path string, backlog int) int {
	t.Helper()
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(fd, backlog); err != nil {
		t.Fatal(err)
	}
	return fd
}
