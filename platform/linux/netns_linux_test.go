package linux

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/udsls/udsls/inspect"
)

// netnsProcTree is a fake procfs whose ns/net links lead to two plain files
// standing in for nsfs: stat gives each its own inode, as nsfs gives each
// namespace. Pids 1 and 5 share namespace A, pid 7 is alone in B, pid 9's
// link dangles (it exited during the walk).
func netnsProcTree(t *testing.T) (root string, a, b uint64) {
	t.Helper()
	root = makeProcTree(t, map[string]string{
		"nsA":        "",
		"nsB":        "",
		"1/net/unix": netUnixHeader + lineListener + "\n",
		"net/unix":   netUnixHeader + lineListener + "\n", // self/net, as procfs links it
		"5/net/unix": netUnixHeader + lineListener + "\n",
		"7/net/unix": netUnixHeader + lineUnnamed + "\n",
	}, map[string]string{
		"1/ns/net": "../../nsA",
		"5/ns/net": "../../nsA",
		"7/ns/net": "../../nsB",
		"9/ns/net": "../../nsGone",
		"self":     "1",
	})
	ino := func(name string) uint64 {
		v, err := nsInode(filepath.Join(root, name))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	return root, ino("nsA"), ino("nsB")
}

func TestFindNetns(t *testing.T) {
	root, a, b := netnsProcTree(t)
	got, hidden, err := findNetns(context.Background(), root)
	if err != nil {
		t.Fatal(err)
	}
	want := []netnsRef{
		{ino: a, pid: 1, file: filepath.Join(root, "1/ns/net")},
		{ino: b, pid: 7, file: filepath.Join(root, "7/ns/net")},
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(netnsRef{})); diff != "" || len(hidden.pids) != 0 {
		t.Errorf("findNetns (-want +got):\n%s\nunknown namespaces of pids %v, want none", diff, hidden.pids)
	}
}

func TestSourceNetnsProcfs(t *testing.T) {
	root, a, b := netnsProcTree(t)
	mark := func(s inspect.Socket, ns uint64) inspect.Socket {
		s.Netns, s.Known = ns, s.Known|inspect.KnownNetns
		return s
	}
	listener := named(20414, stream, listening, "/run/a.sock")
	pair := unnamed(20425, stream, connected)
	tests := []struct {
		name string
		src  Source
		want []inspect.Socket
	}{
		{"all", Source{AllNetns: true}, []inspect.Socket{mark(listener, a), mark(pair, b)}},
		{"pid", Source{Netns: "7"}, []inspect.Socket{mark(pair, b)}},
		{"own", Source{}, []inspect.Socket{mark(listener, a)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.src.ProcRoot, tt.src.Sockets = root, SocketsProcfs
			snap, err := tt.src.Snapshot(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, snap.Sockets); diff != "" {
				t.Errorf("sockets (-want +got):\n%s", diff)
			}
			if snap.Backend != "procfs" || len(snap.Warnings) != 0 {
				t.Errorf("backend %q, warnings %q; want procfs and none", snap.Backend, snap.Warnings)
			}
		})
	}
}

func TestSourceNetnsProcfsErrors(t *testing.T) {
	root, _, _ := netnsProcTree(t)
	// Namespace B's only process cannot show its net/unix.
	if err := os.Remove(filepath.Join(root, "7/net/unix")); err != nil {
		t.Fatal(err)
	}
	src := &Source{ProcRoot: root, Sockets: SocketsProcfs, AllNetns: true}
	snap, err := src.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Sockets) != 1 || len(snap.Warnings) != 0 {
		t.Errorf("%d sockets, warnings %q; want namespace A's 1, and B skipped as gone", len(snap.Sockets), snap.Warnings)
	}
	src = &Source{ProcRoot: root, Sockets: SocketsProcfs, Netns: "7"}
	if _, err := src.Snapshot(context.Background()); err == nil {
		t.Errorf("--netns of a namespace that cannot be read: no error")
	}
	src = &Source{ProcRoot: root, Sockets: SocketsProcfs, Netns: "9"}
	_, err = src.Snapshot(context.Background())
	if want := "network namespace of pid 9: no such process"; err == nil || err.Error() != want {
		t.Errorf("--netns of a process that is gone: error %v, want %s", err, want)
	}
}
