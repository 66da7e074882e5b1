//go:build linux && (386 || amd64 || arm || arm64 || loong64 || mips64le || mipsle || ppc64le || riscv64)

package bpf

import (
	"context"
	"encoding/binary"
	"io"
	"runtime"
	"slices"
	"testing"
	"testing/iotest"
	"unsafe"
)

// TestReadRecords decodes records however read(2) cuts them, and rejects a
// stream that ends inside one.
func TestReadRecords(t *testing.T) {
	want := []FD{{1, 3, 10}, {1, 4, 11}, {4000000, 1 << 20, 1<<40 + 7}}
	var data []byte
	for _, f := range want {
		data = binary.NativeEndian.AppendUint32(data, uint32(f.PID))
		data = binary.NativeEndian.AppendUint32(data, uint32(f.FD))
		data = binary.NativeEndian.AppendUint64(data, f.Inode)
	}
	for _, r := range []io.Reader{
		&chunks{data, 16}, &chunks{data, 7}, &chunks{data, 1}, &chunks{data, 48},
	} {
		got, err := readRecords(context.Background(), r)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("chunks of %d: got %v, %v; want %v", r.(*chunks).n, got, err, want)
		}
	}
	if got, err := readRecords(context.Background(), iotest.HalfReader(&chunks{data[:40], 40})); err == nil {
		t.Errorf("a cut record: got %v, want an error", got)
	}
}

// TestReadRecordsMemory: the records of a large run are read in blocks
// joined once, not appended to one slice that a growth by a quarter at a
// time reallocates many times over (five times their size in all).
func TestReadRecordsMemory(t *testing.T) {
	const n = 70000 // a 50k-socket listing
	var data []byte
	for i := range n {
		data = binary.NativeEndian.AppendUint32(data, uint32(i%300))
		data = binary.NativeEndian.AppendUint32(data, uint32(i))
		data = binary.NativeEndian.AppendUint64(data, uint64(1e6+i))
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	got, err := readRecords(context.Background(), &chunks{data, 4096})
	runtime.ReadMemStats(&after)
	if err != nil || len(got) != n || got[n-1] != (FD{PID: (n - 1) % 300, FD: n - 1, Inode: 1e6 + n - 1}) {
		t.Fatalf("got %d records, last %v, %v; want %d", len(got), got[len(got)-1:], err, n)
	}
	size := uint64(n) * uint64(unsafe.Sizeof(FD{}))
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 2*size+256<<10 {
		t.Errorf("reading %d records (%d bytes) allocated %d bytes, want at most twice their size and the read buffer", n, size, alloc)
	}
}

// chunks reads data n bytes at a time.
type chunks struct {
	data []byte
	n    int
}

func (c *chunks) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	k := copy(p[:min(len(p), c.n)], c.data)
	c.data = c.data[k:]
	return k, nil
}
