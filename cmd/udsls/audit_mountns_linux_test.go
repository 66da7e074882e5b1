//go:build linux

package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/udsls/udsls/internal/testutil"
	"github.com/udsls/udsls/platform/testenv"
)

// TestAuditOtherMountNamespace: a root server in a mount namespace of its
// own (host network) binds world-writable sockets on a tmpfs only that
// namespace sees. The listing finds the files through /proc/PID/root; the
// audit walks our own tree, where the path leads nowhere, so it must say
// it could not judge them rather than report a clean audit.
func TestAuditOtherMountNamespace(t *testing.T) {
	testenv.NeedRoot(t, "a mount namespace and a tmpfs of its own")
	unshare := testenv.NeedTool(t, "unshare", "util-linux")
	bin := buildUdsls(t)
	dir := t.TempDir()
	cmd := exec.Command(unshare, "--mount", "--propagation", "private", "sh", "-c",
		`mount -t tmpfs tmpfs "$1" && chmod 1777 "$1" && exec "$2" --serve -o json --count 1 "$1"`, "sh", dir, bin)
	// The tmpfs goes with the namespace's last process.
	m := serveWith(t, cmd)
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("the served sockets are visible outside their mount namespace: %v", entries)
	}
	// Our own socket at the path of one of theirs: the walk finds a file
	// here, but not theirs.
	var theirs string
	for _, s := range m.Sockets {
		if !s.Abstract && strings.HasPrefix(s.Path, dir+"/") && s.PID == m.PID {
			theirs = s.Path
			break
		}
	}
	if theirs == "" {
		t.Fatalf("no served socket file in %s: %+v", dir, m.Sockets)
	}
	ours := testutil.Listen(t, "unix", theirs)
	defer ours.Close()

	// Every socket of theirs below dir; then the one ours shadows alone.
	for _, arg := range []string{dir, theirs} {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), []string{"--audit", "-o", "json", arg}, &stdout, &stderr)
		doc := decodeAudit(t, stdout.Bytes())
		want := "bound in the mount namespace of pid " + strconv.Itoa(m.PID)
		found := false
		for _, w := range doc.Warnings {
			found = found || strings.Contains(w, dir) && strings.Contains(w, want)
		}
		if !found || !strings.Contains(stderr.String(), want) {
			t.Errorf("%s: exit %d; no warning %q naming %s:\nwarnings %q\nstderr %s", arg, code, want, dir, doc.Warnings, stderr.String())
		}
		if len(doc.Findings) != 0 {
			t.Errorf("%s: findings about files the audit did not walk: %+v", arg, doc.Findings)
		}
	}
}
