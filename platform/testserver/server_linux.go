package testserver

import (
	"fmt"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/udsls/udsls/inspect"
)

// abstractSeq tells apart the abstract names of servers in one process.
var abstractSeq atomic.Int64

// startExtras opens the kinds only Linux has: an abstract listener and a
// seqpacket echo listener.
func (s *Server) startExtras() error {
	name := fmt.Sprintf("@udsls-serve-%d-%d", s.manifest.PID, abstractSeq.Add(1))
	if _, err := s.listen(RoleAbstract, name, 1); err != nil {
		return err
	}
	path, err := s.path("seqpacket.sock")
	if err != nil {
		return err
	}
	l, err := s.echoListener("unixpacket", path, RoleSeqpacket, inspect.TypeSeqpacket)
	if err != nil {
		return err
	}
	s.acceptLoop(l)
	return nil
}

func socketCloexec(typ int) (int, error) {
	return unix.Socket(unix.AF_UNIX, typ|unix.SOCK_CLOEXEC, 0)
}

func socketpairCloexec(typ int) ([2]int, error) {
	return unix.Socketpair(unix.AF_UNIX, typ|unix.SOCK_CLOEXEC, 0)
}

func acceptCloexec(fd int) (int, error) {
	var nfd int
	err := ignoringEINTR(func() (err error) {
		nfd, _, err = unix.Accept4(fd, unix.SOCK_CLOEXEC)
		return err
	})
	return nfd, err
}
