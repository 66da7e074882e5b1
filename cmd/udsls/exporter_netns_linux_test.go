package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

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
