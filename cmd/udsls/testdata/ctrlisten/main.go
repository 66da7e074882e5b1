// Command ctrlisten listens on a Unix socket path and accepts until
// killed: the program the docker tests run in their containers, built
// static so that it needs nothing of the image but itself.
package main

import (
	"fmt"
	"net"
	"os"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: ctrlisten PATH")
		os.Exit(2)
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
