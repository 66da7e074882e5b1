//go:build !linux || !(386 || amd64 || arm || arm64 || loong64 || mips64le || mipsle || ppc64le || riscv64)

package bpf

import (
	"context"
	"fmt"
	"runtime"
)

// FDIter needs what UnixSocketFDs needs.
type FDIter struct{}

func OpenFDIter() (*FDIter, error) {
	return nil, fmt.Errorf("%w on %s/%s", ErrUnavailable, runtime.GOOS, runtime.GOARCH)
}

func (*FDIter) Read(context.Context) ([]FD, error) { return nil, ErrUnavailable }
func (*FDIter) Close() error                       { return nil }
