//go:build unix

package main

import (
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// errnoName names an errno as <errno.h> does. A connect cut short by a
// signal returns one of the kernel's own restart codes to the tracepoint,
// which the process never sees: it gets EINTR, or the call again.
func errnoName(e syscall.Errno) string {
	if n := unix.ErrnoName(e); n != "" {
		return n
	}
	switch e {
	case 512:
		return "ERESTARTSYS"
	case 513:
		return "ERESTARTNOINTR"
	case 514:
		return "ERESTARTNOHAND"
	case 516:
		return "ERESTART_RESTARTBLOCK"
	}
	return "errno " + strconv.Itoa(int(e))
}
