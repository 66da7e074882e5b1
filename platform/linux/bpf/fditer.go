//go:build linux && (386 || amd64 || arm || arm64 || loong64 || mips64le || mipsle || ppc64le || riscv64)

package bpf

import (
	"context"
	"errors"
	"fmt"

	"github.com/cilium/ebpf/link"
)

// FDIter is the iterator of UnixSocketFDs loaded and attached once, to be
// run many times (udsls --watch): loading costs about 25 ms of CPU, a run
// about 0.8 µs a socket. Close unloads it, as the end of the process does.
type FDIter struct {
	objs fdsockObjects
	link *link.Iter
}

// OpenFDIter loads and attaches the iterator; an error that says the
// kernel or our privileges cannot run it wraps ErrUnavailable.
func OpenFDIter() (*FDIter, error) {
	f := &FDIter{}
	if err := loadFdsockObjects(&f.objs, nil); err != nil {
		return nil, fmt.Errorf("%w: load fd iterator: %w", ErrUnavailable, err)
	}
	it, err := link.AttachIter(link.IterOptions{Program: f.objs.UdslsFdsock})
	if err != nil {
		f.objs.Close()
		return nil, fmt.Errorf("%w: attach fd iterator: %w", ErrUnavailable, err)
	}
	f.link = it
	return f, nil
}

// Read runs the iterator once, as UnixSocketFDs does.
func (f *FDIter) Read(ctx context.Context) ([]FD, error) {
	r, err := f.link.Open()
	if err != nil {
		return nil, fmt.Errorf("%w: open fd iterator: %w", ErrUnavailable, err)
	}
	defer r.Close()
	return readRecords(ctx, r)
}

func (f *FDIter) Close() error {
	return errors.Join(f.link.Close(), f.objs.Close())
}
