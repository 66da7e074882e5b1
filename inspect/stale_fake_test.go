package inspect

import (
	"context"
	"errors"
	"io/fs"
	"strings"
	"testing"
	"time"
)

// fakeFiles is a file tree of found socket files whose rechecks answer
// reach, recording what was removed.
type fakeFiles struct {
	walk    Walk
	reach   Reach
	removed []string
}

func (f *fakeFiles) Walk(context.Context, []string, WalkOptions) (*Walk, error) {
	w := f.walk
	return &w, nil
}

func (f *fakeFiles) Recheck(_ context.Context, ff *FoundFile, _ ProbeFunc, _ time.Duration, unlink bool) (ProbeResult, error) {
	if unlink && f.reach == ReachRefused {
		f.removed = append(f.removed, ff.Path)
	}
	return ProbeResult{Reach: f.reach}, nil
}

func (f *fakeFiles) Stacked() func(uint64) Stack { return func(uint64) Stack { return Stack{} } }

// staticSource serves a literal snapshot, as a backend would.
type staticSource struct{ snap Snapshot }

func (s *staticSource) Snapshot(context.Context) (*Snapshot, error) {
	c := s.snap
	return &c, nil
}

// TestFindStaleFakeFiles runs the stale logic on a fake file tree: a
// refused file nothing holds is stale and removed; one on a shared
// filesystem, or that a live socket holds, is not; a tree none of whose
// named directories could be opened is an error, not an empty answer.
func TestFindStaleFakeFiles(t *testing.T) {
	dir := t.TempDir() // startDirs resolves the named directory
	sock := func(name string, ino uint64, shared string) FoundFile {
		return FoundFile{Path: dir + "/" + name, File: FileInfo{ID: FileID{1, ino}, Mode: fs.ModeSocket}, Shared: shared}
	}
	files := &fakeFiles{reach: ReachRefused, walk: Walk{Opened: 1, Entries: 3, Dirs: 1, Sockets: 3, Files: []FoundFile{
		sock("stale.sock", 10, ""), sock("nfs.sock", 11, "NFS"), sock("live.sock", 12, ""),
	}}}
	r := &Resolver{Files: files, Lstat: func(string) (*FileInfo, error) { return nil, fs.ErrNotExist }}
	src := &staticSource{Snapshot{Sockets: []Socket{{ID: 1, Path: dir + "/live.sock", Type: TypeStream, State: StateListening, Known: KnownBound, Bound: FileID{1, 12}}}}}
	rep, err := FindStale(context.Background(), src, r, StaleOptions{Dirs: []string{dir}, Explicit: true, MaxDepth: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Stale) != 1 || rep.Stale[0].Path != dir+"/stale.sock" || rep.Stale[0].Reason != ReasonNotBound {
		t.Errorf("stale %+v", rep.Stale)
	}
	if len(rep.Unknown) != 1 || !strings.HasPrefix(rep.Unknown[0].Reason, "on NFS") {
		t.Errorf("unknown %+v", rep.Unknown)
	}
	if rep.Entries != 3 || rep.DirsRead != 1 || rep.Sockets != 3 {
		t.Errorf("counts %d %d %d", rep.Entries, rep.DirsRead, rep.Sockets)
	}
	if err := RemoveStale(context.Background(), &rep.Stale[0], 0, true); err != nil || len(files.removed) != 0 || rep.Stale[0].Removed {
		t.Errorf("dry run: %v, removed %q", err, files.removed)
	}
	if err := RemoveStale(context.Background(), &rep.Stale[0], 0, false); err != nil || len(files.removed) != 1 || !rep.Stale[0].Removed {
		t.Errorf("remove: %v, removed %q", err, files.removed)
	}
	files.reach = ReachUp
	if err := RemoveStale(context.Background(), &rep.Stale[0], 0, false); !errors.Is(err, ErrChanged) {
		t.Errorf("remove of a file that answers: %v, want ErrChanged", err)
	}

	files.walk = Walk{Unreadable: 1, Err: errors.New("permission denied")}
	if _, err := FindStale(context.Background(), src, r, StaleOptions{Dirs: []string{dir}, Explicit: true, MaxDepth: 1}); err == nil || !strings.Contains(err.Error(), "no directory given could be read (permission denied)") {
		t.Errorf("nothing opened: %v", err)
	}
	if _, err := FindStale(context.Background(), src, &Resolver{}, StaleOptions{Dirs: []string{dir}}); !errors.Is(err, errNoFiles) {
		t.Errorf("no Files: %v", err)
	}
}

// TestNoFileView: inspect's own constructors examine no file; each use
// of the missing view is an error, never a nil call.
func TestNoFileView(t *testing.T) {
	r := NewResolver("/proc")
	if _, err := r.ResolveIn("/proc/1/root", "/run/x", true); !errors.Is(err, errNoLstat) {
		t.Errorf("ResolveIn: %v", err)
	}
	if _, err := r.lstatIn("", "/run/x"); !errors.Is(err, errNoLstat) {
		t.Errorf("lstatIn: %v", err)
	}
	if got := NewChecker(r).Check(context.Background(), "/run/x.sock"); got.Verdict != VerdictError || !strings.Contains(got.Detail, "no Lstat") {
		t.Errorf("Check: %+v", got)
	}
	if _, err := NewAuditor("").Audit(context.Background(), &Snapshot{Sockets: []Socket{{ID: 1, Path: "/run/x.sock", Type: TypeStream, State: StateListening}}}, nil); err != nil {
		t.Errorf("Audit: %v", err)
	}
}
