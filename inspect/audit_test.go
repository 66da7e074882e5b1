package inspect

import (
	"context"
	"errors"
	"io/fs"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

type auditKey struct {
	Path     string
	Rule     string
	Severity Severity
}

// auditKeys are the findings as whole-set tests compare them.
func auditKeys(rep *AuditReport) []auditKey {
	var out []auditKey
	for _, f := range rep.Findings {
		out = append(out, auditKey{f.Path, f.Rule, f.Severity})
	}
	return out
}

func TestParseSeverity(t *testing.T) {
	tests := []struct {
		in      string
		want    Severity
		wantErr bool
	}{
		{"low", SeverityLow, false},
		{"medium", SeverityMedium, false},
		{"high", SeverityHigh, false},
		{"HIGH", 0, true},
		{"critical", 0, true},
		{"", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseSeverity(tt.in)
			if got != tt.want || (err != nil) != tt.wantErr {
				t.Errorf("ParseSeverity(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
			}
			if err == nil && got.String() != tt.in {
				t.Errorf("String() = %q, want %q", got.String(), tt.in)
			}
		})
	}
}

func TestParseAccounts(t *testing.T) {
	tests := []struct {
		name    string
		group   string
		passwd  string
		want    map[uint32]int // members per gid
		wantErr string
	}{
		{
			name:   "members and primary groups",
			group:  "# comment\nusers:x:100:alice,bob\n\nwheel:x:10:\n+nis\ndocker:x:999:alice\n",
			passwd: "root:x:0:0:root:/root:/bin/sh\nalice:x:1000:100::/home/alice:/bin/sh\ncarol:x:1002:100::/home/carol:/bin/sh\n-nis\n",
			want:   map[uint32]int{0: 1, 100: 3, 999: 1},
		},
		{
			name:    "short group line",
			group:   "users:x:100:alice\nbroken:x:7\n",
			wantErr: `group line 2: malformed: 3 fields, want 4: "broken:x:7"`,
		},
		{
			name:    "bad gid",
			group:   "users:x:1e2:alice\n",
			wantErr: `group line 1: malformed: gid "1e2": invalid syntax`,
		},
		{
			name:    "bad passwd gid",
			passwd:  "alice:x:1000:-1::/home/alice:/bin/sh\n",
			wantErr: `passwd line 1: malformed: gid "-1": invalid syntax`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := parseAccounts(strings.NewReader(tt.group), "group", strings.NewReader(tt.passwd), "passwd")
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr || !errors.Is(err, errAccountsMalformed) {
					t.Fatalf("error %v, want %s wrapping errAccountsMalformed", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := map[uint32]int{}
			for gid, m := range a.members {
				got[gid] = len(m)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("members (-want +got):\n%s", diff)
			}
		})
	}
}

// TestAuditUnreachable covers gone and replaced files on a literal
// snapshot: who owns the file now decides the severity, and two listeners
// on one path give one finding with both holders.
func TestAuditUnreachable(t *testing.T) {
	// Below a directory that does not exist, so that the search for stale
	// files next to them has nothing to read.
	dir := t.TempDir() + "/run"
	run := func(name string) string { return dir + "/" + name }
	snap := &Snapshot{
		Sockets: []Socket{
			{ID: 1, Path: run("gone.sock"), Type: TypeStream, State: StateListening, Known: KnownBound, Bound: FileID{1, 10}},
			{ID: 2, Path: run("gone.sock"), Type: TypeStream, State: StateListening, Known: KnownBound, Bound: FileID{1, 11}},
			{ID: 3, Path: run("taken.sock"), Type: TypeStream, State: StateListening, Known: KnownBound, Bound: FileID{1, 20}},
			{ID: 4, Path: run("restarted.sock"), Type: TypeStream, State: StateListening, Known: KnownBound, Bound: FileID{1, 30}},
			{ID: 5, Path: run("mine.sock"), Type: TypeDgram, State: StateUnconnected, Known: KnownBound, Bound: FileID{1, 40}},
			{ID: 6, Path: "@abstract", Abstract: true, Type: TypeStream, State: StateListening},
			{ID: 7, Path: "relative.sock", Type: TypeStream, State: StateListening},
			// Not servers: a datagram client connected to the server at
			// mine.sock, and a bound stream socket that never listened.
			{ID: 8, Path: run("client.sock"), Type: TypeDgram, State: StateConnected, Known: KnownBound | KnownPeer, Bound: FileID{1, 50}, Peer: 5},
			{ID: 9, Path: run("bound.sock"), Type: TypeStream, State: StateUnconnected, Known: KnownBound, Bound: FileID{1, 60}},
		},
		Owners: []Owner{
			{ID: 1, PID: 100, FD: 3}, {ID: 2, PID: 101, FD: 3}, {ID: 3, PID: 100, FD: 4},
			{ID: 4, PID: 100, FD: 5}, {ID: 5, PID: 200, FD: 3}, {ID: 6, PID: 100, FD: 6},
			{ID: 8, PID: 100, FD: 7}, {ID: 9, PID: 100, FD: 8},
		},
		Warnings: []string{"3 processes unreadable (permission denied); run as root for all owners"},
	}
	files := map[string]*FileInfo{
		run("taken.sock"):     {ID: FileID{1, 21}, Mode: fs.ModeSocket | 0o666, UID: 1000, GID: 1000},
		run("restarted.sock"): {ID: FileID{1, 31}, Mode: fs.ModeSocket | 0o660, UID: 0, GID: 0},
		run("mine.sock"):      {ID: FileID{1, 41}, Mode: 0o644, UID: 1000, GID: 1000},
	}
	procs := map[int]Process{
		100: {PID: 100, Command: "appd", UID: 0},
		101: {PID: 101, Command: "appd", UID: 0},
		200: {PID: 200, Command: "logd", UID: 1000},
	}
	a := &Auditor{Resolver: fakeResolver(procs, files)}
	rep, err := a.Audit(context.Background(), snap, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []auditKey{
		{run("taken.sock"), RuleFileReplaced, SeverityHigh},
		{run("gone.sock"), RuleFileGone, SeverityMedium},
		{run("mine.sock"), RuleFileReplaced, SeverityMedium},
		{run("restarted.sock"), RuleFileReplaced, SeverityMedium},
	}
	if diff := cmp.Diff(want, auditKeys(rep)); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
	var pids []int
	for _, h := range rep.Findings[1].Holders {
		pids = append(pids, h.PID)
	}
	if diff := cmp.Diff([]int{100, 101}, pids); diff != "" {
		t.Errorf("holders of %s (-want +got):\n%s", rep.Findings[1].Path, diff)
	}
	wantWarn := []string{snap.Warnings[0], "1 sockets bound by a relative path were not audited"}
	if diff := cmp.Diff(wantWarn, rep.Warnings); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
	if !strings.Contains(rep.Findings[0].Detail, "alice") {
		t.Errorf("detail %q does not name the new owner", rep.Findings[0].Detail)
	}

	rep, err = a.Audit(context.Background(), snap, []string{"/srv/*"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Findings) != 0 || rep.Warnings[len(rep.Warnings)-1] != "no socket matches the patterns; nothing was audited" {
		t.Errorf("unmatched pattern: findings %v, warnings %q", rep.Findings, rep.Warnings)
	}
}

func TestAuditFailed(t *testing.T) {
	rep := &AuditReport{Findings: []Finding{{Severity: SeverityMedium}, {Severity: SeverityLow}}}
	for min, want := range map[Severity]bool{SeverityLow: true, SeverityMedium: true, SeverityHigh: false} {
		if got := rep.Failed(min); got != want {
			t.Errorf("Failed(%v) = %v, want %v", min, got, want)
		}
	}
	if (&AuditReport{}).Failed(SeverityLow) {
		t.Error("an empty report failed")
	}
}

// TestAuditMayFollow is may_follow_link under fs.protected_symlinks: the
// machine the oracle runs on may have it off.
func TestAuditMayFollow(t *testing.T) {
	sticky := &FileInfo{Mode: fs.ModeDir | fs.ModeSticky | 0o777, UID: 0}
	open := &FileInfo{Mode: fs.ModeDir | 0o777, UID: 0}
	alices := &FileInfo{Mode: fs.ModeDir | fs.ModeSticky | 0o777, UID: 1000}
	link := &FileInfo{Mode: fs.ModeSymlink | 0o777, UID: 1000}
	tests := []struct {
		name      string
		protected bool
		id        uint32
		dir       *FileInfo
		want      bool
	}{
		{"off", false, 0, sticky, true},
		{"root, sticky world-writable", true, 0, sticky, false},
		{"another user", true, 1001, sticky, false},
		{"the link's owner", true, 1000, sticky, true},
		{"not sticky", true, 0, open, true},
		{"directory owned by the link's owner", true, 0, alices, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			au := &audit{Auditor: &Auditor{ProtectedSymlinks: tt.protected}}
			if got := au.mayFollow(ident{uid: tt.id}, tt.dir, link); got != tt.want {
				t.Errorf("mayFollow = %v, want %v", got, tt.want)
			}
		})
	}
}
