// Helpers the command's tests share.

package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// runUdsls runs the command in this process and returns what it said.
func runUdsls(args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = run(context.Background(), args, &o, &e)
	return code, o.String(), e.String()
}

// buildUdsls builds the command into a directory others may enter, for
// running it as another user.
func buildUdsls(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		built.dir, built.err = os.MkdirTemp("", "udsls-bin-")
		if built.err != nil {
			return
		}
		built.bin = filepath.Join(built.dir, "udsls")
		// go test puts its own go first in PATH.
		cmd := exec.Command("go", "build", "-o", built.bin, ".")
		if built.out, built.err = cmd.CombinedOutput(); built.err == nil {
			built.err = os.Chmod(built.dir, 0o755) // MkdirTemp made it private
		}
	})
	if built.err != nil {
		t.Fatalf("go build: %v\n%s", built.err, built.out)
	}
	return built.bin
}

// openUp lets everyone search dir and its parent, which t.TempDir makes
// private.
func openUp(t *testing.T, dir string) {
	t.Helper()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

func mkdirs(t *testing.T, root string, dirs ...string) {
	t.Helper()
	for _, d := range dirs {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
}
