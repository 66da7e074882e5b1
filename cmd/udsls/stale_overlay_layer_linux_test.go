//go:build linux

package main

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/udsls/udsls/internal/testutil"
	"github.com/udsls/udsls/platform/testenv"
	"golang.org/x/sys/unix"
)

// TestStaleOverlayUpperLayer: a socket bound through an overlay holds the
// overlay's inode; its file seen in the upper directory is another inode
// to the kernel, and a connect there is refused even for a listener. A
// walk of the upper directory called the live listener's and the bound
// socket's files stale and --remove deleted them.
func TestStaleOverlayUpperLayer(t *testing.T) {
	testenv.NeedRoot(t, "mounting overlayfs")
	base := t.TempDir()
	p := func(n string) string { return filepath.Join(base, n) }
	mkdirs(t, base, "lower")
	mountAt(t, p("upperfs"), "-t", "tmpfs", "tmpfs")
	mkdirs(t, p("upperfs"), "upper", "work")
	mountAt(t, p("merged"), "-t", "overlay", "overlay", "-o",
		"lowerdir="+p("lower")+",upperdir="+p("upperfs/upper")+",workdir="+p("upperfs/work"))

	l, err := net.Listen("unix", p("merged/live.sock"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	boundSocket(t, p("merged/bound.sock"))
	d, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: p("merged/dgram.sock"), Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	// Through procfs a name is all there is: a relative one has no file
	// to stat.
	if err := testutil.ChildListen(t, p("merged"), "rel.sock"); err != nil {
		t.Fatal(err)
	}
	stale := p("upperfs/upper/stale.sock")
	live := []string{"live.sock", "bound.sock", "dgram.sock", "rel.sock"}

	for _, source := range []string{"netlink", "procfs"} {
		testutil.StaleSocket(t, stale, unix.SOCK_STREAM)
		code, out, errOut := runUdsls("--stale", "--remove", "--source", source, p("upperfs/upper"))
		if code != exitOK || !strings.HasPrefix(out, "removed "+stale+"\nUNKNOWN") {
			t.Errorf("--source %s --remove: exit %d, stdout %q, stderr %q", source, code, out, errOut)
		}
		for _, n := range live {
			if _, err := os.Lstat(p("upperfs/upper/" + n)); err != nil {
				t.Errorf("--source %s: a live socket's file in the upper layer: %v", source, err)
			}
		}
		stillListens(t, p("merged/live.sock"))
	}
}

// TestStaleFUSEView: a socket bound in a directory that a FUSE filesystem
// (bindfs) passes through holds the underlying inode; through the FUSE
// view a connect is refused while it listens, and an unlink there deletes
// its file. --remove through the view deleted a live listener's file.
func TestStaleFUSEView(t *testing.T) {
	testenv.NeedRoot(t, "mounting a FUSE filesystem")
	testenv.NeedTool(t, "bindfs", "bindfs")
	base := t.TempDir()
	p := func(n string) string { return filepath.Join(base, n) }
	mkdirs(t, base, "src", "view")
	bindfsAt(t, p("src"), p("view"))
	l, err := net.Listen("unix", p("src/live.sock"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	boundSocket(t, p("src/bound.sock"))
	testutil.StaleSocket(t, p("src/stale.sock"), unix.SOCK_STREAM)

	code, out, errOut := runUdsls("--stale", "--remove", p("view"))
	if code != exitOK || strings.Contains(out, "removed") || !strings.Contains(out, "FUSE") {
		t.Errorf("--remove through FUSE: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	for _, n := range []string{"live.sock", "bound.sock", "stale.sock"} {
		if _, err := os.Lstat(p("src/" + n)); err != nil {
			t.Errorf("through a FUSE view: %v", err)
		}
	}
}

// TestStaleInodeCoincidence: a live socket on one tmpfs and a stale file
// on another with the same inode number (each tmpfs numbers its own) is
// no overlay: the stale file is removed, not kept as unknown.
func TestStaleInodeCoincidence(t *testing.T) {
	testenv.NeedRoot(t, "mounting tmpfs")
	base := t.TempDir()
	p := func(n string) string { return filepath.Join(base, n) }
	mountAt(t, p("a"), "-t", "tmpfs", "tmpfs")
	mountAt(t, p("b"), "-t", "tmpfs", "tmpfs")
	l, err := net.Listen("unix", p("a/live.sock"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	stale := p("b/stale.sock")
	testutil.StaleSocket(t, stale, unix.SOCK_STREAM)
	var la, lb unix.Stat_t
	if err := unix.Lstat(p("a/live.sock"), &la); err != nil {
		t.Fatal(err)
	}
	if err := unix.Lstat(stale, &lb); err != nil {
		t.Fatal(err)
	}
	if la.Ino != lb.Ino {
		t.Fatalf("the first files of two new tmpfs have inodes %d and %d; the test needs them alike", la.Ino, lb.Ino)
	}
	code, out, errOut := runUdsls("--stale", "--remove", p("b"))
	if code != exitOK || out != "removed "+stale+"\n" {
		t.Errorf("--remove: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

// bindfsAt mounts a bindfs view of src at view, unmounted when the test
// ends.
func bindfsAt(t *testing.T, src, view string) {
	t.Helper()
	mustRun(t, "bindfs", src, view)
	t.Cleanup(func() {
		if out, err := exec.Command("fusermount", "-u", view).CombinedOutput(); err != nil {
			t.Errorf("fusermount -u: %v\n%s", err, out)
			exec.Command("umount", "-l", view).Run()
		}
	})
}

// stillListens fails the test unless the listener at path takes a
// connection after --remove.
func stillListens(t *testing.T, path string) {
	t.Helper()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Errorf("the listener after --remove: %v", err)
		return
	}
	c.Close()
}
