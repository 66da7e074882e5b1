//go:build !linux || !(386 || amd64 || arm || arm64 || loong64 || mips64le || mipsle || ppc64le || riscv64)

package bpf

import (
	"fmt"
	"runtime"

	"github.com/udsls/udsls/inspect"
)

// Traffic counts nothing here: it needs Linux, and the compiled programs
// are little-endian only.
type Traffic struct{}

// OpenTraffic says why traffic cannot be counted here.
func OpenTraffic() (*Traffic, error) {
	return nil, fmt.Errorf("%w: counting traffic needs Linux; this is %s/%s", ErrUnavailable, runtime.GOOS, runtime.GOARCH)
}

// Counts is never reached: OpenTraffic returns no Traffic.
func (*Traffic) Counts() (map[uint64]inspect.Traffic, error) {
	return nil, ErrUnavailable
}

// Close does nothing.
func (*Traffic) Close() error { return nil }
