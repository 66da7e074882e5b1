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
)

func main() {
	if len(os.Args) != 2 && len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: ctrlisten PATH [MODE]")
		os.Exit(2)
	}
	l, err := net.Listen("unix", os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if len(os.Args) == 3 {
		mode, err := strconv.ParseUint(os.Args[2], 8, 32)
		if err == nil {
			err = os.Chmod(os.Args[1], os.FileMode(mode))
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	for {
		c, err := l.Accept()
		if err != nil {
			continue
		}
		c.Close()
	}
}
