package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/udsls/udsls/inspect"
	"github.com/udsls/udsls/inspect/render"
	"github.com/udsls/udsls/platform/testenv"
)

func TestAuditUsage(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		stderr string
	}{
		{"bad severity", []string{"--audit", "--fail-on", "critical"}, `udsls: error: --fail-on: unknown severity "critical" (want low, medium or high)`},
		{"fail-on without audit", []string{"--fail-on", "low"}, "udsls: error: --fail-on requires --audit"},
		{"bad pattern", []string{"--audit", "/run/["}, `udsls: error: bad pattern "/run/[": syntax error in pattern`},
		{"capture", []string{"--audit", "--from", "procnet:unix"}, "udsls: error: --from does not apply to --audit"},
		{"prometheus", []string{"--audit", "-o", "prometheus"}, "udsls: error: -o prometheus is not available for --audit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tt.args, &stdout, &stderr)
			want := tt.stderr + "\nudsls: hint: see 'udsls --help'\n"
			if code != exitError || stdout.Len() != 0 || stderr.String() != want {
				t.Errorf("run(%q) = %d, stdout %q, stderr %q; want 2, nothing, %q", tt.args, code, stdout.String(), stderr.String(), want)
			}
		})
	}
}

type auditRow struct {
	Path     string
	Rule     string
	Severity inspect.Severity
}

// TestAuditCLI audits sockets this process (root) listens on in a temporary
// directory, through the live backend, as a CI gate would.
func TestAuditCLI(t *testing.T) {
	testenv.NeedRoot(t, "the findings are about sockets a root process serves")
	b := t.TempDir()
	for _, d := range []string{b, filepath.Dir(b)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	p := func(name string) string { return filepath.Join(b, name) }
	for name, mode := range map[string]fs.FileMode{"root": 0o755, "open": 0o777, "sticky": fs.ModeSticky | 0o777, "shared": 0o777} {
		if err := os.Mkdir(p(name), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p(name), mode); err != nil {
			t.Fatal(err)
		}
	}
	listen := func(name string, mode fs.FileMode) {
		ln, err := net.Listen("unix", p(name))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		if err := os.Chmod(p(name), mode); err != nil {
			t.Fatal(err)
		}
	}
	listen("root/world.sock", 0o666)
	listen("root/private.sock", 0o600)
	// users is broad by name: its members reach a root process.
	users, err := user.LookupGroup("users")
	if err != nil {
		t.Fatalf("the users group: %v", err)
	}
	listen("root/users.sock", 0o660)
	gid, _ := strconv.Atoi(users.Gid)
	if err := os.Chown(p("root/users.sock"), 0, gid); err != nil {
		t.Fatal(err)
	}
	listen("open/private.sock", 0o600)
	listen("sticky/private.sock", 0o600)
	for _, name := range []string{"sticky/stale.sock", "shared/stale.sock"} {
		stale, err := net.Listen("unix", p(name))
		if err != nil {
			t.Fatal(err)
		}
		stale.(*net.UnixListener).SetUnlinkOnClose(false)
		stale.Close()
	}
	// A socket for the sticky directory's stale file to sit next to: root
	// owns the file, and the sticky bit keeps others from taking it.
	listen("shared/private.sock", 0o600)

	all := b + "/*/*"
	tests := []struct {
		name string
		args []string
		code int
		want []auditRow
	}{
		{
			name: "everything",
			args: []string{all},
			code: exitNo,
			want: []auditRow{
				{p("open/private.sock"), inspect.RuleHijackable, inspect.SeverityHigh},
				{p("root/world.sock"), inspect.RuleWorldReachable, inspect.SeverityHigh},
				{p("shared/private.sock"), inspect.RuleHijackable, inspect.SeverityHigh},
				{p("root/users.sock"), inspect.RuleGroupReachable, inspect.SeverityMedium},
				{p("shared/stale.sock"), inspect.RuleStaleName, inspect.SeverityLow},
			},
		},
		{name: "medium only, gate at high", args: []string{p("root/users.sock")}, code: exitOK, want: []auditRow{{p("root/users.sock"), inspect.RuleGroupReachable, inspect.SeverityMedium}}},
		{name: "medium only, gate at medium", args: []string{"--fail-on", "medium", p("root/users.sock")}, code: exitNo, want: []auditRow{{p("root/users.sock"), inspect.RuleGroupReachable, inspect.SeverityMedium}}},
		{name: "medium only, gate at low", args: []string{"--fail-on=low", p("root/users.sock")}, code: exitNo, want: []auditRow{{p("root/users.sock"), inspect.RuleGroupReachable, inspect.SeverityMedium}}},
		// A root-owned stale file in a sticky directory: the sticky bit
		// keeps others from taking the name.
		{name: "sticky", args: []string{"--fail-on=low", b + "/sticky/*"}, code: exitOK},
		{name: "clean", args: []string{"--fail-on=low", p("root/private.sock")}, code: exitOK},
		{
			name: "directory",
			args: []string{"--fail-on=low", p("root")},
			code: exitNo,
			want: []auditRow{
				{p("root/world.sock"), inspect.RuleWorldReachable, inspect.SeverityHigh},
				{p("root/users.sock"), inspect.RuleGroupReachable, inspect.SeverityMedium},
			},
		},
		{name: "clean directory", args: []string{"--fail-on=low", p("sticky")}, code: exitOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), append([]string{"--audit", "-o", "json"}, tt.args...), &stdout, &stderr)
			if code != tt.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tt.code, stderr.String())
			}
			var doc render.AuditJSON
			dec := json.NewDecoder(&stdout)
			dec.DisallowUnknownFields()
			if err := dec.Decode(&doc); err != nil {
				t.Fatalf("stdout does not decode into AuditJSON: %v", err)
			}
			var got []auditRow
			for _, f := range doc.Findings {
				got = append(got, auditRow{f.Path, f.Rule, f.Severity})
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
			if doc.Warnings == nil {
				t.Error("warnings is null, want an array")
			}
		})
	}

	t.Run("table", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), []string{"--audit", "--color=never", all}, &stdout, &stderr); code != exitNo {
			t.Errorf("exit %d, want 1; stderr:\n%s", code, stderr.String())
		}
		lines := strings.Split(strings.TrimRight(stdout.String(), "\n"), "\n")
		if len(lines) != 6 || !strings.HasPrefix(lines[0], "SEVERITY") {
			t.Fatalf("want a header and 5 rows, got:\n%s", stdout.String())
		}
		for i, want := range []string{"high hijackable " + p("open/private.sock"), "high world-reachable " + p("root/world.sock"), "high hijackable " + p("shared/private.sock"), "medium group-reachable " + p("root/users.sock"), "low stale-name " + p("shared/stale.sock")} {
			if got := strings.Join(strings.Fields(lines[i+1])[:3], " "); got != want {
				t.Errorf("row %d starts %q, want %q", i+1, got, want)
			}
		}
	})

	t.Run("no match", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), []string{"--audit", "--fail-on=low", b + "/none/*"}, &stdout, &stderr)
		if code != exitNo || stdout.Len() != 0 || !strings.Contains(stderr.String(), "udsls: warning: no socket matches the patterns; nothing was audited\n") {
			t.Errorf("exit %d, stdout %q, stderr %q; want 1, nothing, a warning", code, stdout.String(), stderr.String())
		}
	})
}
