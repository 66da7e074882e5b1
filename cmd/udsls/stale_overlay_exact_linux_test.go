//go:build linux

package main

import (
	"fmt"
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

// lstatIno lstats path for its inode number.
func lstatIno(t *testing.T, path string) uint64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

// staleWithInode makes a stale socket file at dir/name with inode number
// ino on a fresh tmpfs, whose numbers go up one by one and are not given
// again: the files made and removed before it take the numbers before.
func staleWithInode(t *testing.T, dir, name string, ino uint64) string {
	t.Helper()
	p := filepath.Join(dir, name)
	for {
		testutil.StaleSocket(t, p, unix.SOCK_STREAM)
		n := lstatIno(t, p)
		if n == ino {
			return p
		}
		if n > ino {
			t.Fatalf("%s cannot be given inode %d: the filesystem is at %d", p, ino, n)
		}
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
	}
}

// newInode makes and removes a file p and returns its inode number.
func newInode(t *testing.T, p string) uint64 {
	t.Helper()
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	n := lstatIno(t, p)
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestStaleOverlayLayersExact: a live socket bound through an overlay
// kept as unknown every socket file with its inode number on any other
// device, so a stale file on an unrelated tmpfs (whose numbers are as
// small) was never removed. Now only the overlay's layers' devices count:
// the unrelated file is removed, while the live socket's file seen in the
// upper directory, and a file of its number in a lower directory, stay
// unknown and are kept.
func TestStaleOverlayLayersExact(t *testing.T) {
	testenv.NeedRoot(t, "mounting tmpfs and overlayfs")
	for _, sameFS := range []bool{false, true} {
		t.Run(fmt.Sprintf("upper-on-lower-fs=%v", sameFS), func(t *testing.T) {
			base := t.TempDir()
			p := func(n string) string { return filepath.Join(base, n) }
			mountAt(t, p("upperfs"), "-t", "tmpfs", "tmpfs")
			lowerfs := p("lowerfs")
			if sameFS {
				lowerfs = p("upperfs")
			} else {
				mountAt(t, lowerfs, "-t", "tmpfs", "tmpfs")
			}
			mkdirs(t, p("upperfs"), "upper", "work")
			mkdirs(t, lowerfs, "lower")
			mountAt(t, p("merged"), "-t", "overlay", "overlay", "-o",
				"lowerdir="+filepath.Join(lowerfs, "lower")+",upperdir="+p("upperfs/upper")+",workdir="+p("upperfs/work"))
			// The live socket's number well above those of other tests'
			// fresh filesystems, whose sockets on an overlay or FUSE
			// elsewhere would make the unrelated file unknown rightly.
			for range 3000 + os.Getpid()%1000 {
				newInode(t, p("upperfs/.bump"))
			}

			l, err := net.Listen("unix", p("merged/live.sock"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { l.Close() })
			upperView := p("upperfs/upper/live.sock")
			ino := lstatIno(t, upperView)
			if got := lstatIno(t, p("merged/live.sock")); got != ino {
				t.Fatalf("the overlay shows inode %d, its upper directory %d", got, ino)
			}
			mountAt(t, p("other"), "-t", "tmpfs", "tmpfs")
			unrelated := staleWithInode(t, p("other"), "stale.sock", ino)
			dirs := []string{p("other"), p("upperfs/upper")}
			kept := []string{upperView}
			if !sameFS {
				// A file of the lower layer with the live socket's number.
				kept = append(kept, staleWithInode(t, filepath.Join(lowerfs, "lower"), "low.sock", ino))
				dirs = append(dirs, filepath.Join(lowerfs, "lower"))
			}

			// A process of its own: in this one, a mount id the previous
			// subtest freed may still name its mount's device.
			cmd := exec.Command(buildUdsls(t), append([]string{"--stale", "--remove"}, dirs...)...)
			var stdout, stderr strings.Builder
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err = cmd.Run()
			code, out, errOut := cmd.ProcessState.ExitCode(), stdout.String(), stderr.String()
			if err != nil && code < 0 {
				t.Fatal(err)
			}
			if code != exitOK || !strings.Contains(out, "removed "+unrelated+"\n") || !strings.Contains(out, "UNKNOWN") {
				t.Errorf("--remove: exit %d, stdout %q, stderr %q", code, out, errOut)
			}
			if _, err := os.Lstat(unrelated); err == nil {
				t.Errorf("%s, on no layer of the overlay, was not removed", unrelated)
			}
			for _, k := range kept {
				if strings.Contains(out, "removed "+k+"\n") {
					t.Errorf("%s removed", k)
				}
				if _, err := os.Lstat(k); err != nil {
					t.Errorf("a layer's file with the live socket's inode number: %v", err)
				}
			}
			stillListens(t, p("merged/live.sock"))
		})
	}
}

// TestStaleFUSEInodeConservative: a FUSE filesystem's layers cannot be
// known, so a socket file with the inode number of a live socket bound
// through FUSE stays unknown on any other device: the directory it passes
// through and an unrelated tmpfs alike.
func TestStaleFUSEInodeConservative(t *testing.T) {
	testenv.NeedRoot(t, "mounting a FUSE filesystem and tmpfs")
	testenv.NeedTool(t, "bindfs", "bindfs")
	base := t.TempDir()
	p := func(n string) string { return filepath.Join(base, n) }
	// On a tmpfs of its own the files have small numbers, which bindfs
	// passes on.
	mountAt(t, p("src"), "-t", "tmpfs", "tmpfs")
	mkdirs(t, base, "view")
	bindfsAt(t, p("src"), p("view"))
	l, err := net.Listen("unix", p("view/live.sock"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	ino := lstatIno(t, p("view/live.sock"))
	if ino > 1000 {
		t.Fatalf("the FUSE view numbers its file %d, too many files to make on a tmpfs", ino)
	}
	mountAt(t, p("other"), "-t", "tmpfs", "tmpfs")
	stale := staleWithInode(t, p("other"), "stale.sock", ino)
	code, out, errOut := runUdsls("--stale", "--remove", p("other"), p("src"))
	if code != exitOK || strings.Contains(out, "removed") || !strings.Contains(out, "UNKNOWN") {
		t.Errorf("--remove: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	for _, f := range []string{stale, p("src/live.sock")} {
		if _, err := os.Lstat(f); err != nil {
			t.Errorf("a file with the inode number of a socket bound through FUSE: %v", err)
		}
	}
}

// TestStaleOverlayViewOfLayerSocket: a socket bound in an overlay's upper
// directory holds the upper inode; seen through the overlay (all layers on
// one filesystem, so the overlay's device) the file refuses connects and
// has the same inode number. It was called stale, and --remove through
// the overlay deleted the live socket's file.
func TestStaleOverlayViewOfLayerSocket(t *testing.T) {
	testenv.NeedRoot(t, "mounting tmpfs and overlayfs")
	base := t.TempDir()
	p := func(n string) string { return filepath.Join(base, n) }
	mountAt(t, p("fs"), "-t", "tmpfs", "tmpfs")
	mkdirs(t, p("fs"), "lower", "upper", "work")
	mountAt(t, p("merged"), "-t", "overlay", "overlay", "-o",
		"lowerdir="+p("fs/lower")+",upperdir="+p("fs/upper")+",workdir="+p("fs/work"))
	l, err := net.Listen("unix", p("fs/upper/live.sock"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	if a, b := lstatIno(t, p("fs/upper/live.sock")), lstatIno(t, p("merged/live.sock")); a != b {
		t.Fatalf("inode %d in the upper directory, %d through the overlay", a, b)
	}
	code, out, errOut := runUdsls("--stale", "--remove", p("merged"))
	if code != exitOK || strings.Contains(out, "removed") || !strings.Contains(out, "UNKNOWN") {
		t.Errorf("--remove: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	stillListens(t, p("fs/upper/live.sock"))
}

// TestStaleOverlayUpperMoved: an overlay's options name its upper
// directory as the mounter gave it; after its filesystem was moved and
// another mounted in its place, that path named a directory of the new
// one, and --remove deleted, in the real upper directory, the file of a
// listener bound through the overlay, and through the overlay the file
// of a socket bound in the upper directory.
func TestStaleOverlayUpperMoved(t *testing.T) {
	testenv.NeedRoot(t, "mounting tmpfs and overlayfs, moving a mount")
	base := t.TempDir()
	p := func(n string) string { return filepath.Join(base, n) }
	mkdirs(t, base, "layers", "moved")
	mustRun(t, "mount", "-t", "tmpfs", "tmpfs", p("layers"))
	moved := false
	t.Cleanup(func() {
		at := p("layers")
		if moved {
			at = p("moved")
		}
		if out, err := exec.Command("umount", at).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v\n%s", at, err, out)
			exec.Command("umount", "-l", at).Run()
		}
	})
	mkdirs(t, p("layers"), "upper", "work", "lower")
	mountAt(t, p("merged"), "-t", "overlay", "overlay", "-o",
		"lowerdir="+p("layers/lower")+",upperdir="+p("layers/upper")+",workdir="+p("layers/work"))
	l, err := net.Listen("unix", p("merged/live.sock"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })

	mustRun(t, "mount", "--move", p("layers"), p("moved"))
	moved = true
	mountAt(t, p("layers"), "-t", "tmpfs", "tmpfs")
	mkdirs(t, p("layers"), "upper", "work", "lower")
	boundSocket(t, p("moved/upper/bound.sock"))
	kept := []string{p("moved/upper/live.sock"), p("merged/bound.sock")}
	for _, k := range kept {
		if _, err := os.Lstat(k); err != nil {
			t.Fatal(err)
		}
	}

	code, out, errOut := runUdsls("--stale", "--remove", p("moved/upper"), p("merged"))
	if code != exitOK || strings.Contains(out, "removed") {
		t.Errorf("--remove: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	for _, k := range kept {
		if _, err := os.Lstat(k); err != nil {
			t.Errorf("a live socket's file: %v", err)
		}
	}
	stillListens(t, p("merged/live.sock"))
}

// TestStaleOverlayOtherNamespaceUpper: an overlay mounted in another mount
// namespace, on layers mounted there alone, reaches ours by propagation
// with its options naming the layers as that namespace sees them; here
// those paths were other directories, and --remove deleted through the
// overlay the file of a socket bound in its real upper directory.
func TestStaleOverlayOtherNamespaceUpper(t *testing.T) {
	testenv.NeedRoot(t, "mounting tmpfs and overlayfs in another mount namespace")
	testenv.NeedTool(t, "unshare", "util-linux")
	base := t.TempDir()
	p := func(n string) string { return filepath.Join(base, n) }
	mountAt(t, p("shared"), "-t", "tmpfs", "tmpfs")
	mustRun(t, "mount", "--make-shared", p("shared"))
	mkdirs(t, p("shared"), "m")
	mountAt(t, p("priv"), "-t", "tmpfs", "tmpfs")
	mustRun(t, "mount", "--make-private", p("priv"))
	mkdirs(t, p("priv"), "u", "w", "l")

	setup := `mount -t tmpfs tmpfs "$1" && mkdir "$1/u" "$1/w" "$1/l" &&
mount -t overlay overlay -o "lowerdir=$1/l,upperdir=$1/u,workdir=$1/w" "$2" && shift 2 && exec "$@"`
	childBind(t, base, p("priv/u/b.sock"), "unshare", "-m", "--propagation", "unchanged", "--", "sh", "-c", setup, "sh", p("priv"), p("shared/m"))
	t.Cleanup(func() { exec.Command("umount", p("shared/m")).Run() })
	seen := p("shared/m/b.sock")
	if _, err := os.Lstat(seen); err != nil {
		t.Fatalf("the overlay did not reach this namespace: %v", err)
	}

	code, out, errOut := runUdsls("--stale", "--remove", p("shared/m"))
	if code != exitOK || strings.Contains(out, "removed") {
		t.Errorf("--remove: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if _, err := os.Lstat(seen); err != nil {
		t.Errorf("the file of a socket bound in the upper directory: %v", err)
	}
}
