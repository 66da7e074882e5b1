package inspect

import (
	"context"
	"errors"
	"io/fs"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fakeTree is a file tree for ResolveIn: files and symlinks by full path.
type fakeTree struct {
	files map[string]*FileInfo
	links map[string]string
}

func (ft fakeTree) resolver() *Resolver {
	r := fakeResolver(testProcs(), nil)
	r.Lstat = func(p string) (*FileInfo, error) {
		if _, ok := ft.links[p]; ok {
			return &FileInfo{Mode: fs.ModeSymlink | 0o777}, nil
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

func TestResolveIn(t *testing.T) {
	const root = "/proc/7/root"
	dir := &FileInfo{Mode: fs.ModeDir | 0o755}
	ft := fakeTree{
		files: map[string]*FileInfo{
			root + "/run":          dir,
			root + "/var":          dir,
			root + "/run/app":      dir,
			root + "/srv":          dir,
			root + "/srv/data":     dir,
			root + "/run/app.sock": {Mode: fs.ModeSocket | 0o660},
		},
		links: map[string]string{
			root + "/var/run":         "/run", // the Debian layout: absolute, so inside the root
			root + "/srv/data/link":   "../../run/app",
			root + "/run/final.sock":  "app.sock",
			root + "/loop":            "/loop",
			root + "/run/app/escape":  "../../../../..",
			root + "/srv/data/broken": "/nowhere",
		},
	}
	tests := []struct {
		name        string
		p           string
		followFinal bool
		want        string
		err         error
	}{
		{"plain", "/run/app.sock", true, "/run/app.sock", nil},
		{"absolute symlink stays in the root", "/var/run/app.sock", true, "/run/app.sock", nil},
		{"relative symlink", "/srv/data/link", true, "/run/app", nil},
		{"final symlink followed", "/run/final.sock", true, "/run/app.sock", nil},
		{"final symlink kept", "/var/run/final.sock", false, "/run/final.sock", nil},
		{"dot-dot cannot leave the root", "/run/app/escape/run", true, "/run", nil},
		{"unclean", "//run/./app/../app.sock", true, "/run/app.sock", nil},
		{"root", "/", true, "/", nil},
		{"loop", "/loop/x", true, "", errLoop},
		{"missing", "/nope/app.sock", true, "", fs.ErrNotExist},
		{"dangling", "/srv/data/broken/x", true, "", fs.ErrNotExist},
		// The lookup fails where the kernel's does (ENOTDIR), as the
		// audit's walk, the same lookup, does.
		{"through a socket file", "/run/app.sock/x", true, "", ErrNotDir},
		{"through a symlink to a socket file", "/run/final.sock/", false, "", ErrNotDir},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ft.resolver().ResolveIn(root, tt.p, tt.followFinal)
			if !errors.Is(err, tt.err) {
				t.Fatalf("ResolveIn(%q) error %v, want %v", tt.p, err, tt.err)
			}
			if got != tt.want {
				t.Errorf("ResolveIn(%q) = %q, want %q", tt.p, got, tt.want)
			}
		})
	}
}

// mountSnapshot has a socket bound in a container's file tree (pid 7, its
// own mount namespace) and one on the host (pid 8), at the same path.
func mountSnapshot() (*Snapshot, fakeTree) {
	snap := &Snapshot{
		Sockets: []Socket{
			{ID: 1, Path: "/var/run/app.sock", Type: TypeStream, State: StateListening, Known: diag | KnownNetns, Bound: FileID{9, 100}, Netns: 4026532247},
			{ID: 2, Path: "/var/run/app.sock", Type: TypeStream, State: StateListening, Known: diag | KnownNetns, Bound: FileID{1, 200}, Netns: 4026531833},
		},
		Owners: []Owner{{ID: 1, PID: 7, FD: 3}, {ID: 2, PID: 8, FD: 3}},
	}
	ft := fakeTree{
		files: map[string]*FileInfo{
			"/proc/7/root/run":          {Mode: fs.ModeDir | 0o755},
			"/proc/7/root/var":          {Mode: fs.ModeDir | 0o755},
			"/proc/7/root/run/app.sock": {ID: FileID{9, 100}, Mode: fs.ModeSocket | 0o600, UID: 1000, GID: 1000},
			// The host's file at the container's path is something else.
			"/var/run/app.sock": {ID: FileID{1, 200}, Mode: fs.ModeSocket | 0o666},
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

func TestEntriesHolderMountNamespace(t *testing.T) {
	snap, ft := mountSnapshot()
	r := ft.resolver()
	r.Container = func(pid int) *Container {
		if pid == 7 {
			return &Container{ID: strings.Repeat("ab", 32), Runtime: "docker"}
		}
		return nil
	}
	type view struct {
		ID        SocketID
		Mode      fs.FileMode
		Status    FileStatus
		Container *Container
	}
	var got []view
	for _, e := range r.Entries(context.Background(), snap, Query{}) {
		v := view{ID: e.ID, Status: e.FileStatus, Container: e.Container}
		if e.File != nil {
			v.Mode = e.File.Mode
		}
		got = append(got, v)
	}
	want := []view{
		{ID: 1, Mode: fs.ModeSocket | 0o600, Status: FileOK, Container: &Container{ID: strings.Repeat("ab", 32), Runtime: "docker"}},
		{ID: 2, Mode: fs.ModeSocket | 0o666, Status: FileOK},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("entries (-want +got):\n%s", diff)
	}
}

func TestEntriesMountNamespaceUnknown(t *testing.T) {
	// Without a way to read the namespace links, every path is judged in
	// our own view, as before namespaces were considered.
	snap, ft := mountSnapshot()
	r := ft.resolver()
	r.Readlink = nil
	es := r.Entries(context.Background(), snap, Query{})
	if len(es) != 2 || es[0].FileStatus != FileReplaced || es[1].FileStatus != FileOK {
		t.Errorf("statuses %v, %v; want replaced (the host's file), ok", es[0].FileStatus, es[1].FileStatus)
	}
}
