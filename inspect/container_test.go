package inspect

import (
	"context"
	"errors"
	"io/fs"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestContainerMatches(t *testing.T) {
	id := "8f47ea3a461d21b4b8696725d956bb93a746706682810e97c1ead773cc471845"
	named := &Container{ID: id, Runtime: "docker", Name: "web-front"}
	unnamed := &Container{ID: id, Runtime: "containerd"}
	tests := []struct {
		pattern string
		c       *Container
		want    bool
	}{
		{"web-front", named, true},
		{"web-*", named, true},
		{"web", named, false}, // a name is matched whole
		{"api", named, false},
		{id, named, true},
		{"8f47ea3a461d", named, true}, // the short id docker ps shows
		{"8f", named, true},
		{"8f47*45", named, true},
		{"f47ea", named, false}, // an id from its start only
		{"8f47ea3a461d", unnamed, true},
		{"*", unnamed, true},
		{"", unnamed, true}, // the flag refuses an empty value
		{"web-front", unnamed, false},
	}
	for _, tt := range tests {
		if got := tt.c.Matches(tt.pattern); got != tt.want {
			t.Errorf("%+v.Matches(%q) = %v, want %v", tt.c, tt.pattern, got, tt.want)
		}
	}
}

// --container selects the sockets any holder of which runs in a container
// it names, including one shared with a host process that holds it first.
func TestQueryContainers(t *testing.T) {
	web := &Container{ID: strings.Repeat("ab", 32), Runtime: "docker", Name: "web"}
	db := &Container{ID: strings.Repeat("cd", 32), Runtime: "docker", Name: "db"}
	snap := &Snapshot{
		Sockets: []Socket{
			{ID: 1, Path: "/run/web.sock", Type: TypeStream, State: StateListening},
			{ID: 2, Path: "/run/db.sock", Type: TypeStream, State: StateListening},
			{ID: 3, Path: "/run/host.sock", Type: TypeStream, State: StateListening},
			{ID: 4, Path: "/run/shared.sock", Type: TypeStream, State: StateListening},
			{ID: 5, Path: "/run/orphan.sock", Type: TypeStream, State: StateListening},
		},
		Owners: []Owner{{ID: 1, PID: 10, FD: 3}, {ID: 2, PID: 20, FD: 3}, {ID: 3, PID: 30, FD: 3}, {ID: 4, PID: 5, FD: 4}, {ID: 4, PID: 11, FD: 5}},
	}
	calls := map[int]int{}
	r := &Resolver{
		Process: func(context.Context, int) (Process, error) { return Process{}, errors.New("none") },
		Lstat:   func(string) (*FileInfo, error) { return nil, fs.ErrNotExist },
		Container: func(pid int) *Container {
			calls[pid]++
			switch pid {
			case 10, 11:
				return web
			case 20:
				return db
			}
			return nil
		},
	}
	paths := func(es []Entry) []string {
		var out []string
		for _, e := range es {
			out = append(out, e.Path)
		}
		return out
	}
	tests := []struct {
		patterns []string
		want     []string
	}{
		{[]string{"web"}, []string{"/run/shared.sock", "/run/web.sock"}},
		{[]string{"d*"}, []string{"/run/db.sock"}},
		{[]string{"cdcd"}, []string{"/run/db.sock"}},
		{[]string{"web", "db"}, []string{"/run/db.sock", "/run/shared.sock", "/run/web.sock"}},
		{[]string{"nope"}, nil},
	}
	for _, tt := range tests {
		q := Query{Containers: tt.patterns}
		if !q.Filtered() {
			t.Errorf("%v: Filtered() = false", tt.patterns)
		}
		got := paths(r.Entries(context.Background(), snap, q))
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("--container %v (-want +got):\n%s", tt.patterns, diff)
		}
	}
	// The shared socket is labelled with the container of its first holder
	// in one.
	for _, e := range r.Entries(context.Background(), snap, Query{Containers: []string{"web"}}) {
		if e.Container != web {
			t.Errorf("%s labelled %+v, want web", e.Path, e.Container)
		}
	}
	for pid, n := range calls {
		if n != 1 {
			t.Errorf("Container(%d) called %d times, want once", pid, n)
		}
	}
	// Without a way to tell containers, nothing is in one.
	r.Container = nil
	if got := r.Entries(context.Background(), snap, Query{Containers: []string{"*"}}); len(got) != 0 {
		t.Errorf("no Container func: got %v", paths(got))
	}
}
