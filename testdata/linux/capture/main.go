// Command capture opens Unix domain sockets of every kind and prints
// /proc/net/unix while they are open. Run it as root in a fresh network
// and mount namespace with a tmpfs on /srv, so the capture holds only its
// sockets and names no path of the capturing machine; see ../PROVENANCE.md.
package main

import (
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "capture:", err)
		os.Exit(1)
	}
}

func run() error {
	if err := os.MkdirAll("/srv/app", 0o755); err != nil {
		return err
	}
	if err := os.Chdir("/srv"); err != nil {
		return err
	}
	// A stream listener with one accepted connection, one waiting to be
	// accepted, and one whose client gave up before it was accepted.
	api := listen(unix.SOCK_STREAM, "/srv/app/api.sock")
	client := dial(unix.SOCK_STREAM, "/srv/app/api.sock")
	accept(api)
	dial(unix.SOCK_STREAM, "/srv/app/api.sock")
	unix.Close(dial(unix.SOCK_STREAM, "/srv/app/api.sock"))
	_ = client

	// A bound datagram socket and an unnamed one connected to it.
	bind(sock(unix.SOCK_DGRAM), "/srv/app/log.sock")
	dial(unix.SOCK_DGRAM, "/srv/app/log.sock")

	// An abstract seqpacket listener with one accepted connection.
	seq := listen(unix.SOCK_SEQPACKET, "@udsls-fixture/seq")
	dial(unix.SOCK_SEQPACKET, "@udsls-fixture/seq")
	accept(seq)

	for _, typ := range []int{unix.SOCK_STREAM, unix.SOCK_DGRAM, unix.SOCK_SEQPACKET} {
		if _, err := unix.Socketpair(unix.AF_UNIX, typ, 0); err != nil {
			return err
		}
	}
	sock(unix.SOCK_STREAM) // neither bound nor connected

	// Names that break naive parsers.
	listen(unix.SOCK_STREAM, "/srv/app/my socket.sock")
	bind(sock(unix.SOCK_DGRAM), " lead space.sock") // relative to /srv
	bind(sock(unix.SOCK_DGRAM), "")                 // autobind: abstract, 5 hex digits
	bind(sock(unix.SOCK_DGRAM), "@emb\x00edded")
	listen(unix.SOCK_STREAM, "/srv/app/new\nline\x1b[31m.sock")
	bind(sock(unix.SOCK_DGRAM), "/srv/app/trail\n")

	f, err := os.Open("/proc/net/unix")
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(os.Stdout, f)
	return err
}

func sock(typ int) int {
	fd, err := unix.Socket(unix.AF_UNIX, typ, 0)
	check(err)
	return fd
}

func bind(fd int, name string) {
	check(unix.Bind(fd, &unix.SockaddrUnix{Name: name}))
}

func listen(typ int, name string) int {
	fd := sock(typ)
	bind(fd, name)
	check(unix.Listen(fd, 8))
	return fd
}

func dial(typ int, name string) int {
	fd := sock(typ)
	check(unix.Connect(fd, &unix.SockaddrUnix{Name: name}))
	return fd
}

func accept(fd int) {
	_, _, err := unix.Accept(fd)
	check(err)
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "capture:", err)
		os.Exit(1)
	}
}
