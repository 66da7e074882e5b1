//go:build unix

package inspect

import (
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"testing"
)

// TestLstatInRealTree builds a container-like tree whose /var/run is an
// absolute symlink to /run and examines a socket through it, as a holder
// rooted there sees it.
func TestLstatInRealTree(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"run", "var"} {
		if err := os.Mkdir(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("/run", filepath.Join(root, "var", "run")); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("unix", filepath.Join(root, "run", "udsls-test.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()

	r := LiveResolver("")
	// The kernel resolves the absolute link against our root: the host's
	// /run, where no such socket is. This is why lstatIn resolves itself.
	if _, err := os.Lstat(filepath.Join(root, "var/run/udsls-test.sock")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("lstat through the kernel: %v, want not exist", err)
	}
	if got, err := r.ResolveIn(root, "/var/run", true); err != nil || got != "/run" {
		t.Errorf("ResolveIn(/var/run) = %q, %v; want /run", got, err)
	}
	fi, err := r.lstatIn(root, "/var/run/udsls-test.sock")
	if err != nil {
		t.Fatal(err)
	}
	if !fi.IsSocket() {
		t.Errorf("mode %v, want a socket", fi.Mode)
	}
}
