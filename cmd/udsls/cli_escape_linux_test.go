//go:build linux

package main

import (
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/udsls/udsls/internal/testutil"

	"golang.org/x/sys/unix"

	"github.com/udsls/udsls/inspect"
	"github.com/udsls/udsls/inspect/render"
	"github.com/udsls/udsls/platform/testenv"
)

// longName is a directory name an unprivileged user may choose: an
// escape sequence, padded to the longest name a filesystem takes.
var longName = "\x1b[31m" + strings.Repeat("d", 250)

// deepTree makes levels directories named longName under dir, one in the
// other, owned by nobody, and returns a descriptor of the deepest: their
// path is longer than PATH_MAX, so only *at calls reach it.
func deepTree(t *testing.T, dir string, levels int) int {
	t.Helper()
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	return deepTreeAt(t, fd, levels)
}

// TestStderrEscapesOSErrors runs the real binary as root where OS errors
// quote paths that an unprivileged user named with escape sequences: a
// socket reached through symlinks into a tree deeper than PATH_MAX
// (--audit cannot lstat it), and a symlink to a path with an over-long
// component (--check). No raw control byte may reach either stream.
func TestStderrEscapesOSErrors(t *testing.T) {
	testenv.NeedRoot(t, "directories are made for nobody and audited as root")
	bin := buildUdsls(t)
	root := t.TempDir()

	// root/l1 -> 9 levels; in there l2 -> 9 more: each symlink target is
	// below PATH_MAX, the path they lead to is not.
	top := deepTree(t, root, 9)
	first, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(top))
	if err != nil {
		t.Fatal(err)
	}
	bottom := deepTreeAt(t, top, 9)
	if err := unix.Fchmod(bottom, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(first, filepath.Join(root, "l1")); err != nil {
		t.Fatal(err)
	}
	rel := strings.TrimSuffix(strings.Repeat(longName+"/", 9), "/")
	if err := unix.Symlinkat(rel, top, "l2"); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(root, "l1", "l2", "s.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })

	short := filepath.Join(root, "short")
	if err := os.Symlink(filepath.Join(root, "\x1b[2J"+strings.Repeat("a", 300), "s.sock"), short); err != nil {
		t.Fatal(err)
	}

	for _, tt := range []struct {
		args []string
		want string // in stdout or stderr: the case happened
	}{
		{[]string{"--audit", sock}, "file name too long"},
		{[]string{"--audit", "-o", "json", sock}, "file name too long"},
		{[]string{"--check", short}, "file name too long"},
		{[]string{"--check", "-o", "json", short}, ""},
		{[]string{"--stale", filepath.Join(root, "l1", "l2")}, "file name too long"},
		{[]string{"--stale", "--max-depth", "40", root}, ""},
	} {
		code, out, errOut := runCmd(t, exec.Command(bin, tt.args...))
		t.Logf("%q: exit %d", tt.args, code)
		if !strings.Contains(out+errOut, tt.want) {
			t.Errorf("%q: neither stream says %q; stdout:\n%s\nstderr:\n%s", tt.args, tt.want, out, errOut)
		}
		requireMessages(t, strings.Join(tt.args, " ")+": stderr", errOut)
		requireSafeText(t, strings.Join(tt.args, " ")+": stdout", out)
	}
}

// deepTreeAt is deepTree below a directory descriptor.
func deepTreeAt(t *testing.T, dirfd, levels int) int {
	t.Helper()
	fd, err := unix.Openat(dirfd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	for range levels {
		if err := unix.Mkdirat(fd, longName, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := unix.Fchownat(fd, longName, 65534, 65534, 0); err != nil {
			t.Fatal(err)
		}
		next, err := unix.Openat(fd, longName, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		unix.Close(fd)
		if err != nil {
			t.Fatal(err)
		}
		fd = next
	}
	t.Cleanup(func() { unix.Close(fd) })
	return fd
}

// requireMessages checks stderr: lines of "udsls: KIND: " and safe text.
func requireMessages(t *testing.T, what, errOut string) {
	t.Helper()
	requireSafeText(t, what, errOut)
	for _, line := range strings.SplitAfter(errOut, "\n") {
		if line == "" {
			continue
		}
		if !strings.HasSuffix(line, "\n") || !strings.HasPrefix(line, "udsls: ") {
			t.Errorf("%s: line %q is not one udsls message", what, line)
		}
	}
}

// TestRelativeAtApartFromAbstract binds a file by the relative name "@x"
// and the abstract name "@x": the table and the Prometheus labels must
// tell them apart, JSON by its abstract field. A file bound as
// "(unnamed)" must not pass for an unnamed socket either.
func TestRelativeAtApartFromAbstract(t *testing.T) {
	dir := t.TempDir()
	name := "@udsls-at-" + strconv.Itoa(os.Getpid())
	if err := testutil.ChildListen(t, dir, name); err != nil {
		t.Fatalf("binding %q in %s: %v", name, dir, err)
	}
	hostileSocket(t, name, false) // abstract
	if err := testutil.ChildListen(t, dir, "(unnamed)"); err != nil {
		t.Fatalf("binding (unnamed) in %s: %v", dir, err)
	}

	// A pattern with a leading @ selects abstract names; the relative
	// file is found by its name alone.
	code, out, errOut := runUdsls("-l")
	if code != exitOK {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	var rows []string
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) > 0 && strings.HasSuffix(f[0], name[1:]) {
			rows = append(rows, f[0])
		}
	}
	slices.Sort(rows)
	if want := []string{name, `\x40` + name[1:]}; !slices.Equal(rows, want) {
		t.Errorf("table rows %q, want %q", rows, want)
	}
	// -l shows no unnamed socket: a "(unnamed)" row is the relative file.
	if !strings.Contains(out, "\n"+`\x28unnamed)`+" ") || strings.Contains(out, "\n(unnamed) ") {
		t.Errorf("the file bound as (unnamed) does not show as \\x28unnamed):\n%s", out)
	}

	code, out, errOut = runUdsls("-l", "-o", "prometheus")
	if code != exitOK {
		t.Fatalf("prometheus: exit %d, stderr %q", code, errOut)
	}
	var series []string
	for k := range parseProm(t, out) {
		if strings.HasPrefix(k, "udsls_listener_connections{") && strings.Contains(k, name[1:]) {
			// Both are in this network namespace; the path alone must tell them apart.
			series = append(series, regexp.MustCompile(`netns="[0-9]+",`).ReplaceAllString(k, ""))
		}
	}
	slices.Sort(series)
	want := []string{
		`udsls_listener_connections{container="",path="` + name + `"}`,
		`udsls_listener_connections{container="",path="\\x40` + name[1:] + `"}`,
	}
	if !slices.Equal(series, want) {
		t.Errorf("series %q, want %q", series, want)
	}

	code, out, _ = runUdsls("-l", "-o", "json")
	if code != exitOK {
		t.Fatalf("json: exit %d", code)
	}
	var doc render.ListingJSON
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	abstract := map[bool]int{}
	for _, s := range doc.Sockets {
		if s.Path == name {
			abstract[s.Abstract]++
		}
	}
	if abstract[true] != 1 || abstract[false] != 1 {
		t.Errorf("JSON has %d abstract and %d relative %q, want one each", abstract[true], abstract[false], name)
	}
}

// TestJSONExactBytes holds a socket whose name is not UTF-8 in a process
// whose command is not either, and connects to it: the command, the
// listener's path and the client's peer path must each come back exactly
// from their *_bytes companions.
func TestJSONExactBytes(t *testing.T) {
	sleep := testenv.NeedTool(t, "sleep", "coreutils")
	dir := t.TempDir()
	const command = "bad\xff\xfecmd"
	exe := filepath.Join(dir, command)
	data, err := os.ReadFile(sleep)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(exe, data, 0o755); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "bad\xc3\x28.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	f, err := l.(*net.UnixListener).File()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "600")
	cmd.ExtraFiles = []*os.File{f}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	a, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })

	code, out, errOut := runUdsls("-a", "-o", "json", "--pid", strconv.Itoa(os.Getpid())+","+strconv.Itoa(cmd.Process.Pid))
	if code != exitOK {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	var doc render.ListingJSON
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	var listener, client bool
	for _, s := range doc.Sockets {
		switch {
		case exactPath(s.Path, s.PathBytes) == sock && s.State == inspect.StateListening:
			listener = true
			if !slices.ContainsFunc(s.Processes, func(p render.ProcessJSON) bool {
				return exactPath(p.Command, p.CommandBytes) == command
			}) {
				t.Errorf("listener holders %+v, want one whose command_bytes give %q", s.Processes, command)
			}
		case s.Peer != nil && exactPath(s.Peer.Path, s.Peer.PathBytes) == sock:
			client = true
			if s.PeerID != s.Peer.ID || s.Peer.ID != "0x"+strconv.FormatUint(uint64(s.Peer.Inode), 16) {
				t.Errorf("client: peer_id %q, peer.id %q, peer.inode %d do not agree", s.PeerID, s.Peer.ID, s.Peer.Inode)
			}
		}
	}
	if !listener || !client {
		t.Errorf("listener found %v, client with the exact peer path found %v:\n%s", listener, client, out)
	}
}

// TestCaptureIDsSurviveDoubles reads a real FreeBSD capture, whose kernel
// addresses are above 2^53, and passes the JSON twice through a decoder
// that reads numbers as doubles, as jq and JavaScript do: the id and
// peer_id strings must still name every socket exactly. The table's PEER
// must show the addresses as the capture has them.
func TestCaptureIDsSurviveDoubles(t *testing.T) {
	capture := filepath.Join("..", "..", "testdata", "macos", "freebsd-netstat-Aa-jc-freebsd12.txt")
	raw, err := os.ReadFile(capture)
	if err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runUdsls("-a", "--peers", "-o", "json", "--from", "netstat:"+capture)
	if code != exitOK {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	var exact render.ListingJSON
	if err := json.Unmarshal([]byte(out), &exact); err != nil {
		t.Fatal(err)
	}
	var doc any
	for range 2 {
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		out = string(b)
	}
	socks := doc.(map[string]any)["sockets"].([]any)
	if len(socks) != len(exact.Sockets) || len(socks) < 10 {
		t.Fatalf("%d sockets after the round trip, %d before", len(socks), len(exact.Sockets))
	}
	ids, rounded := map[string]bool{}, map[float64]bool{}
	for i, s := range socks {
		m := s.(map[string]any)
		e := &exact.Sockets[i]
		for _, f := range []struct {
			name string
			want inspect.SocketID
		}{{"id", e.Inode}, {"peer_id", e.PeerInode}} {
			got, _ := m[f.name].(string)
			if f.want == 0 && got == "" {
				continue
			}
			v, err := strconv.ParseUint(strings.TrimPrefix(got, "0x"), 16, 64)
			if err != nil || !strings.HasPrefix(got, "0x") || inspect.SocketID(v) != f.want {
				t.Errorf("socket %d: %s %q after two doubles, want 0x%x", i, f.name, got, uint64(f.want))
			}
			if f.name == "peer_id" && !strings.Contains(string(raw), strings.TrimPrefix(got, "0x")) {
				t.Errorf("socket %d: peer_id %q is not in the capture", i, got)
			}
		}
		ids[m["id"].(string)] = true
		rounded[m["inode"].(float64)] = true
	}
	t.Logf("%d sockets: %d distinct ids, %d distinct inode numbers once read as doubles", len(socks), len(ids), len(rounded))
	if len(ids) != len(socks) {
		t.Errorf("%d distinct ids for %d sockets", len(ids), len(socks))
	}

	code, table, errOut := runUdsls("-a", "--peers", "--from", "netstat:"+capture)
	if code != exitOK {
		t.Fatalf("table: exit %d, stderr %q", code, errOut)
	}
	peers := 0
	for _, l := range strings.Split(strings.TrimSpace(table), "\n")[1:] {
		f := strings.Fields(l)
		for _, p := range strings.Split(f[len(f)-1], ",") {
			if strings.HasPrefix(p, "0x") {
				peers++
				if !strings.Contains(string(raw), p[2:]) {
					t.Errorf("PEER %s is not an address of the capture", p)
				}
			}
		}
	}
	if peers == 0 || strings.Contains(table, "inode ") {
		t.Errorf("the table shows %d peers as 0x addresses and decimal inodes %v:\n%s", peers, strings.Contains(table, "inode "), table)
	}
}
