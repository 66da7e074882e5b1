package linux

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/udsls/udsls/inspect"
)

// diagBufSize is the receive buffer. The kernel sizes dump datagrams to
// the reader's buffer but never beyond 32 KiB (netlink_recvmsg caps
// max_recvmsg_len at SKB_WITH_OVERHEAD(32768)), so this holds any of them.
const diagBufSize = 32 << 10

// DumpUnix lists every AF_UNIX socket of the caller's network namespace
// with one SOCK_DIAG_BY_FAMILY dump: names byte-exact, peers, queues,
// pending connections, bound-file identity and (Linux 5.3+) owner uid.
// Sockets without an inode are not listed: the kernel skips the server end
// of a connection not yet accepted, which the listener's Icons and
// RecvQueue account for instead. A dump is not atomic: the kernel resumes
// it by position in a hash bucket, so when another socket of the bucket
// closes meanwhile, one that lived throughout is missed (the churn test
// saw it in 1 listing of 3 000 under 460 closes a second). DumpUnix takes
// two dumps and merges them: a socket is missing only if both missed it,
// and one closed in between is listed as the first dump saw it.
func DumpUnix(ctx context.Context) ([]inspect.Socket, error) {
	names := names{}
	var socks []inspect.Socket
	if n, ok := readUnixInUse(); ok {
		// Decoded as they come, into room for as many sockets as the
		// kernel counts and a few more that may come meanwhile: gathering
		// the datagrams first, to count the sockets, cost a copy of them
		// (5 MB at 50k sockets).
		socks = make([]inspect.Socket, 0, n+n/16+16)
		err := dumpUnixRaw(ctx, func(b []byte) (bool, error) {
			return walkNlmsgs(b, func(p []byte) error {
				s, err := decodeUnixDiagMsg(p, names)
				if err == nil {
					socks = append(socks, s)
				}
				return err
			})
		})
		if err != nil {
			return nil, err
		}
	} else {
		d := diagDump{names: names}
		if err := dumpUnixRaw(ctx, d.add); err != nil {
			return nil, err
		}
		var err error
		if socks, err = d.sockets(); err != nil {
			return nil, err
		}
	}
	// The second dump is merged as it arrives, into the first one's
	// storage: keeping its datagrams too and decoding both into one slice
	// doubled the peak memory of a listing.
	set := newSocketSet(socks)
	err := dumpUnixRaw(ctx, func(b []byte) (bool, error) {
		return walkNlmsgs(b, func(p []byte) error {
			s, err := decodeUnixDiagMsg(p, names)
			if err == nil {
				set.add(s)
			}
			return err
		})
	})
	if err != nil {
		return nil, err
	}
	return set.socks, nil
}

// readUnixInUse says how many AF_UNIX sockets the calling thread's network
// namespace has (readNamespaces dumps from a thread moved into another).
func readUnixInUse() (int, bool) {
	data, err := os.ReadFile("/proc/thread-self/net/protocols")
	if err != nil {
		return 0, false
	}
	return unixInUse(data)
}

// dumpUnixRaw sends one dump request and hands each datagram of the reply
// to each until it reports the end. The buffer is reused between calls.
func dumpUnixRaw(ctx context.Context, each func([]byte) (done bool, err error)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, unix.NETLINK_SOCK_DIAG)
	if err != nil {
		return errnoError("socket", err)
	}
	// A non-blocking descriptor joins the runtime poller, which gives us
	// deadlines to cancel a read with.
	f := os.NewFile(uintptr(fd), "netlink sock_diag")
	defer f.Close()
	rc, err := f.SyscallConn()
	if err != nil {
		return fmt.Errorf("netlink sock_diag: %w", err)
	}
	stop := context.AfterFunc(ctx, func() { f.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	req := appendUnixDiagRequest(make([]byte, 0, nlmsgHdrLen+unixDiagReqLen), 1, diagShow)
	var serr error
	err = rc.Write(func(fd uintptr) bool {
		serr = unix.Sendto(int(fd), req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK})
		return serr != unix.EAGAIN
	})
	if err == nil {
		err = errnoError("sendto", serr)
	}
	if err != nil {
		return canceled(ctx, err)
	}

	buf := make([]byte, diagBufSize)
	for {
		var (
			n    int
			from unix.Sockaddr
			rerr error
		)
		err := rc.Read(func(fd uintptr) bool {
			// MSG_TRUNC makes n the datagram's real length, so a cut
			// datagram is detected instead of decoded.
			n, from, rerr = unix.Recvfrom(int(fd), buf, unix.MSG_TRUNC)
			return rerr != unix.EAGAIN
		})
		if err == nil {
			err = errnoError("recvfrom", rerr)
		}
		if err != nil {
			return canceled(ctx, err)
		}
		// Any process may write to our port; only the kernel answers.
		if sa, ok := from.(*unix.SockaddrNetlink); !ok || sa.Pid != 0 {
			continue
		}
		if n > len(buf) {
			return fmt.Errorf("netlink sock_diag: %d-byte datagram exceeds the %d-byte buffer", n, len(buf))
		}
		done, err := each(buf[:n])
		if ke := (*kernelError)(nil); errors.As(err, &ke) {
			return errnoError("dump", unix.Errno(ke.errno))
		}
		if err != nil || done {
			return err
		}
	}
}

// errnoError names the failed step and marks the errnos that mean sock_diag
// cannot be used here at all.
func errnoError(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, unix.EPROTONOSUPPORT), errors.Is(err, unix.EAFNOSUPPORT),
		errors.Is(err, unix.EACCES), errors.Is(err, unix.EPERM),
		// sock_diag answers ENOENT when no handler for AF_UNIX is
		// registered or can be loaded (net/core/sock_diag.c).
		errors.Is(err, unix.ENOENT), errors.Is(err, unix.EOPNOTSUPP):
		return fmt.Errorf("%w: %s: %w", ErrNetlinkUnavailable, op, err)
	}
	return fmt.Errorf("netlink sock_diag: %s: %w", op, err)
}

// canceled prefers the context's error to the deadline error its
// cancellation caused.
func canceled(ctx context.Context, err error) error {
	if ctx.Err() != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		return ctx.Err()
	}
	return err
}
