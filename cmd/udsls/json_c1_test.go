//go:build linux

package main

import (
	"net"
	"path/filepath"
	"testing"

	"github.com/udsls/udsls/internal/testutil"

	"golang.org/x/sys/unix"
)

// rawC1 says s holds DEL or a C1 control as UTF-8 (U+0080-U+009F).
func rawC1(s string) bool {
	for _, r := range s {
		if r >= 0x7f && r <= 0x9f {
			return true
		}
	}
	return false
}

// TestJSONEscapesC1: every JSON document escapes DEL and the C1 controls,
// as it escapes C0: encoding/json wrote U+009B (CSI, which a terminal may
// act on as ESC [) and DEL raw in --stale, --check and --serve, and the
// listing did too.
func TestJSONEscapesC1(t *testing.T) {
	dir := t.TempDir()
	live := filepath.Join(dir, "live\u009b2J\x7f.sock")
	l, err := net.Listen("unix", live)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	stale := filepath.Join(dir, "stale\u009b2J\x7f.sock")
	testutil.StaleSocket(t, stale, unix.SOCK_STREAM)

	for _, args := range [][]string{
		{"-o", "json", "-a", filepath.Join(dir, "*")},
		{"--stale", "-o", "json", dir},
		{"--check", "-o", "json", live, stale},
		{"--serve", "-o", "json", "--for", "1ms", filepath.Join(dir, "serve\u0085")},
	} {
		_, out, errOut := runUdsls(args...)
		if rawC1(out) || rawC1(errOut) {
			t.Errorf("udsls %q: a raw control in the output:\n%q\n%q", args, out, errOut)
		}
	}
	_, out, _ := runUdsls("--stale", "-o", "json", dir)
	if doc := decodeStale(t, []byte(out)); len(doc.paths()) != 1 || doc.paths()[0] != stale {
		t.Errorf("--stale: the name is not exact: %q", doc.paths())
	}
}
