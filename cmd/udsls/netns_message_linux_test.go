package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBadNetnsSameMessage: --stale and --check say of a bad --netns what
// the listing says, from the same look-up. --stale said of a pid that is
// no process `network namespace "PID": no such file or directory`, and
// --stale and --check took a file that is no namespace.
func TestBadNetnsSameMessage(t *testing.T) {
	dir := t.TempDir()
	notNetns := filepath.Join(dir, "not-a-netns")
	if err := os.WriteFile(notNetns, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, netns := range []string{"999999999", notNetns, filepath.Join(dir, "missing")} {
		code, out, want := runUdsls("--netns", netns)
		if code != exitError || out != "" || !strings.HasPrefix(want, "udsls: error: network namespace ") || strings.Count(want, "\n") != 1 {
			t.Fatalf("udsls --netns %s: exit %d, stdout %q, stderr %q; want exit 2 and one error line", netns, code, out, want)
		}
		for _, args := range [][]string{
			{"--stale", "--netns", netns, dir},
			{"--check", "--netns", netns, filepath.Join(dir, "x.sock")},
			{"--check", "--netns", netns, "@udsls-test-abstract"},
		} {
			if code, out, got := runUdsls(args...); code != exitError || out != "" || got != want {
				t.Errorf("udsls %q: exit %d, stdout %q, stderr %q; want exit 2 and the listing's %q", args, code, out, got, want)
			}
		}
	}
}
