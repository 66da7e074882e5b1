package sys

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/udsls/udsls/inspect"

	"github.com/udsls/udsls/internal/testutil"

	"golang.org/x/sys/unix"
)

// TestRemoveStaleRace puts another socket file at the path between the
// last check and the removal, as a server that cleans up and binds again
// does: a name-based unlink there deleted the new, live file. A bound
// socket that does not listen refuses connects as the stale file did, so
// only the identity of what is removed tells them apart.
func TestRemoveStaleRace(t *testing.T) {
	for _, kind := range []string{"bound", "listening"} {
		t.Run(kind, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "app\n\x1b[31m.sock")
			testutil.StaleSocket(t, p, unix.SOCK_STREAM)
			r, tree := NewResolver("/proc"), &fileTree{}
			r.Files = tree
			rep, err := inspect.FindStale(context.Background(), &staticSource{}, r, inspect.StaleOptions{Dirs: []string{dir}, Explicit: true, MaxDepth: 1})
			if err != nil || len(rep.Stale) != 1 {
				t.Fatalf("FindStale: %v, %+v", err, rep)
			}
			var fd int
			tree.beforeRemove = func(path string) {
				if err := os.Remove(path); err != nil {
					t.Fatal(err)
				}
				if fd, err = unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0); err != nil {
					t.Fatal(err)
				}
				if err := unix.Bind(fd, &unix.SockaddrUnix{Name: path}); err != nil {
					t.Fatal(err)
				}
				if kind == "listening" {
					unix.Listen(fd, 1)
				}
			}
			t.Cleanup(func() { unix.Close(fd) })
			err = inspect.RemoveStale(context.Background(), &rep.Stale[0], 0, false)
			// Caught after the rename, and renamed back.
			if !errors.Is(err, inspect.ErrChanged) || !strings.Contains(err.Error(), "a different socket file was put there") || rep.Stale[0].Removed {
				t.Errorf("RemoveStale: %v, removed %v", err, rep.Stale[0].Removed)
			}
			if _, err := os.Lstat(p); err != nil {
				t.Errorf("the new socket's file: %v", err)
			}
			ents, _ := os.ReadDir(dir)
			if len(ents) != 1 {
				var names []string
				for _, e := range ents {
					names = append(names, e.Name())
				}
				t.Errorf("left in the directory: %q", names)
			}
			if kind == "listening" {
				c, err := net.Dial("unix", p)
				if err != nil {
					t.Errorf("the listener is not reachable by its path: %v", err)
				} else {
					c.Close()
				}
			}
		})
	}
}

// TestRemoveStaleLongName removes a stale file whose name is the longest a
// directory entry takes: its full path is far beyond what connect(2)
// takes, and the probe goes through the held descriptor.
func TestRemoveStaleLongName(t *testing.T) {
	dir := t.TempDir()
	name := strings.Repeat("\xff", 255)
	d, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	testutil.StaleSocket(t, "/proc/self/fd/"+strconv.Itoa(int(d.Fd()))+"/"+name[:60], unix.SOCK_STREAM)
	// Bind takes no longer name: rename the file to the long one.
	if err := unix.Renameat(int(d.Fd()), name[:60], int(d.Fd()), name); err != nil {
		t.Fatal(err)
	}
	rep, err := inspect.FindStale(context.Background(), &staticSource{}, NewResolver("/proc"), inspect.StaleOptions{Dirs: []string{dir}, Explicit: true, MaxDepth: 1})
	if err != nil || len(rep.Stale) != 1 || rep.Unchecked != 0 {
		t.Fatalf("FindStale: %v, %+v", err, rep)
	}
	if err := inspect.RemoveStale(context.Background(), &rep.Stale[0], 0, false); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("left: %d entries", len(ents))
	}
}

// TestFindStaleUnproven: a file refusing connects is only stale when the
// snapshot could rule out a socket bound to it and not listening; when a
// namespace could not be read, or a socket without identity is bound by
// a name that may be the file's, it is unknown.
func TestFindStaleUnproven(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "app.sock")
	testutil.StaleSocket(t, p, unix.SOCK_STREAM)
	for _, tt := range []struct {
		name   string
		snap   inspect.Snapshot
		reason string
	}{
		{"namespace unread", inspect.Snapshot{Missing: "network namespace 4026532000 unreadable (permission denied)"}, "some sockets could not be read"},
		{"relative name", inspect.Snapshot{Sockets: []inspect.Socket{{ID: 9, Path: "app.sock", Type: inspect.TypeStream, State: inspect.StateUnconnected}}}, `relative name "app.sock"`},
		{"other mount namespace", inspect.Snapshot{Sockets: []inspect.Socket{{ID: 9, Path: "/run/app.sock", Type: inspect.TypeStream, State: inspect.StateUnconnected}}}, `at "/run/app.sock"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := inspect.FindStale(context.Background(), &staticSource{snap: tt.snap}, NewResolver("/proc"), inspect.StaleOptions{Dirs: []string{dir}, Explicit: true, MaxDepth: 1})
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Stale) != 0 || len(rep.Unknown) != 1 || !strings.Contains(rep.Unknown[0].Reason, tt.reason) {
				t.Errorf("stale %+v, unknown %+v", rep.Stale, rep.Unknown)
			}
		})
	}
	// A listener without identity elsewhere by the same name proves
	// nothing either way: the refused connect already rules it out.
	rep, err := inspect.FindStale(context.Background(), &staticSource{snap: inspect.Snapshot{Sockets: []inspect.Socket{{ID: 9, Path: "/run/app.sock", Type: inspect.TypeStream, State: inspect.StateListening}}}},
		NewResolver("/proc"), inspect.StaleOptions{Dirs: []string{dir}, Explicit: true, MaxDepth: 1})
	if err != nil || len(rep.Stale) != 1 || len(rep.Unknown) != 0 {
		t.Errorf("%v: stale %+v, unknown %+v", err, rep.Stale, rep.Unknown)
	}
}

// staticSource serves a literal snapshot, as a backend would.
type staticSource struct{ snap inspect.Snapshot }

func (s *staticSource) Snapshot(context.Context) (*inspect.Snapshot, error) {
	c := s.snap
	return &c, nil
}
