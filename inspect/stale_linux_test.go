package inspect

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/udsls/udsls/internal/testutil"
	"github.com/udsls/udsls/platform/testenv"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

// lstat is this machine's Lstat, for the live tests, which are Linux's.
func lstat(path string) (*FileInfo, error) { return LiveLstat(path) }

// staleTree is a directory of live and stale socket files and the
// snapshot a backend would take of it.
type staleTree struct {
	root string
	// live are the sockets bound in this network namespace; the snapshot
	// lists them.
	live []Socket
}

func (tr *staleTree) p(name string) string { return filepath.Join(tr.root, name) }

func (tr *staleTree) snapshot(identity bool) *staticSource {
	src := &staticSource{snap: Snapshot{Backend: "test"}}
	for _, s := range tr.live {
		if !identity {
			s.Known &^= KnownBound
			s.Bound = FileID{}
		}
		src.snap.Sockets = append(src.snap.Sockets, s)
	}
	return src
}

// addLive records a socket bound in this namespace at name; file is where
// its bound file is now, which is name unless the test moved it.
func (tr *staleTree) addLive(t *testing.T, name, file string, typ Type, st State) {
	t.Helper()
	fi, err := lstat(file)
	if err != nil {
		t.Fatal(err)
	}
	tr.live = append(tr.live, Socket{
		ID: SocketID(len(tr.live) + 1), Path: name, Type: typ, State: st,
		Known: KnownBound, Bound: fi.ID,
	})
}

func newStaleTree(t *testing.T) *staleTree {
	t.Helper()
	tr := &staleTree{root: t.TempDir()}
	for _, d := range []string{"live", "a/b/c", "rel", "netns", "links", "deep"} {
		if err := os.MkdirAll(tr.p(d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	stream, err := net.Listen("unix", tr.p("live/stream.sock"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stream.Close() })
	tr.addLive(t, tr.p("live/stream.sock"), tr.p("live/stream.sock"), TypeStream, StateListening)
	seq, err := net.Listen("unixpacket", tr.p("live/seq.sock"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { seq.Close() })
	tr.addLive(t, tr.p("live/seq.sock"), tr.p("live/seq.sock"), TypeSeqpacket, StateListening)
	dgram, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: tr.p("live/dgram.sock"), Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dgram.Close() })
	tr.addLive(t, tr.p("live/dgram.sock"), tr.p("live/dgram.sock"), TypeDgram, StateUnconnected)

	// Bound by a relative name: the listing says "rel.sock".
	if err := testutil.ChildListen(t, tr.p("rel"), "rel.sock"); err != nil {
		t.Fatal(err)
	}
	tr.addLive(t, "rel.sock", tr.p("rel/rel.sock"), TypeStream, StateListening)

	// Bound in another network namespace: the snapshot cannot see it, only
	// the probe can.
	if err := testutil.ChildListen(t, tr.p("netns"), "ns.sock", "unshare", "--net"); err != nil {
		testenv.Skipf(t, testenv.Root, "cannot bind in a new network namespace (unshare needs CAP_SYS_ADMIN): %v", err)
	}

	for name, typ := range map[string]int{
		"s1.sock":         unix.SOCK_STREAM,
		"a/s2.sock":       unix.SOCK_DGRAM,
		"a/b/c/s3.sock":   unix.SOCK_SEQPACKET,
		"with space.sock": unix.SOCK_STREAM,
		"new\nline.sock":  unix.SOCK_STREAM,
		"bad\xff.sock":    unix.SOCK_STREAM,
	} {
		testutil.StaleSocket(t, tr.p(name), typ)
	}
	if err := os.Symlink(tr.p("s1.sock"), tr.p("links/to-stale.sock")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(tr.p("live/stream.sock"), tr.p("links/to-live.sock")); err != nil {
		t.Fatal(err)
	}
	// A directory symlink must not be walked either.
	if err := os.Symlink(tr.p("a"), tr.p("links/dir")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tr.p("x.sock"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	// Longer than connect(2) takes: checked through the directory fd.
	long := filepath.Join("deep", strings.Repeat("d", 60), strings.Repeat("e", 60))
	if err := os.MkdirAll(tr.p(long), 0o755); err != nil {
		t.Fatal(err)
	}
	testutil.StaleSocket(t, tr.p("deep/long.sock"), unix.SOCK_STREAM)
	if err := os.Rename(tr.p("deep/long.sock"), tr.p(long+"/long.sock")); err != nil {
		t.Fatal(err)
	}

	// A listener whose file was moved away and replaced by a stale socket:
	// the path is claimed by a live socket that holds another file.
	moved, err := net.Listen("unix", tr.p("moved.sock"))
	if err != nil {
		t.Fatal(err)
	}
	moved.(*net.UnixListener).SetUnlinkOnClose(false)
	t.Cleanup(func() { moved.Close() })
	if err := os.Rename(tr.p("moved.sock"), tr.p("live/moved-away")); err != nil {
		t.Fatal(err)
	}
	tr.addLive(t, tr.p("moved.sock"), tr.p("live/moved-away"), TypeStream, StateListening)
	testutil.StaleSocket(t, tr.p("moved.sock"), unix.SOCK_STREAM)

	// A listener whose file was deleted.
	gone, err := net.Listen("unix", tr.p("gone.sock"))
	if err != nil {
		t.Fatal(err)
	}
	gone.(*net.UnixListener).SetUnlinkOnClose(false)
	t.Cleanup(func() { gone.Close() })
	tr.addLive(t, tr.p("gone.sock"), tr.p("gone.sock"), TypeStream, StateListening)
	if err := os.Remove(tr.p("gone.sock")); err != nil {
		t.Fatal(err)
	}
	return tr
}

type staleResult struct {
	Path, Reason string
}

func staleSet(rep *StaleReport) []staleResult {
	var out []staleResult
	for _, f := range rep.Stale {
		out = append(out, staleResult{f.Path, f.Reason})
	}
	return out
}

func TestFindStale(t *testing.T) {
	tr := newStaleTree(t)
	long := tr.p(filepath.Join("deep", strings.Repeat("d", 60), strings.Repeat("e", 60), "long.sock"))
	common := []staleResult{
		{tr.p("a/b/c/s3.sock"), ReasonNotBound},
		{tr.p("a/s2.sock"), ReasonNotBound},
		{tr.p("bad\xff.sock"), ReasonNotBound},
		{long, ReasonNotBound},
		{tr.p("new\nline.sock"), ReasonNotBound},
		{tr.p("s1.sock"), ReasonNotBound},
		{tr.p("with space.sock"), ReasonNotBound},
	}
	withMoved := append([]staleResult{{tr.p("moved.sock"), ReasonOtherFile}}, common...)
	slices.SortFunc(withMoved, func(a, b staleResult) int { return strings.Compare(a.Path, b.Path) })
	tests := []struct {
		name     string
		identity bool
		maxDepth int
		want     []staleResult
	}{
		// With the bound files' identity, the stale file that took the
		// moved listener's name is found; by path it is protected.
		{"identity", true, 16, withMoved},
		{"paths", false, 16, common},
		{"depth 2", true, 2, []staleResult{
			{tr.p("a/s2.sock"), ReasonNotBound},
			{tr.p("bad\xff.sock"), ReasonNotBound},
			{tr.p("moved.sock"), ReasonOtherFile},
			{tr.p("new\nline.sock"), ReasonNotBound},
			{tr.p("s1.sock"), ReasonNotBound},
			{tr.p("with space.sock"), ReasonNotBound},
		}},
		{"depth 0", true, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := FindStale(context.Background(), tr.snapshot(tt.identity), LiveResolver("/proc"),
				StaleOptions{Dirs: []string{tr.root}, Explicit: true, MaxDepth: tt.maxDepth})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, staleSet(rep)); diff != "" {
				t.Errorf("stale files (-want +got):\n%s", diff)
			}
			if len(rep.Warnings) != 0 || rep.Unchecked != 0 {
				t.Errorf("warnings %q, %d unchecked; want none", rep.Warnings, rep.Unchecked)
			}
		})
	}

	t.Run("unreachable", func(t *testing.T) {
		rep, err := FindStale(context.Background(), tr.snapshot(true), LiveResolver("/proc"),
			StaleOptions{Dirs: []string{tr.root}, Explicit: true, MaxDepth: 16})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range rep.Unreachable {
			got = append(got, e.Path+" "+string(e.FileStatus))
		}
		want := []string{tr.p("gone.sock") + " gone", tr.p("moved.sock") + " replaced"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("unreachable (-want +got):\n%s", diff)
		}
		if !rep.Counted {
			t.Error("unreachable listeners under the given directory are not counted")
		}
		// Elsewhere they are information only, and outside given
		// directories not shown.
		rep, err = FindStale(context.Background(), tr.snapshot(true), LiveResolver("/proc"),
			StaleOptions{Dirs: []string{tr.p("a")}, Explicit: true, MaxDepth: 16})
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Unreachable) != 0 {
			t.Errorf("unreachable outside the given directory: %v", rep.Unreachable)
		}
	})

	t.Run("owner and mode", func(t *testing.T) {
		rep, err := FindStale(context.Background(), tr.snapshot(true), LiveResolver("/proc"),
			StaleOptions{Dirs: []string{tr.p("a/b")}, Explicit: true, MaxDepth: 16})
		if err != nil {
			t.Fatal(err)
		}
		fi, err := os.Lstat(tr.p("a/b/c/s3.sock"))
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Stale) != 1 {
			t.Fatalf("got %d stale files, want 1", len(rep.Stale))
		}
		f := rep.Stale[0]
		if f.File.UID != uint32(os.Getuid()) || f.File.Mode != fi.Mode() || !f.File.ModTime.Equal(fi.ModTime()) || f.File.Owner == "" {
			t.Errorf("stale file info %+v, want uid %d mode %v mtime %v and a name", f.File, os.Getuid(), fi.Mode(), fi.ModTime())
		}
	})
}

func TestFindStaleStartDirs(t *testing.T) {
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, "real"), 0o755); err != nil {
		t.Fatal(err)
	}
	testutil.StaleSocket(t, filepath.Join(root, "real", "s.sock"), unix.SOCK_STREAM)
	if err := os.Symlink("real", filepath.Join(root, "link")); err != nil {
		t.Fatal(err)
	}
	src := &staticSource{}

	// A start directory that is a symlink to another is walked once,
	// under its real name; a nested start directory adds nothing.
	rep, err := FindStale(context.Background(), src, LiveResolver("/proc"), StaleOptions{
		Dirs: []string{filepath.Join(root, "link"), filepath.Join(root, "real"), root}, Explicit: true, MaxDepth: 16,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []staleResult{{filepath.Join(root, "real", "s.sock"), ReasonNotBound}}
	if diff := cmp.Diff(want, staleSet(rep)); diff != "" {
		t.Errorf("stale files (-want +got):\n%s", diff)
	}

	missing := filepath.Join(root, "missing")
	_, err = FindStale(context.Background(), src, LiveResolver("/proc"), StaleOptions{Dirs: []string{missing}, Explicit: true, MaxDepth: 16})
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing explicit directory: error %v, want one wrapping ErrNotExist", err)
	}
	rep, err = FindStale(context.Background(), src, LiveResolver("/proc"), StaleOptions{Dirs: []string{missing, root}, MaxDepth: 16})
	if err != nil || len(rep.Stale) != 1 || len(rep.Warnings) != 0 {
		t.Errorf("missing default directory: %v, %d stale, warnings %q; want it skipped quietly", err, len(rep.Stale), rep.Warnings)
	}
	_, err = FindStale(context.Background(), src, LiveResolver("/proc"), StaleOptions{Dirs: []string{filepath.Join(root, "real", "s.sock")}, Explicit: true, MaxDepth: 16})
	if err == nil {
		t.Error("a socket file as start directory: no error")
	}
	rep, err = FindStale(context.Background(), src, LiveResolver("/proc"), StaleOptions{Dirs: []string{"/proc/self"}, Explicit: true, MaxDepth: 16})
	if err != nil || len(rep.Dirs) != 0 || len(rep.Warnings) != 1 {
		t.Errorf("/proc: %v, dirs %q, warnings %q; want skipped with one warning", err, rep.Dirs, rep.Warnings)
	}
}

// findAndRemove scans tr for the one stale file at name, lets change run
// between the scan and the removal, and returns RemoveStale's error.
func findAndRemove(t *testing.T, dir, name string, change func()) error {
	t.Helper()
	rep, err := FindStale(context.Background(), &staticSource{}, LiveResolver("/proc"),
		StaleOptions{Dirs: []string{dir}, Explicit: true, MaxDepth: 16})
	if err != nil {
		t.Fatal(err)
	}
	want := []staleResult{{filepath.Join(dir, name), ReasonNotBound}}
	if diff := cmp.Diff(want, staleSet(rep)); diff != "" {
		t.Fatalf("stale files (-want +got):\n%s", diff)
	}
	change()
	return RemoveStale(context.Background(), &rep.Stale[0], 0, false)
}

func TestRemoveStale(t *testing.T) {
	t.Run("removed", func(t *testing.T) {
		dir := t.TempDir()
		p := filepath.Join(dir, "s.sock")
		testutil.StaleSocket(t, p, unix.SOCK_STREAM)
		if err := findAndRemove(t, dir, "s.sock", func() {}); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("after removal lstat says %v, want not exist", err)
		}
	})
	t.Run("dry run", func(t *testing.T) {
		dir := t.TempDir()
		p := filepath.Join(dir, "s.sock")
		testutil.StaleSocket(t, p, unix.SOCK_STREAM)
		rep, err := FindStale(context.Background(), &staticSource{}, LiveResolver("/proc"),
			StaleOptions{Dirs: []string{dir}, Explicit: true, MaxDepth: 16})
		if err != nil || len(rep.Stale) != 1 {
			t.Fatalf("scan: %v, %d stale", err, len(rep.Stale))
		}
		if err := RemoveStale(context.Background(), &rep.Stale[0], 0, true); err != nil || rep.Stale[0].Removed {
			t.Errorf("dry run: %v, removed %v", err, rep.Stale[0].Removed)
		}
		if _, err := os.Lstat(p); err != nil {
			t.Errorf("dry run removed the file: %v", err)
		}
	})

	races := []struct {
		name   string
		change func(t *testing.T, root string)
		// check looks at what is left afterwards.
		check func(t *testing.T, root string)
		want  error
	}{
		{"replaced by a regular file", func(t *testing.T, root string) {
			replace(t, root, func(p string) error { return os.WriteFile(p, []byte("data"), 0o644) })
		}, func(t *testing.T, root string) {
			if b, err := os.ReadFile(filepath.Join(root, "sub", "s.sock")); string(b) != "data" {
				t.Errorf("regular file gone or changed: %q, %v", b, err)
			}
		}, ErrChanged},
		{"replaced by a live listener", func(t *testing.T, root string) {
			replace(t, root, func(p string) error {
				l, err := net.Listen("unix", p)
				if err == nil {
					t.Cleanup(func() { l.Close() })
				}
				return err
			})
		}, func(t *testing.T, root string) {
			if r := LiveProbe(context.Background(), filepath.Join(root, "sub", "s.sock"), 0); r.Reach != ReachUp {
				t.Errorf("the new listener is unreachable: %v %v", r.Reach, r.Err)
			}
		}, ErrChanged},
		{"directory swapped for a symlink", func(t *testing.T, root string) {
			// The same file is still reachable by the path, but only
			// through a symlink: the removal must not follow it.
			if err := os.Rename(filepath.Join(root, "sub"), filepath.Join(root, "elsewhere")); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink("elsewhere", filepath.Join(root, "sub")); err != nil {
				t.Fatal(err)
			}
		}, func(t *testing.T, root string) {
			if _, err := os.Lstat(filepath.Join(root, "elsewhere", "s.sock")); err != nil {
				t.Errorf("the file behind the symlink was removed: %v", err)
			}
		}, ErrChanged},
		{"removed by someone else", func(t *testing.T, root string) {
			if err := os.Remove(filepath.Join(root, "sub", "s.sock")); err != nil {
				t.Fatal(err)
			}
		}, func(*testing.T, string) {}, fs.ErrNotExist},
	}
	for _, tt := range races {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			if err := os.Mkdir(filepath.Join(root, "sub"), 0o755); err != nil {
				t.Fatal(err)
			}
			testutil.StaleSocket(t, filepath.Join(root, "sub", "s.sock"), unix.SOCK_STREAM)
			err := findAndRemove(t, root, "sub/s.sock", func() { tt.change(t, root) })
			if !errors.Is(err, tt.want) {
				t.Fatalf("RemoveStale: %v, want an error wrapping %v", err, tt.want)
			}
			tt.check(t, root)
		})
	}
}

// replace puts something new at root/sub/s.sock, as a restarted server does.
func replace(t *testing.T, root string, put func(p string) error) {
	t.Helper()
	p := filepath.Join(root, "sub", "s.sock")
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	if err := put(p); err != nil {
		t.Fatal(err)
	}
}

func TestFindStaleSnapshotError(t *testing.T) {
	boom := errors.New("boom")
	_, err := FindStale(t.Context(), errSource{boom}, LiveResolver(""), StaleOptions{Dirs: []string{t.TempDir()}, Explicit: true, MaxDepth: 1})
	if !errors.Is(err, boom) {
		t.Errorf("FindStale: %v, want the snapshot's error", err)
	}
}

type errSource struct{ err error }

func (s errSource) Snapshot(context.Context) (*Snapshot, error) { return nil, s.err }
