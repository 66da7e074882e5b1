//go:build !linux || !(amd64 || arm64)

package bpf

import (
	"fmt"
	"runtime"
	"time"
)

// Tracer needs Linux, and the program knows the registers of amd64 and
// arm64 only.
type Tracer struct{}

// ErrTimeout is what Read returns when no event came before its deadline.
var ErrTimeout = fmt.Errorf("timeout")

// TraceConnects needs Linux on amd64 or arm64.
func TraceConnects() (*Tracer, error) {
	return nil, fmt.Errorf("%w: tracing connects needs Linux on amd64 or arm64, not %s/%s", ErrUnavailable, runtime.GOOS, runtime.GOARCH)
}

func (t *Tracer) Read(time.Time) (Connect, error) { return Connect{}, ErrUnavailable }
func (t *Tracer) Lost() (uint64, error)           { return 0, ErrUnavailable }
func (t *Tracer) Detach() error                   { return nil }
func (t *Tracer) Pending() bool                   { return false }
func (t *Tracer) Close() error                    { return nil }
