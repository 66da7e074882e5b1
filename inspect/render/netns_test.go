package render

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/udsls/udsls/inspect"
)

// fakeTree and mountSnapshot are copies of inspect's (resolve_netns_test.go).

// fakeTree is a file tree for ResolveIn: files and symlinks by full path.
type fakeTree struct {
	files map[string]*inspect.FileInfo
	links map[string]string
}

func (ft fakeTree) resolver() *inspect.Resolver {
	r := fakeResolver(testProcs(), nil)
	r.Lstat = func(p string) (*inspect.FileInfo, error) {
		if _, ok := ft.links[p]; ok {
			return &inspect.FileInfo{Mode: fs.ModeSymlink | 0o777}, nil
		}
		if fi, ok := ft.files[p]; ok {
			c := *fi
			return &c, nil
		}
		return nil, fs.ErrNotExist
	}
	r.Readlink = func(p string) (string, error) {
		if l, ok := ft.links[p]; ok {
			return l, nil
		}
		return "", fs.ErrNotExist
	}
	return r
}

// mountSnapshot has a socket bound in a container's file tree (pid 7, its
// own mount namespace) and one on the host (pid 8), at the same path.
func mountSnapshot() (*inspect.Snapshot, fakeTree) {
	snap := &inspect.Snapshot{
		Sockets: []inspect.Socket{
			{ID: 1, Path: "/var/run/app.sock", Type: inspect.TypeStream, State: inspect.StateListening, Known: diag | inspect.KnownNetns, Bound: inspect.FileID{Dev: 9, Ino: 100}, Netns: 4026532247},
			{ID: 2, Path: "/var/run/app.sock", Type: inspect.TypeStream, State: inspect.StateListening, Known: diag | inspect.KnownNetns, Bound: inspect.FileID{Dev: 1, Ino: 200}, Netns: 4026531833},
		},
		Owners: []inspect.Owner{{ID: 1, PID: 7, FD: 3}, {ID: 2, PID: 8, FD: 3}},
	}
	ft := fakeTree{
		files: map[string]*inspect.FileInfo{
			"/proc/7/root/run":          {Mode: fs.ModeDir | 0o755},
			"/proc/7/root/var":          {Mode: fs.ModeDir | 0o755},
			"/proc/7/root/run/app.sock": {ID: inspect.FileID{Dev: 9, Ino: 100}, Mode: fs.ModeSocket | 0o600, UID: 1000, GID: 1000},
			// The host's file at the container's path is something else.
			"/var/run/app.sock": {ID: inspect.FileID{Dev: 1, Ino: 200}, Mode: fs.ModeSocket | 0o666},
		},
		links: map[string]string{
			"/proc/self/ns/mnt":    "mnt:[4026531832]",
			"/proc/7/ns/mnt":       "mnt:[4026532246]",
			"/proc/8/ns/mnt":       "mnt:[4026531832]",
			"/proc/7/root/var/run": "/run",
		},
	}
	return snap, ft
}

func TestNetnsOutput(t *testing.T) {
	snap, ft := mountSnapshot()
	r := ft.resolver()
	id := strings.Repeat("0123456789abcdef", 4)
	r.Container = func(pid int) *inspect.Container {
		if pid == 7 {
			return &inspect.Container{ID: id, Runtime: "cri-o"}
		}
		return nil
	}
	es := r.Entries(context.Background(), snap, inspect.Query{})

	t.Run("json", func(t *testing.T) {
		var buf bytes.Buffer
		if err := WriteJSON(&buf, es, nil); err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Sockets []struct {
				Inode     inspect.SocketID `json:"inode"`
				Netns     *uint64          `json:"netns"`
				Container *ContainerJSON   `json:"container"`
			} `json:"sockets"`
		}
		if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
			t.Fatal(err)
		}
		u64 := func(v uint64) *uint64 { return &v }
		type row struct {
			Inode     inspect.SocketID
			Netns     *uint64
			Container *ContainerJSON
		}
		var got []row
		for _, s := range doc.Sockets {
			got = append(got, row(s))
		}
		want := []row{
			{1, u64(4026532247), &ContainerJSON{ID: id, Runtime: "cri-o"}},
			{2, u64(4026531833), nil},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("sockets (-want +got):\n%s", diff)
		}
		// Unknown is null, not absent: the keys are always there.
		for _, k := range []string{`"netns": null`, `"container": null`} {
			var b bytes.Buffer
			WriteJSON(&b, []inspect.Entry{{Socket: inspect.Socket{ID: 3}}}, nil)
			if !strings.Contains(b.String(), k) {
				t.Errorf("an entry without namespace lacks %s:\n%s", k, b.String())
			}
		}
	})

	tests := []struct {
		name    string
		entries []inspect.Entry
		want    []string // the column's cells, header first; nil: no column
	}{
		{"two namespaces", es, []string{"NETNS/CONTAINER", "4026532247/cri-o:0123456789ab", "4026531833"}},
		{"one namespace", es[:1], nil},
		{"namespace unknown", []inspect.Entry{{Socket: inspect.Socket{ID: 5, Type: inspect.TypeStream}}}, nil},
	}
	for _, tt := range tests {
		t.Run("table/"+tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteTable(&buf, tt.entries, TableOptions{}); err != nil {
				t.Fatal(err)
			}
			var got []string
			lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
			if col := strings.Index(lines[0], "NETNS/CONTAINER"); col >= 0 {
				for _, l := range lines {
					got = append(got, strings.Fields(l[col:])[0])
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("NETNS/CONTAINER column (-want +got):\n%s\n%s", diff, buf.String())
			}
		})
	}
}
