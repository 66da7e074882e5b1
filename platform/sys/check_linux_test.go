package sys

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/udsls/udsls/inspect"
)

// TestCheckSymlinkThroughFile: a symlink whose target runs through a
// regular file is missing (ENOTDIR), as a path that does, not an error:
// inspect tells ENOTDIR apart only through what platform hands it.
func TestCheckSymlinkThroughFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "regular"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.sock")
	if err := os.Symlink("regular/x.sock", link); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{link, filepath.Join(dir, "regular", "x.sock")} {
		got := NewChecker(NewResolver("/proc")).Check(context.Background(), p)
		if got.Verdict != inspect.VerdictMissing || got.Detail != "a path component is not a directory" {
			t.Errorf("Check(%s) = %v, %q; want missing, a path component is not a directory", p, got.Verdict, got.Detail)
		}
	}
}
