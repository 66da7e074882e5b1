package linux

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/udsls/udsls/inspect"
)

// TestSocketSet merges a second dump into a first as DumpUnix does: a
// socket both saw keeps its place with the later report, one only the
// second saw comes last, one only the first saw stays.
func TestSocketSet(t *testing.T) {
	first := []inspect.Socket{
		{ID: 1, Path: "/run/a.sock"},
		{ID: 2},
		{ID: 1, Path: "/run/a.sock", RecvQueue: 1}, // moved buckets mid-dump
		{ID: 3, Path: "/run/closed.sock"},
	}
	second := []inspect.Socket{
		{ID: 2, Path: "/run/bound-since.sock"},
		{ID: 4, Path: "/run/new.sock"},
		{ID: 1, Path: "/run/a.sock", RecvQueue: 2},
		{ID: 0, Path: "/run/a.sock"}, // procfs: not yet accepted, no identity
		{ID: 0, Path: "/run/a.sock"},
	}
	set := newSocketSet(first)
	for _, s := range second {
		set.add(s)
	}
	want := []inspect.Socket{
		{ID: 1, Path: "/run/a.sock", RecvQueue: 2},
		{ID: 2, Path: "/run/bound-since.sock"},
		{ID: 3, Path: "/run/closed.sock"},
		{ID: 4, Path: "/run/new.sock"},
		{ID: 0, Path: "/run/a.sock"},
		{ID: 0, Path: "/run/a.sock"},
	}
	if diff := cmp.Diff(want, set.socks); diff != "" {
		t.Errorf("merged (-want +got):\n%s", diff)
	}
}
