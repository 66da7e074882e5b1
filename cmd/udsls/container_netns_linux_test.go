//go:build linux

package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/udsls/udsls/internal/testutil"
	"github.com/udsls/udsls/platform/testenv"
)

// TestContainerOtherNetns: --container looks in every network namespace,
// where a container's sockets mostly are, for the exporter and --watch as
// for the listing and -o prometheus. The exporter and --watch looked in
// this one only, and served no series for the container's listener.
func TestContainerOtherNetns(t *testing.T) {
	testenv.NeedRoot(t, "a network namespace and a cgroup")
	unshare := testenv.NeedTool(t, "unshare", "util-linux")
	py := testenv.NeedTool(t, "python3", "python3")
	dir := t.TempDir()
	sock := filepath.Join(dir, "ctr.sock")
	cmd := exec.Command(unshare, "--net", py, "-c", `import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1])
s.listen(8)
print("ready", flush=True)
sys.stdin.read()
`, sock)
	if line, _, err := testutil.StartChild(t, cmd); line != "ready\n" {
		t.Fatalf("listener in a network namespace: %q, %v", line, err)
	}
	id := testutil.FakeDockerCgroup(t, cmd.Process.Pid)

	eng := filepath.Join(dir, "engine.sock")
	l, err := net.Listen("unix", eng)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`[{"Id":"` + id + `","Names":["/udsls-netns-test"]}]`))
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	args := []string{"--docker-socket", eng, "--container", "udsls-netns-test"}

	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), append([]string{"-o", "prometheus"}, args...), &stdout, &stderr); code != exitOK || !strings.Contains(stdout.String(), sock) {
		t.Fatalf("-o prometheus: exit %d, no %s in:\n%s\nstderr: %s", code, sock, stdout.String(), stderr.String())
	}

	x := startExporter(t, args...)
	if got := get(t, x.url+"/metrics"); !strings.Contains(got, `udsls_listener_backlog{container="udsls-netns-test"`) || !strings.Contains(got, sock) {
		t.Errorf("the exporter serves no series for the container's listener %s:\n%s", sock, got)
	}

	stdout.Reset()
	stderr.Reset()
	if code := run(context.Background(), append([]string{"--watch", "-o", "json", "--for", "1ms"}, args...), &stdout, &stderr); code != exitOK || !strings.Contains(stdout.String(), sock) {
		t.Errorf("--watch: exit %d, no %s in:\n%s\nstderr: %s", code, sock, stdout.String(), stderr.String())
	}
}
