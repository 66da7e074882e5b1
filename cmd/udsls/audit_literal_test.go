package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/udsls/udsls/inspect"
	"github.com/udsls/udsls/inspect/render"
	"github.com/udsls/udsls/platform/testenv"
)

// TestAuditLiteralNames: a directory or socket whose name holds [ is
// audited as itself, as the listing matches it. As a glob, odd[1] meant
// odd1: nothing was audited and the world-reachable socket went unseen.
func TestAuditLiteralNames(t *testing.T) {
	testenv.NeedRoot(t, "the finding is about a socket a root process serves")
	b := t.TempDir()
	for _, d := range []string{b, filepath.Dir(b)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	dir := filepath.Join(b, `odd[1]*?\`)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "a[b].sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	if err := os.Chmod(sock, 0o666); err != nil {
		t.Fatal(err)
	}
	for _, arg := range []string{dir, sock} {
		t.Run(filepath.Base(arg), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), []string{"--audit", "-o", "json", arg}, &stdout, &stderr)
			var doc render.AuditJSON
			if err := json.Unmarshal(stdout.Bytes(), &doc); err != nil {
				t.Fatalf("stdout %q: %v", stdout.String(), err)
			}
			if code != exitNo || len(doc.Findings) != 1 || doc.Findings[0].Path != sock || doc.Findings[0].Rule != inspect.RuleWorldReachable {
				t.Errorf("exit %d, findings %+v, stderr %q; want 1 and world-reachable %s", code, doc.Findings, stderr.String(), sock)
			}
		})
	}
}
