package darwin

import (
	"bytes"
	"context"
	"fmt"
	"os"

	"github.com/udsls/udsls/inspect"
	"github.com/udsls/udsls/platform/capture"
)

// Source is the live macOS backend: lsof and netstat, run side by side so
// that they describe nearly the same moment, joined on kernel addresses.
type Source struct{}

// New returns the live macOS source.
func New() *Source { return &Source{} }

func (*Source) Snapshot(ctx context.Context) (*inspect.Snapshot, error) {
	type netstatResult struct {
		rows     []capture.NetstatRow
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
	socks, sw := capture.NetstatSockets(ns.rows)
	snap := capture.Join(socks, l)
	snap.Backend = "lsof+netstat"
	snap.Addresses = true
	snap.Warnings = append(append(append(snap.Warnings, ns.warnings...), sw...), lw...)
	if os.Geteuid() != 0 {
		snap.Warnings = append(snap.Warnings, "not root: lsof shows only your own processes' sockets; run with sudo for all holders")
	}
	return snap, nil
}

// netstatArgs list only the unix section; -v adds so_state and
// so_options on macOS 15 and later, which tell listeners for certain. -v
// comes last: readNetstat drops it to ask again in the old layout.
func netstatArgs() []string { return []string{"-f", "unix", "-n", "-v"} }

// readNetstat runs netstat with netstatArgs. A header it does not know
// (a -v layout newer than this code) makes it ask again without -v, whose
// layout has not changed since 2011, and warn that states are guessed.
func readNetstat(ctx context.Context) ([]capture.NetstatRow, []string, error) {
	args := netstatArgs()
	out, err := run(ctx, timeout, "netstat", args...)
	if err != nil {
		return nil, nil, fmt.Errorf("netstat: %w", err)
	}
	rows, err := capture.ParseNetstat(bytes.NewReader(out))
	if err == nil {
		return rows, nil, nil
	}
	out, err2 := run(ctx, timeout, "netstat", args[:len(args)-1]...)
	if err2 != nil {
		return nil, nil, fmt.Errorf("netstat: %w", err2)
	}
	rows, err2 = capture.ParseNetstat(bytes.NewReader(out))
	if err2 != nil {
		return nil, nil, fmt.Errorf("netstat output: %w", err2)
	}
	return rows, []string{fmt.Sprintf("netstat -v output not understood (%v); listening states are guessed", err)}, nil
}
