//go:build linux && (386 || amd64 || arm || arm64 || loong64 || mips64le || mipsle || ppc64le || riscv64)

package bpf

import (
	"context"
	"encoding/binary"
	"io"
	"slices"
	"testing"
	"testing/iotest"
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
