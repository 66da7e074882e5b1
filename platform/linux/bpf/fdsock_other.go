//go:build !linux || !(386 || amd64 || arm || arm64 || loong64 || mips64le || mipsle || ppc64le || riscv64)

package bpf

import (
	"context"
	"fmt"
	"runtime"
)

// UnixSocketFDs needs Linux, and the compiled program is little-endian only.
func UnixSocketFDs(context.Context) ([]FD, error) {
	return nil, fmt.Errorf("%w on %s/%s", ErrUnavailable, runtime.GOOS, runtime.GOARCH)
}
