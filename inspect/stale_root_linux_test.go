package inspect

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/udsls/udsls/internal/testutil"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

// TestFindStaleRoot walks a file tree as the processes rooted in it see it,
// the way --stale --netns PID walks /proc/PID/root: the tree's /var/run is
// an absolute symlink to its own /run, which the kernel would resolve to
// ours.
func TestFindStaleRoot(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"run", "var", "proc"} {
		if err := os.Mkdir(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("/run", filepath.Join(root, "var", "run")); err != nil {
		t.Fatal(err)
	}
	testutil.StaleSocket(t, filepath.Join(root, "run", "stale.sock"), unix.SOCK_STREAM)
	l, err := net.Listen("unix", filepath.Join(root, "run", "live.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	// Beneath the root the walk is judged by the inside path: its /proc is
	// skipped as ours would be, but a directory of ours named like the
	// root's path is not.
	testutil.StaleSocket(t, filepath.Join(root, "proc", "hidden.sock"), unix.SOCK_STREAM)

	r := LiveResolver("")
	r.UserName = func(uint32) string { return "" }
	r.GroupName = func(uint32) string { return "" }
	for _, dir := range []string{"/var/run", "/"} {
		t.Run(dir, func(t *testing.T) {
			rep, err := FindStale(context.Background(), &staticSource{}, r, StaleOptions{Dirs: []string{dir}, Explicit: true, MaxDepth: 4, Root: root})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range rep.Stale {
				got = append(got, f.Path)
			}
			if diff := cmp.Diff([]string{"/run/stale.sock"}, got); diff != "" {
				t.Errorf("stale files (-want +got):\n%s", diff)
			}
		})
	}

	rep, err := FindStale(context.Background(), &staticSource{}, r, StaleOptions{Dirs: []string{"/run"}, Explicit: true, MaxDepth: 1, Root: root})
	if err != nil || len(rep.Stale) != 1 {
		t.Fatalf("FindStale: %v, %d stale", err, len(rep.Stale))
	}
	if err := RemoveStale(context.Background(), &rep.Stale[0], 0, false); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(root, "run", "stale.sock")); !os.IsNotExist(err) {
		t.Errorf("stale file still there after removal: %v", err)
	}
	if _, err := os.Lstat(filepath.Join(root, "run", "live.sock")); err != nil {
		t.Errorf("live socket file: %v", err)
	}

	_, err = FindStale(context.Background(), &staticSource{}, r, StaleOptions{Dirs: []string{"run"}, Explicit: true, MaxDepth: 1, Root: root})
	if want := `directory "run": must be absolute in another mount namespace`; err == nil || err.Error() != want {
		t.Errorf("relative directory: error %v, want %s", err, want)
	}
}
