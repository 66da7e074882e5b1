//go:build linux

package main

import (
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/udsls/udsls/inspect"
	"github.com/udsls/udsls/inspect/render"
	"github.com/udsls/udsls/internal/testutil"
	"github.com/udsls/udsls/platform/testenv"
	"golang.org/x/sys/unix"
)

// mustRun runs a command the test needs to set up, failing it on error.
func mustRun(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// mountAt mounts and unmounts at cleanup, whatever the test's outcome.
func mountAt(t *testing.T, dir string, args ...string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	mustRun(t, "mount", append(args, dir)...)
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v\n%s", dir, err, out)
			exec.Command("umount", "-l", dir).Run()
		}
	})
}

// loopImage makes a sparse image of size MiB and formats it with mkfs.
func loopImage(t *testing.T, dir string, size int, mkfs ...string) string {
	t.Helper()
	img := filepath.Join(dir, "fs.img")
	f, err := os.Create(img)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(int64(size) << 20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	mustRun(t, mkfs[0], append(mkfs[1:], img)...)
	return img
}

// socketDirs mounts each filesystem the identity of a socket file must be
// right on, and returns a directory on each to bind sockets in: tmpfs,
// ext4 and a btrfs subvolume on loop images, overlayfs with its upper
// layer on another filesystem than the lower one, and on the same.
func socketDirs(t *testing.T) map[string]string {
	t.Helper()
	testenv.NeedRoot(t, "mounting filesystems")
	testenv.NeedTool(t, "mkfs.ext4", "e2fsprogs")
	testenv.NeedTool(t, "mkfs.btrfs", "btrfs-progs")
	testenv.NeedTool(t, "btrfs", "btrfs-progs")
	testenv.NeedTool(t, "losetup", "mount")
	base := t.TempDir()
	p := func(n string) string { return filepath.Join(base, n) }
	dirs := map[string]string{}

	mountAt(t, p("tmpfs"), "-t", "tmpfs", "tmpfs")
	dirs["tmpfs"] = p("tmpfs")

	mountAt(t, p("ext4"), "-o", "loop", loopImage(t, base, 32, "mkfs.ext4", "-q", "-F"))
	dirs["ext4"] = p("ext4")

	mkdirs(t, base, "btrfs-img")
	mountAt(t, p("btrfs"), "-o", "loop", loopImage(t, p("btrfs-img"), 256, "mkfs.btrfs", "-q", "-f"))
	mustRun(t, "btrfs", "-q", "subvolume", "create", p("btrfs/sub"))
	dirs["btrfs-subvolume"] = p("btrfs/sub")

	// The lower layer on the temporary directory's filesystem, the upper
	// on a tmpfs of its own.
	mkdirs(t, base, "lower")
	mountAt(t, p("upperfs"), "-t", "tmpfs", "tmpfs")
	mkdirs(t, p("upperfs"), "upper", "work")
	mountAt(t, p("overlay-other"), "-t", "overlay", "overlay", "-o",
		"lowerdir="+p("lower")+",upperdir="+p("upperfs/upper")+",workdir="+p("upperfs/work"))
	dirs["overlay-upper-other-fs"] = p("overlay-other")

	mountAt(t, p("samefs"), "-t", "tmpfs", "tmpfs")
	mkdirs(t, p("samefs"), "lower", "upper", "work")
	mountAt(t, p("overlay-same"), "-t", "overlay", "overlay", "-o",
		"lowerdir="+p("samefs/lower")+",upperdir="+p("samefs/upper")+",workdir="+p("samefs/work"))
	dirs["overlay-upper-same-fs"] = p("overlay-same")
	return dirs
}

// boundSocket binds a stream socket that does not listen, held until the
// test ends: it refuses connects as a stale file does, and only its
// identity tells it is alive.
func boundSocket(t *testing.T, path string) {
	t.Helper()
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		t.Fatalf("bind %q: %v", path, err)
	}
}

func (d *staleDoc) unreachablePaths() []string {
	var out []string
	for _, u := range d.Unreachable {
		out = append(out, u.Path)
	}
	return out
}

// TestStaleIdentityMounts: on every filesystem, a live listener and a
// bound socket are shown healthy, neither is stale, --remove leaves
// them, and a truly stale file is still found and removed. stat(2)'s
// device is not sock_diag's on btrfs subvolumes and overlayfs: judged by
// it, the bound socket's file was called stale and deleted.
func TestStaleIdentityMounts(t *testing.T) {
	for fs, dir := range socketDirs(t) {
		t.Run(fs, func(t *testing.T) {
			live, bound, stale := filepath.Join(dir, "live.sock"), filepath.Join(dir, "bound.sock"), filepath.Join(dir, "stale.sock")
			l, err := net.Listen("unix", live)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { l.Close() })
			boundSocket(t, bound)
			testutil.StaleSocket(t, stale, unix.SOCK_STREAM)

			code, out, errOut := runUdsls("-a", "-o", "json", filepath.Join(dir, "*"))
			if code != exitOK {
				t.Fatalf("listing: exit %d, stderr %q", code, errOut)
			}
			var listing render.ListingJSON
			if err := json.Unmarshal([]byte(out), &listing); err != nil {
				t.Fatal(err)
			}
			seen := map[string]inspect.FileStatus{}
			for _, s := range listing.Sockets {
				if s.FileStatus != nil {
					seen[s.Path] = *s.FileStatus
				}
			}
			for _, p := range []string{live, bound} {
				if seen[p] != inspect.FileOK {
					t.Errorf("listing: %s has file status %q, want ok", p, seen[p])
				}
			}

			code, out, errOut = runUdsls("--stale", "-o", "json", dir)
			doc := decodeStale(t, []byte(out))
			if code != exitNo || !slices.Equal(doc.paths(), []string{stale}) || len(doc.Unreachable) > 0 {
				t.Errorf("--stale: exit %d, stale %q, unreachable %q; stderr %q", code, doc.paths(), doc.unreachablePaths(), errOut)
			}
			if code, out, errOut := runUdsls("--check", live); code != exitOK {
				t.Errorf("--check %s: exit %d, %q %q", live, code, out, errOut)
			}
			if _, out, errOut := runUdsls("--audit", "-o", "json", filepath.Join(dir, "*")); strings.Contains(out, "file-replaced") || strings.Contains(out, "file-gone") {
				t.Errorf("--audit %s: %s %s", dir, out, errOut)
			}

			code, out, errOut = runUdsls("--stale", "--remove", dir)
			if code != exitOK || out != "removed "+stale+"\n" {
				t.Errorf("--remove: exit %d, stdout %q, stderr %q", code, out, errOut)
			}
			for _, p := range []string{live, bound} {
				if _, err := os.Lstat(p); err != nil {
					t.Errorf("a live socket's file: %v", err)
				}
			}
			if _, err := os.Lstat(stale); err == nil {
				t.Errorf("the stale file is still there")
			}
			if code, out, errOut := runUdsls("--stale", dir); code != exitOK {
				t.Errorf("--stale after --remove: exit %d, %q %q", code, out, errOut)
			}
		})
	}
}

// childBind runs python3 in dir, with argv (unshare ...) in front, to bind
// name without listening and hold it until the test ends; it returns the
// pid of the process holding the socket.
func childBind(t *testing.T, dir, name string, argv ...string) int {
	t.Helper()
	py := testenv.NeedTool(t, "python3", "python3")
	const script = `import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1])
print(os.getpid(), flush=True)
sys.stdin.read()
`
	args := append(argv, py, "-c", script, name)
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = dir
	cmd.Stderr = os.Stderr
	line, _, _ := testutil.StartChild(t, cmd)
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		t.Fatalf("child did not bind %q: %q", name, line)
	}
	return pid
}

// TestStaleOtherNetnsBound: a socket bound and not listening in another
// network namespace, on a shared directory, refuses connects exactly like
// a stale file; the default run did not look there and deleted it.
func TestStaleOtherNetnsBound(t *testing.T) {
	testenv.NeedRoot(t, "unshare --net")
	testenv.NeedTool(t, "unshare", "util-linux")
	dir := t.TempDir()
	childBind(t, dir, "ns.sock", "unshare", "--net", "--")
	testutil.StaleSocket(t, filepath.Join(dir, "dead.sock"), unix.SOCK_STREAM)

	code, out, errOut := runUdsls("--stale", "--remove", dir)
	if code != exitOK || out != "removed "+filepath.Join(dir, "dead.sock")+"\n" {
		t.Errorf("--remove: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if _, err := os.Lstat(filepath.Join(dir, "ns.sock")); err != nil {
		t.Errorf("the file of a socket bound in another network namespace: %v", err)
	}
}

// TestStaleProcfsRelative: with --source procfs a socket bound by a
// relative name carries no identity and its name cannot be placed: the
// file refusing connects there is unknown, and never removed.
func TestStaleProcfsRelative(t *testing.T) {
	dir := t.TempDir()
	childBind(t, dir, "rel.sock")
	rel := filepath.Join(dir, "rel.sock")
	code, out, errOut := runUdsls("--stale", "--source", "procfs", "-o", "json", dir)
	var doc render.StaleReportJSON
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("%v: %s %s", err, out, errOut)
	}
	// The probe proves it held: its own type is refused, the others are the wrong type.
	if code != exitOK || len(doc.Stale) > 0 {
		t.Errorf("exit %d, %s; stderr %q", code, out, errOut)
	}
	code, out, errOut = runUdsls("--stale", "--source", "procfs", "--remove", dir)
	if _, err := os.Lstat(rel); err != nil || code != exitOK {
		t.Errorf("--remove deleted the file of a bound socket: exit %d, %q %q", code, out, errOut)
	}
}

// TestStaleThroughProcRoot: /proc/PID/root/DIR resolves by name to our own
// DIR (the link reads "/"), so it was the host's DIR that was judged. It
// is refused, naming the way that works.
func TestStaleThroughProcRoot(t *testing.T) {
	testenv.NeedRoot(t, "unshare --mount and mount")
	testenv.NeedTool(t, "unshare", "util-linux")
	dir := t.TempDir()
	testutil.StaleSocket(t, filepath.Join(dir, "host.sock"), unix.SOCK_STREAM)
	cmd := exec.Command("unshare", "--mount", "--propagation", "private", "--", "sh", "-c",
		`mount -t tmpfs tmpfs "$1" && echo $$ && exec cat`, "sh", dir)
	line, _, _ := testutil.StartChild(t, cmd)
	pid := strings.TrimSpace(line)
	if _, err := strconv.Atoi(pid); err != nil {
		t.Fatalf("no pid from the child: %q", line)
	}
	code, out, errOut := runUdsls("--stale", "--remove", "/proc/"+pid+"/root"+dir)
	if code != exitError || out != "" || !strings.Contains(errOut, "--netns PID") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if _, err := os.Lstat(filepath.Join(dir, "host.sock")); err != nil {
		t.Errorf("the host's file: %v", err)
	}
	// Through our own root it is the same directory, and fine.
	if code, out, errOut := runUdsls("--stale", "/proc/self/root"+dir); code != exitNo {
		t.Errorf("/proc/self/root: exit %d, %q %q", code, out, errOut)
	}
}

// TestStaleLongName: a stale file whose name is 92 bytes or more could not
// be probed (its /proc/self/fd path passed 107 bytes) and was never judged.
func TestStaleLongName(t *testing.T) {
	py := testenv.NeedTool(t, "python3", "python3")
	dir := t.TempDir()
	name := strings.Repeat("n", 100)
	cmd := exec.Command(py, "-c", `import socket, sys
socket.socket(socket.AF_UNIX).bind(sys.argv[1])`, name)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	p := filepath.Join(dir, name)
	code, out, errOut := runUdsls("--stale", "--remove", dir)
	if code != exitOK || out != "removed "+p+"\n" || strings.Contains(errOut, "too long") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if _, err := os.Lstat(p); err == nil {
		t.Errorf("still there")
	}
}

// TestStaleUnreadableDir: a named directory that cannot be read at all
// looked at nothing, and said so with exit 0: a false green.
func TestStaleUnreadableDir(t *testing.T) {
	testenv.NeedRoot(t, "running udsls as nobody")
	testenv.NeedTool(t, "setpriv", "util-linux")
	bin := buildUdsls(t)
	base := t.TempDir()
	openUp(t, base)
	locked, open := filepath.Join(base, "locked"), filepath.Join(base, "open")
	mkdirs(t, base, "locked", "open")
	if err := os.Chmod(locked, 0o700); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := asNobody(t, bin, "--stale", locked)
	if code != exitError || out != "" || !strings.HasPrefix(errOut, "udsls: error: ") || !strings.Contains(errOut, "could be read") {
		t.Errorf("only an unreadable dir: exit %d, %q %q", code, out, errOut)
	}
	code, out, errOut = asNobody(t, bin, "--stale", locked, open)
	if code != exitOK || !strings.Contains(errOut, "could not be read") {
		t.Errorf("one readable dir: exit %d, %q %q", code, out, errOut)
	}
}

// TestDgramServerState: the kernel marks a bound datagram socket
// ESTABLISHED once anything connects to it and leaves it so; with no peer
// it is not connected to anything.
func TestDgramServerState(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "dgram.sock")
	srv, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: p, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	c, err := net.Dial("unixgram", p)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	// /proc/net/unix shows the same state and no peer to tell by.
	for _, source := range []string{"netlink"} {
		code, out, errOut := runUdsls("-a", "--source", source, "-o", "json", p)
		var listing render.ListingJSON
		if err := json.Unmarshal([]byte(out), &listing); err != nil || code != exitOK {
			t.Fatalf("%s: exit %d %v: %s %s", source, code, err, out, errOut)
		}
		if len(listing.Sockets) != 1 || listing.Sockets[0].State != inspect.StateUnconnected {
			t.Errorf("%s: %s", source, out)
		}
	}
}
