//go:build unix

package main

import (
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// readerGone is closed when w is a pipe whose reader has gone (`udsls --serve | head -1`):
// a server that has written everything it will write would otherwise never learn it, and
// the shell would wait for it forever. Nil when w is not a pipe.
func readerGone(w io.Writer) <-chan struct{} {
	f, ok := w.(*os.File)
	if !ok {
		return nil
	}
	var st unix.Stat_t
	if unix.Fstat(int(f.Fd()), &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFIFO {
		return nil
	}
	gone := make(chan struct{})
	go func() {
		// A pipe's writing end polls POLLERR once no reader is left.
		fds := []unix.PollFd{{Fd: int32(f.Fd())}}
		for {
			if _, err := unix.Poll(fds, -1); err == nil && fds[0].Revents&(unix.POLLERR|unix.POLLHUP|unix.POLLNVAL) != 0 {
				close(gone)
				return
			}
		}
	}()
	return gone
}
