package render

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/udsls/udsls/inspect"
)

func testReport() *inspect.AuditReport {
	return &inspect.AuditReport{
		Findings: []inspect.Finding{
			{
				Path: "/run/bad\xff\x1b[2J.sock", Rule: inspect.RuleWorldReachable, Severity: inspect.SeverityHigh,
				Detail: "mode 0666 of /run/bad\xff\x1b[2J.sock", Fix: "chmod o-w /run/bad\xff\x1b[2J.sock",
				Holders: []inspect.Holder{{PID: 7, FD: 3, Command: "evil\nd", User: "root", UID: 0, Known: true}, {PID: 8, FD: 4}},
			},
			{Path: "/tmp/x.sock", Rule: inspect.RuleStaleName, Severity: inspect.SeverityLow, Detail: "d", Fix: "f"},
		},
		Warnings: []string{"w"},
	}
}

func TestWriteAuditJSON(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteAuditJSON(&buf, testReport()); err != nil {
		t.Fatal(err)
	}
	var doc AuditJSON
	dec := json.NewDecoder(&buf)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("output does not decode into AuditJSON: %v", err)
	}
	zero := uint32(0)
	want := AuditJSON{
		Findings: []FindingJSON{
			{
				Path: "/run/bad\ufffd\x1b[2J.sock", PathBytes: []byte("/run/bad\xff\x1b[2J.sock"),
				Severity: inspect.SeverityHigh, Rule: inspect.RuleWorldReachable,
				Detail: "mode 0666 of /run/bad\ufffd\x1b[2J.sock", Fix: "chmod o-w /run/bad\ufffd\x1b[2J.sock",
				Holders: []ProcessJSON{{PID: 7, FD: 3, Command: "evil\nd", User: "root", UID: &zero}, {PID: 8, FD: 4}},
			},
			{Path: "/tmp/x.sock", Severity: inspect.SeverityLow, Rule: inspect.RuleStaleName, Detail: "d", Fix: "f", Holders: []ProcessJSON{}},
		},
		Warnings: []string{"w"},
	}
	if diff := cmp.Diff(want, doc); diff != "" {
		t.Errorf("JSON (-want +got):\n%s", diff)
	}

	buf.Reset()
	if err := WriteAuditJSON(&buf, &inspect.AuditReport{}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(strings.Fields(buf.String()), " "); got != `{ "findings": [], "warnings": [] }` {
		t.Errorf("empty report: %s", got)
	}
}

func TestWriteAuditTable(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteAuditTable(&buf, testReport(), false); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	// ContainsAny would read "\xff" as U+FFFD: look for the bytes.
	if strings.Contains(out, "\x1b") || strings.Contains(out, "\xff") || strings.Contains(out, "evil\n") {
		t.Errorf("unescaped name in table:\n%q", out)
	}
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines, want a header and 2 rows:\n%s", len(lines), out)
	}
	for _, want := range []string{"SEVERITY", "RULE", "PATH", "PID/COMMAND", "USER", "DETAIL", "FIX"} {
		if !strings.Contains(lines[0], want) {
			t.Errorf("header %q lacks %s", lines[0], want)
		}
	}
	for _, want := range []string{"high", inspect.RuleWorldReachable, `/run/bad\xff\x1b[2J.sock`, `7/evil\nd,8/?`, "root", `chmod o-w /run/bad\xff\x1b[2J.sock`} {
		if !strings.Contains(lines[1], want) {
			t.Errorf("row %q lacks %s", lines[1], want)
		}
	}

	buf.Reset()
	if err := WriteAuditTable(&buf, &inspect.AuditReport{}, false); err != nil || buf.Len() != 0 {
		t.Errorf("empty report printed %q, %v; want nothing", buf.String(), err)
	}
}
