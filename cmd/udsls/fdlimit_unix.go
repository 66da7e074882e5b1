//go:build unix

package main

import (
	"fmt"
	"syscall"
)

// minFDs is the fewest descriptors udsls runs with: stdio, the Go
// runtime's poller, which aborts the whole process when it cannot open its
// own two, a netlink socket, /proc and one process's fd directory, a probe,
// and room to spare.
const minFDs = 16

// checkFDLimit refuses to start with fewer descriptors than minFDs, which
// would end in a runtime abort or in holders silently cut short.
func checkFDLimit() error {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil || rl.Cur >= minFDs {
		return nil
	}
	return fmt.Errorf("only %d file descriptors allowed (RLIMIT_NOFILE); udsls needs at least %d", rl.Cur, minFDs)
}
