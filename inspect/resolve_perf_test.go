package inspect

import (
	"cmp"
	"context"
	"errors"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/udsls/udsls/internal/ascii"
)

// comparePathsSlow is ComparePaths without the common-prefix skip: the
// definition the fast one must agree with.
func comparePathsSlow(a, b string) int {
	for a != "" && b != "" {
		if ascii.IsDigit(a[0]) && ascii.IsDigit(b[0]) {
			da, db := digitRun(a), digitRun(b)
			na, nb := strings.TrimLeft(a[:da], "0"), strings.TrimLeft(b[:db], "0")
			if len(na) != len(nb) {
				return len(na) - len(nb)
			}
			if c := strings.Compare(na, nb); c != 0 {
				return c
			}
			if da != db {
				return da - db
			}
			a, b = a[da:], b[db:]
			continue
		}
		if a[0] != b[0] {
			return int(a[0]) - int(b[0])
		}
		a, b = a[1:], b[1:]
	}
	return len(a) - len(b)
}

func sign(n int) int { return min(max(n, -1), 1) }

func FuzzComparePaths(f *testing.F) {
	for _, p := range [][2]string{
		{"/run/set-9.sock", "/run/set-10.sock"},
		{"/run/set-12a", "/run/set-123"},
		{"a12b", "a12c"},
		{"a012", "a12"},
		{"a0012x", "a012y"},
		{"x99", "x099"},
		{"9", "10"},
		{"", "0"},
		{"same", "same"},
		{"/tmp/s-1/a", "/tmp/s-1/b"},
		{"@abs1", "@abs01"},
	} {
		f.Add(p[0], p[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		if got, want := sign(ComparePaths(a, b)), sign(comparePathsSlow(a, b)); got != want {
			t.Errorf("ComparePaths(%q, %q) = %d, want %d", a, b, got, want)
		}
	})
}

// cloneEntry copies what an entry points to.
func cloneEntry(e *Entry) Entry {
	clonePeer := func(p Peer) Peer {
		p.Holders = slices.Clone(p.Holders)
		return p
	}
	c := *e
	c.Holders = slices.Clone(e.Holders)
	if e.Remote != nil {
		p := clonePeer(*e.Remote)
		c.Remote = &p
	}
	c.Clients = nil
	for _, p := range e.Clients {
		c.Clients = append(c.Clients, clonePeer(p))
	}
	return c
}

func TestEachEntry(t *testing.T) {
	// Enough sockets for several chunks.
	snap, procs, files := benchSnapshot(entryChunk)
	snap.Sockets = append(snap.Sockets, testSnapshot().Sockets...)
	snap.Owners = append(snap.Owners, testSnapshot().Owners...)
	maps.Copy(procs, testProcs())
	maps.Copy(files, testFiles())
	for _, tt := range []struct {
		name string
		q    Query
	}{
		{"default", Query{}},
		{"all with clients", Query{View: ViewAll, Clients: true}},
		{"listening by user", Query{View: ViewListening, Users: []string{"alice", "0"}}},
		{"all by pid", Query{View: ViewAll, PIDs: []int{1003, 200}}},
		{"no match", Query{Patterns: []string{"nothing*"}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			want := fakeResolver(procs, files).Entries(context.Background(), snap, tt.q)
			var got []Entry
			err := fakeResolver(procs, files).EachEntry(context.Background(), snap, tt.q, func(e *Entry) error {
				got = append(got, cloneEntry(e)) // e is reused after the call
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if diff := gocmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("EachEntry differs from Entries (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("stops at an error", func(t *testing.T) {
		stop := errors.New("stop")
		n := 0
		err := fakeResolver(procs, files).EachEntry(context.Background(), snap, Query{View: ViewAll}, func(e *Entry) error {
			if n++; n == entryChunk+1 {
				return stop
			}
			return nil
		})
		if err != stop || n != entryChunk+1 {
			t.Errorf("EachEntry returned %v after %d entries, want %v after %d", err, n, stop, entryChunk+1)
		}
	})
}

func TestSortFunc(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 4095, 4096, 4097, 10001} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			s := make([]int, n)
			for i := range s {
				s[i] = rng.IntN(n/2 + 1) // with repeats
			}
			want := slices.Sorted(slices.Values(s))
			if got := sortFunc(slices.Clone(s), cmp.Compare[int]); !slices.Equal(want, got) {
				t.Errorf("sortFunc of %d ints is not sorted", n)
			}
		})
	}
}
