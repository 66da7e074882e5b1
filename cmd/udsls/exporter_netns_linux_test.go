package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/udsls/udsls/internal/testutil"
	"github.com/udsls/udsls/platform/testenv"
)

// TestExporterStaleFollowsNetns: --netns FILE names whatever namespace
// the file holds when a scrape comes, as a container's restart binds a new
// one there. The listing follows it; the stale series kept the namespace
// of the exporter's start and missed the new one's unreachable listener.
func TestExporterStaleFollowsNetns(t *testing.T) {
	testenv.NeedRoot(t, "binds network namespaces to a file")
	unshare := testenv.NeedTool(t, "unshare", "util-linux")
	nsenter := testenv.NeedTool(t, "nsenter", "util-linux")
	py := testenv.NeedTool(t, "python3", "python3")
	dir := t.TempDir()
	nsFile := filepath.Join(dir, "netns")
	socks := filepath.Join(dir, "socks")
	if err := os.Mkdir(socks, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(nsFile, nil, 0o444); err != nil {
		t.Fatal(err)
	}
	newNetns := func() {
		t.Helper()
		if out, err := exec.Command(unshare, "--net="+nsFile, "true").CombinedOutput(); err != nil {
			t.Fatalf("unshare --net=%s: %v: %s", nsFile, err, out)
		}
	}
	t.Cleanup(func() {
		for syscall.Unmount(nsFile, syscall.MNT_DETACH) == nil {
		}
	})
	newNetns()
	x := startExporter(t, "--metrics-min-interval", "0", "--netns", nsFile, "--metrics-stale", socks)
	unreachable := func() float64 {
		t.Helper()
		s := parseProm(t, get(t, x.url+"/metrics"))
		v, ok := s["udsls_stale_unreachable_sockets{}"]
		if !ok {
			t.Fatal("no udsls_stale_unreachable_sockets")
		}
		return v
	}
	if got := unreachable(); got != 0 {
		t.Fatalf("udsls_stale_unreachable_sockets = %v in an empty namespace", got)
	}

	if err := syscall.Unmount(nsFile, syscall.MNT_DETACH); err != nil {
		t.Fatal(err)
	}
	newNetns()
	// A listener in the new namespace whose file is gone: clients there
	// cannot reach it by its path.
	const script = `import os, socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.listen(8)
os.unlink(sys.argv[1])
print("up", flush=True)
sys.stdin.read()
`
	if line, _, err := testutil.StartChild(t, exec.Command(nsenter, "--net="+nsFile, py, "-c", script, filepath.Join(socks, "gone.sock"))); err != nil || line != "up\n" {
		t.Fatalf("listener in the new namespace said %q, %v", line, err)
	}
	if got := unreachable(); got != 1 {
		t.Errorf("udsls_stale_unreachable_sockets = %v after the namespace --netns names was made anew with an unreachable listener; want 1", got)
	}
}

// TestExporterRefusesBadNetns: a --netns that names no namespace ends the
// exporter before it serves, with the listing's error, with or without
// --metrics-stale; without it the exporter served HTTP 500 on every scrape.
func TestExporterRefusesBadNetns(t *testing.T) {
	dir := t.TempDir()
	notNetns := filepath.Join(dir, "not-a-netns")
	if err := os.WriteFile(notNetns, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, netns := range []string{"999999999", notNetns, filepath.Join(dir, "missing")} {
		_, _, want := runUdsls("--netns", netns)
		if !strings.HasPrefix(want, "udsls: error: network namespace ") {
			t.Fatalf("udsls --netns %s said %q", netns, want)
		}
		for _, extra := range [][]string{nil, {"--metrics-stale", dir}} {
			args := append([]string{"--metrics-listen", "127.0.0.1:0", "--netns", netns}, extra...)
			var out, errw bytes.Buffer
			// Bounded so that an exporter that starts serving ends the test.
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			code := run(ctx, args, &out, &errw)
			cancel()
			if code != exitError || out.Len() != 0 || errw.String() != want {
				t.Errorf("udsls %q: exit %d, stdout %q, stderr %q; want exit 2 and the listing's %q", args, code, out.String(), errw.String(), want)
			}
		}
	}
}

// TestExporterOutlivesItsNetns: a namespace --netns names that goes away
// after the start (a container stopped) fails the scrapes while it is
// gone, and the exporter serves again once the file names one anew.
func TestExporterOutlivesItsNetns(t *testing.T) {
	testenv.NeedRoot(t, "binds network namespaces to a file")
	unshare := testenv.NeedTool(t, "unshare", "util-linux")
	for _, extra := range [][]string{nil, {"--metrics-stale", t.TempDir()}} {
		nsFile := filepath.Join(t.TempDir(), "netns")
		if err := os.WriteFile(nsFile, nil, 0o444); err != nil {
			t.Fatal(err)
		}
		newNetns := func() {
			t.Helper()
			if out, err := exec.Command(unshare, "--net="+nsFile, "true").CombinedOutput(); err != nil {
				t.Fatalf("unshare --net=%s: %v: %s", nsFile, err, out)
			}
		}
		t.Cleanup(func() {
			for syscall.Unmount(nsFile, syscall.MNT_DETACH) == nil {
			}
		})
		newNetns()
		x := startExporter(t, append([]string{"--metrics-min-interval", "0", "--netns", nsFile}, extra...)...)
		get(t, x.url+"/metrics")
		if err := syscall.Unmount(nsFile, syscall.MNT_DETACH); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if code := statusOf(t, x.url+"/metrics"); code != http.StatusInternalServerError {
				t.Errorf("%q: a scrape while the namespace is gone got HTTP %d; want 500", extra, code)
			}
		}
		if got := get(t, x.url+"/healthz"); got != "ok\n" {
			t.Errorf("%q: /healthz = %q once the namespace went away", extra, got)
		}
		newNetns()
		get(t, x.url+"/metrics")
	}
}

// statusOf is the HTTP status of a GET.
func statusOf(t *testing.T, url string) int {
	t.Helper()
	resp, err := httpClient.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}
