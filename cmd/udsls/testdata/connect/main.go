// Command connect is the client the --trace tests run: one connect(2),
// nonblocking as most clients' are, on a socket of the type given, to a
// path or an @abstract name. It exits 0 whatever the connect returned.
//
//	connect stream|dgram|seqpacket NAME
//
// With -wait N it is a client running already when a trace starts: it
// says "ready" on stdout, waits for a line on stdin, then makes N connects
// (each on a socket of its own) and says "done".
//
//	connect -wait N stream|dgram|seqpacket NAME
package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

func main() {
	args, n, wait := os.Args[1:], 1, false
	if len(args) == 4 && args[0] == "-wait" {
		var err error
		if n, err = strconv.Atoi(args[1]); err != nil || n < 1 {
			usage()
		}
		args, wait = args[2:], true
	}
	types := map[string]int{"stream": unix.SOCK_STREAM, "dgram": unix.SOCK_DGRAM, "seqpacket": unix.SOCK_SEQPACKET}
	if len(args) != 2 {
		usage()
	}
	typ, ok := types[args[0]]
	if !ok {
		usage()
	}
	if wait {
		fmt.Println("ready")
		if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
	}
	for range n {
		fd, err := unix.Socket(unix.AF_UNIX, typ|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		fmt.Println(unix.Connect(fd, &unix.SockaddrUnix{Name: args[1]}))
		unix.Close(fd)
	}
	if wait {
		fmt.Println("done")
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: connect [-wait N] stream|dgram|seqpacket NAME")
	os.Exit(2)
}
