package render

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"strings"
	"testing"

	"github.com/udsls/udsls/inspect"
)

// TestAuditNamesRaw: a hostile user name is data in the report and in
// JSON, and the table escapes it once.
func TestAuditNamesRaw(t *testing.T) {
	const evil = "ev\x1b[2Jil"
	dir := "/nonexistent-udsls-audit/run"
	files := map[string]*inspect.FileInfo{
		"/":                        {ID: inspect.FileID{Dev: 1, Ino: 2}, Mode: fs.ModeDir | 0o755},
		"/nonexistent-udsls-audit": {ID: inspect.FileID{Dev: 1, Ino: 3}, Mode: fs.ModeDir | 0o755},
		dir:                        {ID: inspect.FileID{Dev: 1, Ino: 4}, Mode: fs.ModeDir | 0o755},
		dir + "/x.sock":            {ID: inspect.FileID{Dev: 1, Ino: 10}, Mode: fs.ModeSocket | 0o666, UID: 1000},
	}
	r := fakeResolver(map[int]inspect.Process{100: {PID: 100, Command: "appd", UID: 0}}, files)
	r.UserName = func(uid uint32) string { return map[uint32]string{0: "root", 1000: evil}[uid] }
	snap := &inspect.Snapshot{
		Sockets: []inspect.Socket{{ID: 1, Path: dir + "/x.sock", Type: inspect.TypeStream, State: inspect.StateListening, Known: inspect.KnownBound, Bound: inspect.FileID{Dev: 1, Ino: 10}}},
		Owners:  []inspect.Owner{{ID: 1, PID: 100, FD: 3}},
	}
	rep, err := (&inspect.Auditor{Resolver: r}).Audit(context.Background(), snap, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Findings) != 1 || rep.Findings[0].Rule != inspect.RuleWorldReachable || !strings.Contains(rep.Findings[0].Detail, "(0666 "+evil+":root)") {
		t.Fatalf("findings %+v, want world-reachable naming %q as it is", rep.Findings, evil)
	}
	var js bytes.Buffer
	if err := WriteAuditJSON(&js, rep); err != nil {
		t.Fatal(err)
	}
	var doc AuditJSON
	if err := json.Unmarshal(js.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if d := doc.Findings[0].Detail; !strings.Contains(d, evil) || strings.Contains(d, `\x1b`) {
		t.Errorf("JSON detail %q: want the name's bytes, not an escape", d)
	}
	var tab bytes.Buffer
	if err := WriteAuditTable(&tab, rep, false); err != nil {
		t.Fatal(err)
	}
	if out := tab.String(); strings.Contains(out, "\x1b") || !strings.Contains(out, `(0666 ev\x1b[2Jil:root)`) {
		t.Errorf("table escapes the name not exactly once:\n%s", out)
	}
}
