package render

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/udsls/udsls/inspect"
)

// renderResults are check results as Check and Annotate leave them.
func renderResults() []inspect.CheckResult {
	return []inspect.CheckResult{
		{
			Path: "/run/app.sock", Verdict: inspect.VerdictUp, Detail: "stream socket accepting connections", Type: inspect.TypeStream,
			File: &inspect.FileInfo{Mode: 0o660 | fs.ModeSetgid, UID: 0, GID: 998, Owner: "root", Group: "app"},
			Entry: &inspect.Entry{Socket: inspect.Socket{ID: 1}, Holders: []inspect.Holder{
				{PID: 10, FD: 3, Command: "app", User: "root", Known: true},
				{PID: 11, FD: 3},
				{PID: 12, FD: 4, Command: "app\x1b[2J", User: "root", Known: true},
				{PID: 13, FD: 5, Command: "app", User: "root", Known: true},
			}},
		},
		{
			Path: "/run/link\n.sock", Target: "/srv/\xffreal.sock", Verdict: inspect.VerdictMismatch,
			Detail: "dgram socket reachable, but not as expected", Type: inspect.TypeDgram,
			File:       &inspect.FileInfo{Mode: 0o644, UID: 1000, GID: 1000},
			Mismatches: []inspect.Mismatch{{Field: "mode", Want: "0660", Got: "0644"}, {Field: "type", Want: "stream", Got: "dgram"}},
		},
		{Path: "/etc/passwd", Verdict: inspect.VerdictNotSocket, Detail: "regular file", File: &inspect.FileInfo{Mode: 0o644}},
		{Path: "/run/gone.sock", Verdict: inspect.VerdictMissing, Detail: "no such file or directory"},
	}
}

func TestWriteChecks(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteChecks(&buf, renderResults(), false); err != nil {
		t.Fatal(err)
	}
	want := `/run/app.sock: up: stream socket accepting connections; held by pid 10 (app), pid 11, pid 12 (app\x1b[2J) and 1 more
/run/link\n.sock -> /srv/\xffreal.sock: mismatch: dgram socket reachable, but not as expected; mode is 0644, want 0660; type is dgram, want stream
/etc/passwd: not a socket: regular file
/run/gone.sock: missing: no such file or directory
`
	if diff := cmp.Diff(want, buf.String()); diff != "" {
		t.Errorf("WriteChecks (-want +got):\n%s", diff)
	}

	buf.Reset()
	if err := WriteChecks(&buf, renderResults()[2:3], true); err != nil {
		t.Fatal(err)
	}
	if want := "/etc/passwd: \x1b[31mnot a socket\x1b[0m: regular file\n"; buf.String() != want {
		t.Errorf("coloured line = %q, want %q", buf.String(), want)
	}
}

func TestWriteChecksJSON(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteChecksJSON(&buf, renderResults(), nil); err != nil {
		t.Fatal(err)
	}
	var got ChecksJSON
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, buf.Bytes())
	}
	str := func(s string) *string { return &s }
	u32 := func(v uint32) *uint32 { return &v }
	typ := func(v inspect.Type) *inspect.Type { return &v }
	want := ChecksJSON{
		Checks: []CheckJSON{
			{
				Path: "/run/app.sock", Healthy: true, Verdict: inspect.VerdictUp,
				Reason: `stream socket accepting connections; held by pid 10 (app), pid 11, pid 12 (app\x1b[2J) and 1 more`,
				Type:   typ(inspect.TypeStream), Mode: str("2660"), Owner: str("root"), Group: str("app"), UID: u32(0), GID: u32(998),
				Mismatches: []inspect.Mismatch{},
				Processes: []ProcessJSON{
					{PID: 10, Command: "app", User: "root", UID: u32(0), FD: 3},
					{PID: 11, FD: 3},
					{PID: 12, Command: "app\x1b[2J", User: "root", UID: u32(0), FD: 4},
					{PID: 13, Command: "app", User: "root", UID: u32(0), FD: 5},
				},
			},
			{
				Path: "/run/link\n.sock", Verdict: inspect.VerdictMismatch,
				Reason: "dgram socket reachable, but not as expected; mode is 0644, want 0660; type is dgram, want stream",
				Type:   typ(inspect.TypeDgram), Target: str("/srv/\ufffdreal.sock"), TargetBytes: []byte("/srv/\xffreal.sock"),
				Mode: str("0644"), Owner: str(""), Group: str(""), UID: u32(1000), GID: u32(1000),
				Mismatches: []inspect.Mismatch{{Field: "mode", Want: "0660", Got: "0644"}, {Field: "type", Want: "stream", Got: "dgram"}},
				Processes:  []ProcessJSON{},
			},
			{
				Path: "/etc/passwd", Verdict: inspect.VerdictNotSocket, Reason: "regular file",
				Mode: str("0644"), Owner: str(""), Group: str(""), UID: u32(0), GID: u32(0),
				Mismatches: []inspect.Mismatch{}, Processes: []ProcessJSON{},
			},
			{
				Path: "/run/gone.sock", Verdict: inspect.VerdictMissing, Reason: "no such file or directory",
				Mismatches: []inspect.Mismatch{}, Processes: []ProcessJSON{},
			},
		},
		Warnings: []string{},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("WriteChecksJSON (-want +got):\n%s", diff)
	}

	// Unknown values are null, not zero: scripts must tell them apart.
	var raw struct {
		Checks []map[string]any `json:"checks"`
	}
	if err := json.Unmarshal(buf.Bytes(), &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"type", "target", "mode", "owner", "group", "uid", "gid"} {
		if v, ok := raw.Checks[3][k]; !ok || v != nil {
			t.Errorf("missing path: %q = %v (present %v), want null", k, v, ok)
		}
	}
}
