package inspect

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestAge(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{-time.Second, "0s"},
		{0, "0s"},
		{42 * time.Second, "42s"},
		{7*time.Minute + 3*time.Second, "7m3s"},
		{5*time.Hour + 12*time.Minute + 59*time.Second, "5h12m"},
		{3*24*time.Hour + 4*time.Hour + time.Minute, "3d4h"},
		{400 * 24 * time.Hour, "400d0h"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := Age(tt.d); got != tt.want {
				t.Errorf("Age(%v) = %q, want %q", tt.d, got, tt.want)
			}
		})
	}
}

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
	got := liveFiles(snap, lstat)
	want := liveSet{
		// a.sock's socket holds another file than the one at its path:
		// identity wins and the file at the path is not protected.
		ids:     map[FileID]bool{{1, 99}: true, {1, 11}: true},
		paths:   map[string]bool{"/run/b.sock": true, "/run/reg.sock": true, "/run/gone.sock": true},
		claimed: map[string]bool{"/run/a.sock": true, "/run/b.sock": true, "/run/reg.sock": true, "rel.sock": true, "/run/gone.sock": true},
		// Without identity nor a state that rules it out, each may be
		// bound and not listening to a file of its name elsewhere.
		unbound:  map[string]bool{"/run/b.sock": true, "/run/reg.sock": true, "rel.sock": true, "/run/gone.sock": true},
		layered:  map[uint64][]uint64{},
		relative: map[string]string{"rel.sock": "rel.sock"},
	}
	if stackedDevs()(1) {
		// Device 1 (0:1 on Linux) is no mount of ours: it may be an
		// overlay's, whose files its upper layer shows with the same
		// inode numbers.
		want.layered = map[uint64][]uint64{99: {1}, 11: {1}}
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(liveSet{}), cmpopts.IgnoreFields(liveSet{}, "stacked")); diff != "" {
		t.Errorf("liveFiles (-want +got):\n%s", diff)
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

func staleReportFixture() *StaleReport {
	mtime := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	return &StaleReport{
		Stale: []StaleFile{
			{Path: "/tmp/a\nb.sock", File: FileInfo{UID: 1000, GID: 1000, Owner: "ann", Group: "ann", Mode: fs.ModeSocket | 0o755, ModTime: mtime}, Reason: ReasonNotBound},
			{Path: "/tmp/bad\xff.sock", File: FileInfo{UID: 0, Owner: "root", Mode: fs.ModeSocket | 0o600, ModTime: mtime}, Reason: ReasonOtherFile, Removed: true},
		},
		Unreachable: []Entry{{
			Socket:     Socket{ID: 7, Path: "/run/app.sock", Type: TypeStream, State: StateListening},
			Holders:    []Holder{{PID: 42, FD: 3, Command: "app", User: "root", Known: true}},
			FileStatus: FileGone,
		}},
	}
}

func TestWriteStaleJSON(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteStaleJSON(&buf, staleReportFixture(), nil); err != nil {
		t.Fatal(err)
	}
	var got StaleReportJSON
	dec := json.NewDecoder(&buf)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&got); err != nil {
		t.Fatal(err)
	}
	gone := FileGone
	uid := uint32(0)
	zero := 0
	want := StaleReportJSON{
		Stale: []StaleFileJSON{
			{Path: "/tmp/a\nb.sock", UID: 1000, Owner: "ann", GID: 1000, Group: "ann", Mode: "0755", MTime: "2024-05-01T12:00:00Z", Reason: ReasonNotBound},
			{Path: "/tmp/bad\ufffd.sock", PathBytes: []byte("/tmp/bad\xff.sock"), Owner: "root", Mode: "0600", MTime: "2024-05-01T12:00:00Z", Reason: ReasonOtherFile, Removed: true},
		},
		Unknown: []StaleFileJSON{},
		Unreachable: []SocketJSON{{
			Path: "/run/app.sock", Type: TypeStream, State: StateListening, Inode: 7, ID: "0x7",
			Processes:  []ProcessJSON{{PID: 42, Command: "app", User: "root", UID: &uid, FD: 3}},
			FileStatus: &gone, Connections: &zero,
		}},
		Warnings: []string{},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("WriteStaleJSON (-want +got):\n%s", diff)
	}
}

func TestWriteStaleTable(t *testing.T) {
	now := time.Date(2024, 5, 2, 13, 30, 0, 0, time.UTC)
	var buf bytes.Buffer
	if err := WriteStaleTable(&buf, staleReportFixture(), now, false); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(buf.String(), "\n"), "\n")
	var got [][]string
	for _, l := range lines {
		got = append(got, strings.Fields(l))
	}
	want := [][]string{
		{"PATH", "OWNER", "MODE", "AGE", "REASON"},
		append([]string{`/tmp/a\nb.sock`, "ann:ann", "0755", "1d1h"}, strings.Fields(ReasonNotBound)...),
		append([]string{`/tmp/bad\xff.sock`, "root:0", "0600", "1d1h"}, strings.Fields(ReasonOtherFile)...),
		{},
		{"UNREACHABLE", "TYPE", "STATE", "FILE", "PID/COMMAND"},
		{"/run/app.sock", "stream", "listening", "gone", "42/app"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("WriteStaleTable (-want +got):\n%s", diff)
	}

	buf.Reset()
	if err := WriteStaleTable(&buf, &StaleReport{}, now, false); err != nil || buf.Len() != 0 {
		t.Errorf("empty report printed %q, %v; want nothing", buf.String(), err)
	}
}
