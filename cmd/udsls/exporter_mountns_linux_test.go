package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/udsls/udsls/internal/testutil"
	"github.com/udsls/udsls/platform/testenv"
)

// TestExporterReleasesDeadMountNamespace: a container-like process mounts
// a filesystem in a mount namespace of its own and listens on a socket
// there; the exporter reads that namespace's mountinfo to know the file.
// Once the process is gone its filesystem must be unmounted, as the
// kernel does when the last user of the namespace goes: the exporter kept
// the mountinfo open, which kept the namespace and its mounts alive, the
// device busy, for as long as it ran.
func TestExporterReleasesDeadMountNamespace(t *testing.T) {
	testenv.NeedRoot(t, "mounts a loop device in a mount namespace")
	testenv.NeedTool(t, "mkfs.ext4", "e2fsprogs")
	testenv.NeedTool(t, "losetup", "mount")
	unshare := testenv.NeedTool(t, "unshare", "util-linux")
	py := testenv.NeedTool(t, "python3", "python3")
	dir := t.TempDir()
	out, err := exec.Command("losetup", "--find", "--show", loopImage(t, dir, 16, "mkfs.ext4", "-q", "-F")).Output()
	if err != nil {
		t.Fatalf("losetup: %v", err)
	}
	dev := strings.TrimSpace(string(out))
	t.Cleanup(func() { exec.Command("losetup", "-d", dev).Run() })
	// Whether a mounted filesystem holds the device: a mount opens it
	// exclusively.
	busy := func() bool {
		t.Helper()
		fd, err := syscall.Open(dev, syscall.O_RDONLY|syscall.O_EXCL, 0)
		if err == nil {
			syscall.Close(fd)
			return false
		}
		if !errors.Is(err, syscall.EBUSY) {
			t.Fatalf("open %s: %v", dev, err)
		}
		return true
	}
	// A listener of the host, so that a scrape examines a file after the
	// process is gone.
	host := testutil.Listen(t, "unix", filepath.Join(dir, "host.sock"))
	defer host.Close()
	x := startExporter(t, "--metrics-min-interval", "0")

	mnt := filepath.Join(dir, "mnt")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	const script = `import socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.listen(8)
print("up", flush=True)
sys.stdin.read()
`
	child := exec.Command(unshare, "--mount", "--propagation", "private", "--", "sh", "-c",
		`mount "$1" "$2" && exec "$3" -c "$4" "$2/app.sock"`, "sh", dev, mnt, py, script)
	line, stop, err := testutil.StartChild(t, child)
	if err != nil || line != "up\n" {
		t.Fatalf("child said %q, %v", line, err)
	}
	if !strings.Contains(get(t, x.url+"/metrics"), filepath.Join(mnt, "app.sock")) {
		t.Fatal("the scrape does not show the child's listener")
	}
	stop()
	get(t, x.url+"/metrics")
	if busy() {
		t.Errorf("%s is still mounted after the process of its mount namespace is gone, while the exporter runs", dev)
	}
}
