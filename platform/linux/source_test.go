package linux

import (
	"context"
	"errors"
	"io/fs"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/udsls/udsls/inspect"
)

func TestSourceProcRoot(t *testing.T) {
	root := makeProcTree(t, map[string]string{"net/unix": netUnixHeader + lineListener + "\n" + lineUnnamed + "\n"}, fakeFDs)
	got, err := (&Source{ProcRoot: root}).Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := &inspect.Snapshot{
		Backend:  "procfs",
		FDSource: "procfs",
		Sockets: []inspect.Socket{
			named(20414, stream, listening, "/run/a.sock"),
			unnamed(20425, stream, connected),
		},
		Owners: fakeOwners,
	}
	if diff := cmp.Diff(want, got, sortOwners); diff != "" {
		t.Errorf("Snapshot mismatch (-want +got):\n%s", diff)
	}
}

func TestSourceErrors(t *testing.T) {
	bad := makeProcTree(t, map[string]string{"net/unix": netUnixHeader + "garbage\n"}, nil)
	_, err := (&Source{ProcRoot: bad}).Snapshot(context.Background())
	want := filepath.Join(bad, "net", "unix") + ` line 2: num "garbage": want a hex address and a colon`
	if err == nil || err.Error() != want || !errors.Is(err, ErrMalformed) {
		t.Errorf("Snapshot of a bad net/unix: error %v, want %s", err, want)
	}

	empty := t.TempDir()
	if _, err := (&Source{ProcRoot: empty}).Snapshot(context.Background()); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Snapshot without net/unix: error %v, want one that is fs.ErrNotExist", err)
	}

	ok := makeProcTree(t, map[string]string{"net/unix": netUnixHeader}, fakeFDs)
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := (&Source{ProcRoot: ok}).Snapshot(canceled); !errors.Is(err, context.Canceled) {
		t.Errorf("Snapshot with a canceled context: error %v, want %v", err, context.Canceled)
	}
}
