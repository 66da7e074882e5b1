//go:build linux && (amd64 || arm64)

package bpf

import (
	"bytes"
	"context"
	"os"
	"testing"
	"time"

	"github.com/udsls/udsls/internal/testutil"
	"github.com/udsls/udsls/platform/testenv"
	"golang.org/x/sys/unix"
)

// TestDumpSocketpair sends over both ends of a socketpair with each call
// the program watches, and gets every message back with its bytes (NUL
// and invalid UTF-8 included), its sender and its peer; a socket not in
// the target is not seen.
func TestDumpSocketpair(t *testing.T) {
	testenv.NeedRoot(t, "loading the dump program needs CAP_BPF and CAP_PERFMON")
	for _, typ := range []int{unix.SOCK_STREAM, unix.SOCK_DGRAM} {
		fds, err := unix.Socketpair(unix.AF_UNIX, typ, 0)
		if err != nil {
			t.Fatal(err)
		}
		other, err := unix.Socketpair(unix.AF_UNIX, typ, 0)
		if err != nil {
			t.Fatal(err)
		}
		a, b := testutil.FDInode(t, fds[0]), testutil.FDInode(t, fds[1])
		d, err := StartDump(DumpTarget{Inodes: []uint64{a}, MaxBytes: 8})
		if err != nil {
			testenv.Skipf(t, testenv.BPF, "the dump program does not load: %v", err)
		}
		payload := []byte("a\x00b\xff\xfe" + "0123456789")
		unix.Write(other[0], payload)
		unix.Write(fds[0], payload)
		unix.Writev(fds[1], [][]byte{payload[:3], payload[3:]})
		unix.Sendto(fds[0], payload, 0, nil)
		unix.SendmsgN(fds[1], payload[:2], nil, nil, 0)
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		var got []*Message
		err = d.Run(ctx, func(m *Message) error { got = append(got, m); return nil })
		cancel()
		lost := d.Lost()
		d.Close()
		for _, f := range append(fds[:], other[:]...) {
			unix.Close(f)
		}
		if err != nil {
			t.Fatal(err)
		}
		want := []struct {
			from, to uint64
			call     Call
			len      uint32
			data     []byte
		}{
			{a, b, 1, 15, payload[:8]}, {b, a, 2, 15, payload[:8]}, {a, b, 3, 15, payload[:8]}, {b, a, 4, 2, payload[:2]},
		}
		if len(got) != len(want) || lost != 0 {
			t.Fatalf("type %d: got %d messages (lost %d), want %d: %+v", typ, len(got), lost, len(want), got)
		}
		for i, w := range want {
			g := got[i]
			if g.Inode != w.from || g.Peer != w.to || g.Call != w.call || g.Len != w.len || !bytes.Equal(g.Data, w.data) || g.PID != uint32(os.Getpid()) {
				t.Errorf("type %d message %d: got %+v, want %+v", typ, i, g, w)
			}
		}
	}
}
