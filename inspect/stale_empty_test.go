package inspect

import (
	"context"
	"strings"
	"testing"
)

// TestStaleEmptyDir: an empty DIR is an error, not the working directory,
// which `udsls --stale "$RUNDIR" --remove` with RUNDIR unset walked and
// cleaned.
func TestStaleEmptyDir(t *testing.T) {
	t.Chdir(t.TempDir())
	rep, err := FindStale(context.Background(), snapshotSource{&Snapshot{}}, fakeResolver(nil, nil), StaleOptions{Dirs: []string{""}, Explicit: true, MaxDepth: 1})
	if err == nil || !strings.Contains(err.Error(), `directory ""`) {
		t.Fatalf("FindStale(\"\") = %+v, %v; want an error naming the empty directory", rep, err)
	}
}
