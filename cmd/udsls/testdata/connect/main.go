// Command connect is the client the --trace tests run: one connect(2),
// nonblocking as most clients' are, on a socket of the type given, to a
// path or an @abstract name. It exits 0 whatever the connect returned.
//
//	connect stream|dgram|seqpacket NAME
package main

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

func main() {
	types := map[string]int{"stream": unix.SOCK_STREAM, "dgram": unix.SOCK_DGRAM, "seqpacket": unix.SOCK_SEQPACKET}
	typ, ok := types[os.Args[1]]
	if len(os.Args) != 3 || !ok {
		fmt.Fprintln(os.Stderr, "usage: connect stream|dgram|seqpacket NAME")
		os.Exit(2)
	}
	fd, err := unix.Socket(unix.AF_UNIX, typ|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	fmt.Println(unix.Connect(fd, &unix.SockaddrUnix{Name: os.Args[2]}))
}
