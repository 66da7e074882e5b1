package testserver

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// startExtras opens nothing: macOS has neither the abstract namespace nor
// seqpacket Unix sockets.
func (s *Server) startExtras() error { return nil }

// macOS has no SOCK_CLOEXEC; holding ForkLock keeps a concurrent fork
// from inheriting the descriptor before it is marked, as package net does.

func socketCloexec(typ int) (int, error) {
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	fd, err := unix.Socket(unix.AF_UNIX, typ, 0)
	if err == nil {
		unix.CloseOnExec(fd)
	}
	return fd, err
}

func socketpairCloexec(typ int) ([2]int, error) {
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	fds, err := unix.Socketpair(unix.AF_UNIX, typ, 0)
	if err == nil {
		unix.CloseOnExec(fds[0])
		unix.CloseOnExec(fds[1])
	}
	return fds, err
}

func acceptCloexec(fd int) (int, error) {
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	var nfd int
	err := ignoringEINTR(func() (err error) {
		nfd, _, err = unix.Accept(fd)
		return err
	})
	if err == nil {
		unix.CloseOnExec(nfd)
	}
	return nfd, err
}
