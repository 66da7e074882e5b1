//go:build linux

// Command traceloop is the load scripts/trace-overhead.sh times: n
// connect(2)s of a new stream socket to a listener it serves itself, then
// 10n getppid(2)s, the cheapest syscall (every syscall passes the hooks
// --trace attaches). It prints the mean CPU time (user and system, of the
// whole process: the listener's accepts count) each took, in nanoseconds:
// on a busy machine wall time mostly measures the wait for a CPU.
//
//	traceloop N
package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

func main() {
	n, err := strconv.Atoi(os.Args[len(os.Args)-1])
	if len(os.Args) != 2 || err != nil || n <= 0 {
		fmt.Fprintln(os.Stderr, "usage: traceloop N")
		os.Exit(2)
	}
	dir, err := os.MkdirTemp("", "traceloop-")
	if err != nil {
		fail(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "loop.sock")
	l, err := net.Listen("unix", path)
	if err != nil {
		fail(err)
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	sa := &unix.SockaddrUnix{Name: path}
	start := cpu()
	for range n {
		fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			fail(err)
		}
		// A blocking connect waits for room in the backlog.
		if err := unix.Connect(fd, sa); err != nil {
			fail(err)
		}
		unix.Close(fd)
	}
	connect := cpu() - start
	start = cpu()
	for range 10 * n {
		syscall.Getppid()
	}
	getppid := cpu() - start
	fmt.Printf("%.0f %.1f\n", float64(connect.Nanoseconds())/float64(n), float64(getppid.Nanoseconds())/float64(10*n))
}

// cpu is the CPU time this process has used.
func cpu() time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		fail(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "traceloop:", err)
	os.Exit(1)
}
