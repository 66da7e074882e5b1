//go:build !linux || !(amd64 || arm64)

package bpf

import (
	"context"
	"fmt"
	"runtime"
)

// Dumper needs Linux on a 64-bit machine whose system call ABI dump.c knows.
type Dumper struct{}

func StartDump(DumpTarget) (*Dumper, error) {
	return nil, fmt.Errorf("%w on %s/%s", ErrUnavailable, runtime.GOOS, runtime.GOARCH)
}

func (*Dumper) Run(context.Context, func(*Message) error) error { return nil }
func (*Dumper) Lost() uint64                                    { return 0 }
func (*Dumper) Close() error                                    { return nil }
