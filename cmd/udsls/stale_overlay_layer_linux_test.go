//go:build linux

package main

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
	stale := p("upperfs/upper/stale.sock")
	staleSocketFile(t, stale, unix.SOCK_STREAM)

	code, out, errOut := runUdsls("--stale", "--remove", p("upperfs/upper"))
	if code != exitOK || !strings.HasPrefix(out, "removed "+stale+"\nUNKNOWN") {
		t.Errorf("--remove: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	for _, n := range []string{"live.sock", "bound.sock"} {
		if _, err := os.Lstat(p("upperfs/upper/" + n)); err != nil {
			t.Errorf("a live socket's file in the upper layer: %v", err)
		}
	}
	if c, err := net.Dial("unix", p("merged/live.sock")); err != nil {
		t.Errorf("the listener after --remove: %v", err)
	} else {
		c.Close()
	}
}
