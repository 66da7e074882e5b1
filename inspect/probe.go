package inspect

import (
	"context"
	"errors"
	"strconv"
	"time"
)

// Reach is what a connect(2) to a socket path proved.
type Reach int

const (
	// ReachUp: a socket is bound there and took the connection.
	ReachUp Reach = iota
	// ReachRefused: ECONNREFUSED on every socket type. Provided the path is
	// a socket file, nothing is bound to it: it is stale.
	ReachRefused
	// ReachDenied: the caller may not connect (EACCES, EPERM).
	ReachDenied
	// ReachMissing: no such file, or a path component is not a directory.
	ReachMissing
	// ReachTimeout: a listener exists but its accept queue stayed full for
	// the whole timeout.
	ReachTimeout
	// ReachError: the probe itself failed; nothing was proved.
	ReachError
	// ReachNotListening: a live socket is bound there but refuses: its own
	// type answers ECONNREFUSED (a stream or seqpacket socket bound but not
	// listening) while the others answer EPROTOTYPE, which the kernel says
	// only when a socket is bound to the file or name (unix_find_bsd,
	// net/unix/af_unix.c). It is held, not stale.
	ReachNotListening
	// ReachBusy: a datagram socket is bound there but connected to another
	// peer, and takes nothing from anyone else: connect and sendto fail
	// with EPERM (unix_may_send). It is held, not stale.
	ReachBusy
)

var reachNames = [...]string{"up", "refused", "denied", "missing", "timeout", "error", "not listening", "busy"}

func (r Reach) String() string {
	if r >= 0 && int(r) < len(reachNames) {
		return reachNames[r]
	}
	return "reach(" + strconv.Itoa(int(r)) + ")"
}

// ProbeResult is the outcome of a connect probe (Resolver.Probe).
type ProbeResult struct {
	Reach Reach
	// Type is the socket type that connected, for ReachUp and ReachTimeout,
	// or that is bound there, for ReachNotListening and ReachBusy.
	Type Type
	// Err is the errno behind any result other than ReachUp.
	Err error
}

// do probes path with p; without a probe nothing is proved.
func (p ProbeFunc) do(ctx context.Context, path string, timeout time.Duration) ProbeResult {
	if p == nil {
		return ProbeResult{Reach: ReachError, Err: errors.New("no connect probe")}
	}
	return p(ctx, path, timeout)
}
