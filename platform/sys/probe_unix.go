//go:build unix

package sys

import (
	"context"
	"errors"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/udsls/udsls/inspect"
)

func Probe(ctx context.Context, path string, timeout time.Duration) inspect.ProbeResult {
	if len(path) >= len(unix.RawSockaddrUnix{}.Path) && !longAbstract(path) {
		// A client reaches a path of any length through a shorter name
		// for the same file, and so does the probe.
		short, done, err := shortName(path)
		if err != nil {
			return failedOpen(err)
		}
		defer done()
		path = short
	}
	last := inspect.ProbeResult{Reach: inspect.ReachError, Err: unix.EPROTOTYPE}
	var refused inspect.Type // the type that answered ECONNREFUSED
	wrongType := 0           // how many types answered EPROTOTYPE
	for _, t := range []inspect.Type{inspect.TypeStream, inspect.TypeSeqpacket, inspect.TypeDgram} {
		if err := ctx.Err(); err != nil {
			return inspect.ProbeResult{Reach: inspect.ReachError, Err: err}
		}
		err := connectOnce(ctx, path, t, timeout)
		switch {
		case err == nil:
			return inspect.ProbeResult{Reach: inspect.ReachUp, Type: t}
		case errors.Is(err, unix.EPROTOTYPE):
			wrongType++
			continue
		case errors.Is(err, unix.EPROTONOSUPPORT), errors.Is(err, unix.ESOCKTNOSUPPORT):
			continue
		case errors.Is(err, unix.ECONNREFUSED):
			// A live socket of another type may still be there: keep trying,
			// and call it refused only when every type was refused.
			last, refused = inspect.ProbeResult{Reach: inspect.ReachRefused, Err: err}, t
			continue
		case t == inspect.TypeDgram && errors.Is(err, unix.EPERM):
			// A datagram socket connected to someone else refuses new peers
			// (unix_may_send): it is bound and alive, but no client of ours
			// can send to it.
			return inspect.ProbeResult{Reach: inspect.ReachBusy, Type: t, Err: err}
		case errors.Is(err, unix.EACCES), errors.Is(err, unix.EPERM):
			return inspect.ProbeResult{Reach: inspect.ReachDenied, Err: err}
		case errors.Is(err, unix.ENOENT), errors.Is(err, unix.ENOTDIR):
			return inspect.ProbeResult{Reach: inspect.ReachMissing, Err: err}
		case errors.Is(err, unix.EAGAIN), errors.Is(err, unix.ETIMEDOUT), errors.Is(err, unix.EINPROGRESS):
			return inspect.ProbeResult{Reach: inspect.ReachTimeout, Type: t, Err: err}
		default:
			return inspect.ProbeResult{Reach: inspect.ReachError, Err: err}
		}
	}
	if last.Reach == inspect.ReachRefused && wrongType == 2 {
		// Refused by one type, wrong type for both others: a socket of
		// that type is bound there and does not listen.
		return inspect.ProbeResult{Reach: inspect.ReachNotListening, Type: refused, Err: last.Err}
	}
	return last
}

// failedOpen is the verdict on a path that could not be opened.
func failedOpen(err error) inspect.ProbeResult {
	switch {
	case errors.Is(err, unix.EACCES), errors.Is(err, unix.EPERM):
		return inspect.ProbeResult{Reach: inspect.ReachDenied, Err: err}
	case errors.Is(err, unix.ENOENT), errors.Is(err, unix.ENOTDIR):
		return inspect.ProbeResult{Reach: inspect.ReachMissing, Err: err}
	}
	return inspect.ProbeResult{Reach: inspect.ReachError, Err: err}
}

// connectOnce makes one connect whose wait is bounded by timeout. It
// blocks with SO_SNDTIMEO: for AF_UNIX the kernel waits for room in a full
// accept queue for the send timeout (unix_stream_connect,
// net/unix/af_unix.c), and a non-blocking connect would only say EAGAIN at
// once. The wait is made in slices, each a blocking connect, so that a
// cancelled ctx ends it within a slice: a signal is delivered to whichever
// thread Go picks, so it seldom interrupts this one. An interrupted or
// timed-out slice leaves the socket unconnected, and the next slice
// continues towards the same deadline.
func connectOnce(ctx context.Context, path string, t inspect.Type, timeout time.Duration) error {
	// Not every Unix has SOCK_CLOEXEC; the fork lock keeps a concurrent
	// exec from inheriting the descriptor, as package net does.
	syscall.ForkLock.RLock()
	fd, err := unix.Socket(unix.AF_UNIX, int(t), 0)
	if err == nil {
		unix.CloseOnExec(fd)
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if timeout <= 0 {
		timeout = time.Second
	}
	deadline := time.Now().Add(timeout)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return unix.EAGAIN
		}
		tv := unix.NsecToTimeval(min(left, probeSlice).Nanoseconds())
		if tv.Sec == 0 && tv.Usec == 0 {
			tv.Usec = 1 // zero would mean wait forever
		}
		if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_SNDTIMEO, &tv); err != nil {
			return err
		}
		err = connectName(fd, path)
		if !errors.Is(err, unix.EINTR) && !errors.Is(err, unix.EAGAIN) {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

// probeSlice is the longest a connect waits before it looks at its
// context again.
const probeSlice = 100 * time.Millisecond
