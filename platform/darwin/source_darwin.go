package darwin

import (
	"context"
	"os"

	"github.com/udsls/udsls/inspect"
)

// Source is the live macOS backend: lsof and netstat, run side by side so
// that they describe nearly the same moment, joined on kernel addresses.
type Source struct{}

// New returns the live macOS source.
func New() *Source { return &Source{} }

func (*Source) Snapshot(ctx context.Context) (*inspect.Snapshot, error) {
	type netstatResult struct {
		rows     []NetstatRow
		warnings []string
		err      error
	}
	ch := make(chan netstatResult, 1)
	go func() {
		rows, w, err := readNetstat(ctx)
		ch <- netstatResult{rows, w, err}
	}()
	l, lw, lerr := readLsof(ctx)
	ns := <-ch
	if ns.err != nil {
		return nil, ns.err
	}
	if lerr != nil {
		return nil, lerr
	}
	socks, sw := NetstatSockets(ns.rows)
	snap := Join(socks, l)
	snap.Backend = "lsof+netstat"
	snap.Warnings = append(append(append(snap.Warnings, ns.warnings...), sw...), lw...)
	if os.Geteuid() != 0 {
		snap.Warnings = append(snap.Warnings, "not root: lsof shows only your own processes' sockets; run with sudo for all holders")
	}
	return snap, nil
}
