// Command ctrlisten listens on a Unix socket path, with the file's mode
// set when one is given, and accepts until killed: the program the docker
// tests run in their containers, built static so that it needs nothing of
// the image but itself.
package main

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"syscall"
)

func main() {
	if len(os.Args) != 2 && len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: ctrlisten PATH [MODE]")
		os.Exit(2)
	}
	// The mode is the file's from its bind on, through the umask: a
	// chmod after the listen left a moment when a test saw the file with
	// the mode bind gave it.
	if len(os.Args) == 3 {
		mode, err := strconv.ParseUint(os.Args[2], 8, 32)
		if err != nil || mode > 0o777 {
			fmt.Fprintf(os.Stderr, "mode %q: want an octal permission\n", os.Args[2])
			os.Exit(2)
		}
		syscall.Umask(int(0o777 &^ mode))
	}
	l, err := net.Listen("unix", os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for {
		c, err := l.Accept()
		if err != nil {
			continue
		}
		c.Close()
	}
}
