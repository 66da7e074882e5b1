package inspect

import (
	"io/fs"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestLiveFiles(t *testing.T) {
	files := map[string]*FileInfo{
		"/run/a.sock":   {ID: FileID{1, 10}, Mode: fs.ModeSocket},
		"/run/b.sock":   {ID: FileID{1, 11}, Mode: fs.ModeSocket},
		"/run/reg.sock": {ID: FileID{1, 12}},
	}
	lstat := func(p string) (*FileInfo, error) {
		if fi, ok := files[p]; ok {
			return fi, nil
		}
		return nil, fs.ErrNotExist
	}
	snap := &Snapshot{Sockets: []Socket{
		{ID: 1, Path: "/run/a.sock", Known: KnownBound, Bound: FileID{1, 99}},
		{ID: 2, Path: "/run/b.sock"},
		{ID: 3, Path: "/run/reg.sock"},
		{ID: 4, Path: "rel.sock"},
		{ID: 5, Path: "@abstract", Abstract: true},
		{ID: 6},
		{ID: 7, Path: "/run/gone.sock"},
	}}
	// Device 1 is a stacking filesystem's (an overlay's, whose files
	// its upper layer shows with the same inode numbers) or not.
	for _, stacked := range []bool{false, true} {
		got := liveFiles(snap, lstat, func(dev uint64) Stack { return Stack{Stacked: stacked && dev == 1} })
		want := liveSet{
			// a.sock's socket holds another file than the one at its path:
			// identity wins and the file at the path is not protected.
			ids:     map[FileID]bool{{1, 99}: true, {1, 11}: true},
			paths:   map[string]bool{"/run/b.sock": true, "/run/reg.sock": true, "/run/gone.sock": true},
			claimed: map[string]bool{"/run/a.sock": true, "/run/b.sock": true, "/run/reg.sock": true, "rel.sock": true, "/run/gone.sock": true},
			// Without identity nor a state that rules it out, each may be
			// bound and not listening to a file of its name elsewhere.
			unbound:  map[string]bool{"/run/b.sock": true, "/run/reg.sock": true, "rel.sock": true, "/run/gone.sock": true},
			layered:  map[uint64][]uint64{99: {1}, 11: {1}},
			relative: map[string]string{"rel.sock": "rel.sock"},
		}
		if diff := cmp.Diff(want, got, cmp.AllowUnexported(liveSet{}), cmpopts.IgnoreFields(liveSet{}, "stack")); diff != "" {
			t.Errorf("liveFiles, stacked %v (-want +got):\n%s", stacked, diff)
		}
	}
}

func TestUnderDirs(t *testing.T) {
	tests := []struct {
		p    string
		want bool
	}{
		{"/srv/app/x.sock", true},
		{"/srv/app/sub/x.sock", true},
		{"/srv/application.sock", false},
		{"/srv/app", false},
		{"x.sock", false},
		{"/elsewhere/x.sock", false},
	}
	for _, tt := range tests {
		t.Run(tt.p, func(t *testing.T) {
			if got := underDirs(tt.p, []string{"/srv/app"}); got != tt.want {
				t.Errorf("underDirs(%q) = %v, want %v", tt.p, got, tt.want)
			}
		})
	}
	if !underDirs("/anything.sock", []string{"/"}) {
		t.Error("nothing is under /")
	}
}

// TestMayShow: files with one inode number on two devices may be one
// file seen through a stacking filesystem only when their direct views
// meet, or when a live socket's stack is not known for certain.
func TestMayShow(t *testing.T) {
	const (
		overlay, upper, lower, unrelated = 1, 2, 3, 4
		fuse, other, overlay2            = 5, 6, 7
	)
	stacks := map[uint64]Stack{
		overlay:  {Stacked: true, Known: true, Layers: []uint64{upper, lower}},
		overlay2: {Stacked: true, Known: true, Layers: []uint64{lower}},
		fuse:     {Stacked: true},
	}
	stack := func(d uint64) Stack { return stacks[d] }
	tests := []struct {
		name       string
		live, file uint64
		want       bool
	}{
		{"upper view of a socket bound through the overlay", overlay, upper, true},
		{"lower layer's file", overlay, lower, true},
		{"unrelated filesystem", overlay, unrelated, false},
		{"FUSE's layers unknown", fuse, unrelated, true},
		{"an unknown stack on the file's device", overlay, fuse, true},
		{"two plain filesystems", upper, unrelated, false},
		{"socket bound in the upper directory, file seen through the overlay", upper, overlay, true},
		{"file through another overlay with a common layer", overlay, overlay2, true},
		{"plain live, file on an unknown stack", other, fuse, true},
		{"plain live, file on an overlay not over it", unrelated, overlay, false},
	}
	for _, tt := range tests {
		if got := mayShow(stack, tt.live, tt.file); got != tt.want {
			t.Errorf("%s: mayShow = %v, want %v", tt.name, got, tt.want)
		}
	}
}
