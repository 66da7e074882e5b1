package inspect

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

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
			makeStaleSocket(t, p, unix.SOCK_STREAM)
			rep, err := FindStale(context.Background(), &staticSource{}, NewResolver("/proc"), StaleOptions{Dirs: []string{dir}, Explicit: true, MaxDepth: 1})
			if err != nil || len(rep.Stale) != 1 {
				t.Fatalf("FindStale: %v, %+v", err, rep)
			}
			var fd int
			beforeRemoveAt = func(path string) {
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
			t.Cleanup(func() { beforeRemoveAt = nil; unix.Close(fd) })
			err = RemoveStale(context.Background(), &rep.Stale[0], 0, false)
			// Caught after the rename, and renamed back.
			if !errors.Is(err, ErrChanged) || !strings.Contains(err.Error(), "a different socket file was put there") || rep.Stale[0].Removed {
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
	makeStaleSocket(t, "/proc/self/fd/"+strconv.Itoa(int(d.Fd()))+"/"+name[:60], unix.SOCK_STREAM)
	// Bind takes no longer name: rename the file to the long one.
	if err := unix.Renameat(int(d.Fd()), name[:60], int(d.Fd()), name); err != nil {
		t.Fatal(err)
	}
	rep, err := FindStale(context.Background(), &staticSource{}, NewResolver("/proc"), StaleOptions{Dirs: []string{dir}, Explicit: true, MaxDepth: 1})
	if err != nil || len(rep.Stale) != 1 || rep.Unchecked != 0 {
		t.Fatalf("FindStale: %v, %+v", err, rep)
	}
	if err := RemoveStale(context.Background(), &rep.Stale[0], 0, false); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("left: %d entries", len(ents))
	}
}
