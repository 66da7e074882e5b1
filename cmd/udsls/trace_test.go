//go:build unix

package main

import (
	"syscall"
	"testing"
)

// TestErrnoName: errnos by their <errno.h> names, the kernel's restart
// codes (which reach the tracepoint, not the process) by theirs, and any
// other by number.
func TestErrnoName(t *testing.T) {
	for e, want := range map[syscall.Errno]string{
		syscall.ECONNREFUSED: "ECONNREFUSED", syscall.EAGAIN: "EAGAIN", syscall.EPROTOTYPE: "EPROTOTYPE",
		512: "ERESTARTSYS", 516: "ERESTART_RESTARTBLOCK", 4000: "errno 4000",
	} {
		if got := errnoName(e); got != want {
			t.Errorf("errnoName(%d) = %q, want %q", int(e), got, want)
		}
	}
}
