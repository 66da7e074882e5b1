//go:build linux && (386 || amd64 || arm || arm64 || loong64 || mips64le || mipsle || ppc64le || riscv64)

package bpf

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"slices"
)

// recordSize is sizeof(struct fd_record) in fdsock.c.
const recordSize = 16

// UnixSocketFDs loads the iterator over every process's descriptors, runs
// it once and unloads it: the program and its link live in descriptors of
// this process only (nothing is pinned), so the kernel frees them when they
// are closed, or when the process dies, whatever kills it. The pids are
// those of the caller's pid namespace, and only its processes are listed.
// An error that says the kernel or our privileges cannot run it wraps
// ErrUnavailable.
func UnixSocketFDs(ctx context.Context) ([]FD, error) {
	f, err := OpenFDIter()
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.Read(ctx)
}

// readRecords decodes the records of one run of the iterator. A read(2)
// returns at most what the kernel's seq_file buffer holds, which need not
// end on a record.
func readRecords(ctx context.Context, r io.Reader) ([]FD, error) {
	// The records are gathered in blocks, then copied once into a slice of
	// their number: one slice appended to grows by a quarter at a time once
	// large, and for the 70k descriptors of a 50k-socket listing allocated
	// 11 MB, five times its size, the most of any part of a listing.
	var blocks [][]FD
	blk := make([]FD, 0, recordBlock)
	buf := make([]byte, 64<<10)
	have := 0
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		n, err := r.Read(buf[have:])
		have += n
		whole := have - have%recordSize
		for b := buf[:whole]; len(b) > 0; b = b[recordSize:] {
			if len(blk) == cap(blk) {
				blocks = append(blocks, blk)
				blk = make([]FD, 0, recordBlock)
			}
			blk = append(blk, FD{
				PID:   int(binary.NativeEndian.Uint32(b)),
				FD:    int(binary.NativeEndian.Uint32(b[4:])),
				Inode: binary.NativeEndian.Uint64(b[8:]),
			})
		}
		have = copy(buf, buf[whole:have])
		if err == io.EOF {
			if have != 0 {
				return nil, fmt.Errorf("fd iterator: %d bytes after the last record", have)
			}
			if len(blocks) == 0 {
				return slices.Clip(blk), nil
			}
			fds := make([]FD, 0, len(blocks)*recordBlock+len(blk))
			for _, b := range blocks {
				fds = append(fds, b...)
			}
			return append(fds, blk...), nil
		}
		if err != nil {
			return nil, fmt.Errorf("read fd iterator: %w", err)
		}
	}
}

// recordBlock is how many records readRecords gathers in a block.
const recordBlock = 4096
