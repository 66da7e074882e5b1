package inspect

import (
	"context"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// missingOnce is a backend whose first snapshot misses a socket, as a
// sock_diag dump does when other sockets close while it runs.
type missingOnce struct {
	calls int
	snap  Snapshot
}

func (s *missingOnce) Snapshot(context.Context) (*Snapshot, error) {
	s.calls++
	if s.calls == 1 {
		return &Snapshot{}, nil
	}
	c := s.snap
	return &c, nil
}

// TestFindStaleSnapshotMisses binds a stream socket that does not listen:
// connect is refused as on a stale file, and one snapshot that misses it
// must not get its file removed.
func TestFindStaleSnapshotMisses(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "bound.sock")
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		t.Fatal(err)
	}
	fi, err := lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	src := &missingOnce{snap: Snapshot{Sockets: []Socket{{
		ID: 1, Path: path, Type: TypeStream, State: StateUnconnected, Known: KnownBound, Bound: fi.ID,
	}}}}
	rep, err := FindStale(context.Background(), src, LiveResolver("/proc"), StaleOptions{Dirs: []string{dir}, Explicit: true, MaxDepth: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Stale) != 0 {
		t.Errorf("a live socket's file is called stale: %+v", rep.Stale)
	}
	// The probe itself now proves the socket alive (its own type refuses,
	// the others answer EPROTOTYPE), so a second snapshot is not needed.
}
