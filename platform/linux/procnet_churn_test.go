package linux

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/udsls/udsls/inspect"
)

// TestParseProcNetUnixRepeats reads /proc/net/unix as a read(2) resumed
// while sockets came and went may return it: a socket twice, and
// connections not yet accepted, all inode 0, which are no repeats.
func TestParseProcNetUnixRepeats(t *testing.T) {
	const in = procNetUnixHeader + `
0000000000000000: 00000002 00000000 00010000 0001 01 12345 /run/a.sock
0000000000000000: 00000002 00000000 00000000 0001 03     0 /run/a.sock
0000000000000000: 00000002 00000000 00000000 0002 01 12346 /run/b.sock
0000000000000000: 00000002 00000000 00000000 0001 03     0 /run/a.sock
0000000000000000: 00000002 00000000 00010000 0001 01 12345 /run/a.sock
`
	listener := inspect.Socket{ID: 12345, Path: "/run/a.sock", Type: inspect.TypeStream, State: inspect.StateListening}
	pending := inspect.Socket{Path: "/run/a.sock", Type: inspect.TypeStream, State: inspect.StateConnected}
	want := []inspect.Socket{listener, pending, {ID: 12346, Path: "/run/b.sock", Type: inspect.TypeDgram, State: inspect.StateUnconnected}, pending}
	got, err := ParseProcNetUnix(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestMergeReads merges two reads of /proc/net/unix taken under churn: the
// first misses socket 2, the second socket 1, and 3 changed in between.
func TestMergeReads(t *testing.T) {
	pending := inspect.Socket{Path: "/run/one.sock", Type: inspect.TypeStream, State: inspect.StateConnected}
	first := []inspect.Socket{{ID: 1}, pending, {ID: 3, RecvQueue: 1}}
	second := []inspect.Socket{pending, {ID: 2}, {ID: 3, RecvQueue: 2}}
	want := []inspect.Socket{{ID: 1}, {ID: 3, RecvQueue: 2}, pending, {ID: 2}}
	if diff := cmp.Diff(want, mergeReads(first, second)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
