//go:build linux

package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/udsls/udsls/internal/testutil"
	"github.com/udsls/udsls/platform/testenv"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

// staleDoc mirrors the JSON README.md documents for udsls --stale.
type staleDoc struct {
	Stale []struct {
		Path      string `json:"path"`
		PathBytes []byte `json:"path_bytes"`
		UID       uint32 `json:"uid"`
		Owner     string `json:"owner"`
		GID       uint32 `json:"gid"`
		Group     string `json:"group"`
		Mode      string `json:"mode"`
		MTime     string `json:"mtime"`
		Reason    string `json:"reason"`
		Removed   bool   `json:"removed"`
	} `json:"stale"`
	Unreachable []struct {
		Path       string `json:"path"`
		Type       string `json:"type"`
		State      string `json:"state"`
		FileStatus string `json:"file_status"`
		Processes  []struct {
			PID int `json:"pid"`
		} `json:"processes"`
	} `json:"unreachable"`
	Warnings []string `json:"warnings"`
}

// paths lists the stale files, exact bytes recovered from path_bytes.
func (d *staleDoc) paths() []string {
	var out []string
	for _, s := range d.Stale {
		p := s.Path
		if s.PathBytes != nil {
			p = string(s.PathBytes)
		}
		out = append(out, p)
	}
	return out
}

func decodeStale(t *testing.T, b []byte) *staleDoc {
	t.Helper()
	var d staleDoc
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("decoding %s: %v", b, err)
	}
	return &d
}

// staleCLITree builds live listeners of every kind and stale files next to
// them, and returns the stale files' paths, sorted.
func staleCLITree(t *testing.T, root string) []string {
	t.Helper()
	p := func(n string) string { return filepath.Join(root, n) }
	mkdirs(t, root, "live", "a/b/c", "rel", "netns", "links")

	stream, err := net.Listen("unix", p("live/stream.sock"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stream.Close() })
	seq, err := net.Listen("unixpacket", p("live/seq.sock"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { seq.Close() })
	dgram, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: p("live/dgram.sock"), Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dgram.Close() })
	if err := testutil.ChildListen(t, p("rel"), "rel.sock"); err != nil {
		t.Fatal(err)
	}
	if err := testutil.ChildListen(t, p("netns"), "ns.sock", "unshare", "--net"); err != nil {
		testenv.Skipf(t, testenv.Root, "cannot bind in a new network namespace (unshare needs CAP_SYS_ADMIN): %v", err)
	}

	stale := map[string]int{
		"s1.sock":         unix.SOCK_STREAM,
		"a/s2.sock":       unix.SOCK_DGRAM,
		"a/b/c/s3.sock":   unix.SOCK_SEQPACKET,
		"with space.sock": unix.SOCK_STREAM,
		"new\nline.sock":  unix.SOCK_STREAM,
		"bad\xff.sock":    unix.SOCK_STREAM,
	}
	var want []string
	for n, typ := range stale {
		testutil.StaleSocket(t, p(n), typ)
		want = append(want, p(n))
	}
	slices.Sort(want)
	if err := os.Symlink(p("s1.sock"), p("links/to-stale.sock")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(p("live/stream.sock"), p("links/to-live.sock")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p("x.sock"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return want
}

// TestStaleCLI runs a scan, a dry run, a removal and a rescan on a tree
// of live and stale sockets, with each backend: netlink knows the bound
// files' identity, procfs only their names.
func TestStaleCLI(t *testing.T) {
	for _, source := range []string{"netlink", "procfs"} {
		t.Run(source, func(t *testing.T) {
			if code, _, errOut := runUdsls("--source", source, "-a"); code == exitError {
				testenv.Skipf(t, testenv.Root, "the %s source is not available: %s", source, errOut)
			}
			testStaleCLI(t, source)
		})
	}
}

func testStaleCLI(t *testing.T, source string) {
	runUdsls := func(args ...string) (int, string, string) {
		return runUdsls(append([]string{"--source", source}, args...)...)
	}
	root := t.TempDir()
	want := staleCLITree(t, root)

	code, out, errOut := runUdsls("--stale", "-o", "json", root)
	if code != exitNo {
		t.Fatalf("--stale: exit %d, want %d (stderr %q)", code, exitNo, errOut)
	}
	doc := decodeStale(t, []byte(out))
	if diff := cmp.Diff(want, doc.paths()); diff != "" {
		t.Errorf("--stale (-want +got):\n%s", diff)
	}
	for _, s := range doc.Stale {
		if s.Mode == "" || s.MTime == "" || s.Reason == "" || s.Owner == "" || s.Removed {
			t.Errorf("incomplete entry %+v", s)
		}
	}
	if len(doc.Unreachable) != 0 {
		t.Errorf("unreachable %+v, want none", doc.Unreachable)
	}

	code, out, errOut = runUdsls("--stale", "--remove", "--dry-run", root)
	if code != exitNo {
		t.Errorf("--dry-run: exit %d, want %d (stderr %q)", code, exitNo, errOut)
	}
	var wantLines []string
	for _, p := range want {
		wantLines = append(wantLines, "would remove "+strings.ReplaceAll(strings.ReplaceAll(p, "\n", `\n`), "\xff", `\xff`))
	}
	if diff := cmp.Diff(wantLines, strings.Split(strings.TrimSuffix(out, "\n"), "\n")); diff != "" {
		t.Errorf("--dry-run stdout (-want +got):\n%s", diff)
	}
	for _, p := range want {
		if _, err := os.Lstat(p); err != nil {
			t.Errorf("--dry-run removed %q: %v", p, err)
		}
	}

	code, out, errOut = runUdsls("--stale", "--remove", root)
	if code != exitOK || strings.Contains(errOut, "not removing") {
		t.Errorf("--remove: exit %d, stderr %q; want %d and no refusals", code, errOut, exitOK)
	}
	for i := range wantLines {
		wantLines[i] = strings.Replace(wantLines[i], "would remove ", "removed ", 1)
	}
	if diff := cmp.Diff(wantLines, strings.Split(strings.TrimSuffix(out, "\n"), "\n")); diff != "" {
		t.Errorf("--remove stdout (-want +got):\n%s", diff)
	}
	// Exactly the stale files went: everything else is still there.
	var left []string
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			left = append(left, strings.TrimPrefix(p, root+"/"))
		}
		return nil
	})
	wantLeft := []string{"links/to-live.sock", "links/to-stale.sock", "live/dgram.sock", "live/seq.sock", "live/stream.sock", "netns/ns.sock", "rel/rel.sock", "x.sock"}
	if diff := cmp.Diff(wantLeft, left); diff != "" {
		t.Errorf("files left (-want +got):\n%s", diff)
	}

	code, out, errOut = runUdsls("--stale", root)
	if code != exitOK || out != "" {
		t.Errorf("after --remove: exit %d, stdout %q, stderr %q; want %d and no output", code, out, errOut, exitOK)
	}

	// A listener whose file was deleted cannot be reached: it is reported,
	// but gating on it is --audit's job (file-gone); --stale fails only
	// for what --remove can act on.
	gone, err := net.Listen("unix", filepath.Join(root, "gone.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer gone.Close()
	gone.(*net.UnixListener).SetUnlinkOnClose(false)
	if err := os.Remove(filepath.Join(root, "gone.sock")); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = runUdsls("--stale", "-o", "json", root)
	if code != exitOK {
		t.Errorf("unreachable listener: exit %d, want %d (stderr %q)", code, exitOK, errOut)
	}
	doc = decodeStale(t, []byte(out))
	if len(doc.Stale) != 0 || len(doc.Unreachable) != 1 || doc.Unreachable[0].Path != filepath.Join(root, "gone.sock") ||
		doc.Unreachable[0].FileStatus != "gone" || doc.Unreachable[0].State != "listening" ||
		len(doc.Unreachable[0].Processes) == 0 || doc.Unreachable[0].Processes[0].PID != os.Getpid() {
		t.Errorf("unreachable listener: got %+v", doc)
	}
}

func TestStaleExitCodes(t *testing.T) {
	empty := t.TempDir()
	withStale := t.TempDir()
	testutil.StaleSocket(t, filepath.Join(withStale, "s.sock"), unix.SOCK_STREAM)
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string // a substring
	}{
		{"nothing stale", []string{"--stale", empty}, exitOK, ""},
		{"stale found", []string{"--stale", withStale}, exitNo, ""},
		{"missing directory", []string{"--stale", filepath.Join(empty, "missing")}, exitError, "no such file or directory"},
		{"not a directory", []string{"--stale", filepath.Join(withStale, "s.sock")}, exitError, "not a directory"},
		{"remove without stale", []string{"--remove", empty}, exitError, "--remove requires --stale"},
		{"negative max depth", []string{"--stale", "--max-depth", "-1", empty}, exitError, "invalid --max-depth -1"},
		{"bad max depth", []string{"--stale", "--max-depth", "deep", empty}, exitError, "--max-depth"},
		{"dry run without remove", []string{"--stale", "--dry-run", empty}, exitError, "--dry-run goes with --remove"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errOut := runUdsls(tt.args...)
			if code != tt.code || !strings.Contains(errOut, tt.stderr) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, errOut, tt.code, tt.stderr)
			}
			if tt.code == exitError && !strings.HasPrefix(errOut, "udsls: error: ") {
				t.Errorf("stderr %q does not start with udsls: error:", errOut)
			}
		})
	}
	if _, err := os.Lstat(filepath.Join(withStale, "s.sock")); err != nil {
		t.Errorf("a scan without --remove removed a file: %v", err)
	}
}

// TestStaleRemoveRace changes the file between the scan and its removal.
func TestStaleRemoveRace(t *testing.T) {
	tests := []struct {
		name    string
		replace func(t *testing.T, p string)
		check   func(t *testing.T, p string)
	}{
		{"regular file", func(t *testing.T, p string) {
			if err := os.WriteFile(p, []byte("data"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, func(t *testing.T, p string) {
			if b, err := os.ReadFile(p); string(b) != "data" {
				t.Errorf("the regular file was touched: %q, %v", b, err)
			}
		}},
		{"live listener", func(t *testing.T, p string) {
			l, err := net.Listen("unix", p)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { l.Close() })
		}, func(t *testing.T, p string) {
			c, err := net.Dial("unix", p)
			if err != nil {
				t.Errorf("the new listener is unreachable: %v", err)
				return
			}
			c.Close()
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "s.sock")
			testutil.StaleSocket(t, p, unix.SOCK_STREAM)
			beforeRemove = func(path string) {
				if path != p {
					t.Errorf("removing %q, want %q", path, p)
				}
				if err := os.Remove(p); err != nil {
					t.Fatal(err)
				}
				tt.replace(t, p)
			}
			defer func() { beforeRemove = nil }()
			code, out, errOut := runUdsls("--stale", "--remove", dir)
			if code != exitNo || out != "" {
				t.Errorf("exit %d, stdout %q; want %d and nothing", code, out, exitNo)
			}
			if want := "\nudsls: warning: not removing \"" + p + "\": changed since the scan: "; !strings.Contains("\n"+errOut, want) {
				t.Errorf("stderr %q lacks a line starting %q", errOut, want[1:])
			}
			tt.check(t, p)
		})
	}
}

// TestStaleUnprivileged runs udsls as nobody: a directory it cannot read
// and a socket it may not connect to are warned about, never called stale.
func TestStaleUnprivileged(t *testing.T) {
	testenv.NeedTool(t, "setpriv", "util-linux")
	testenv.NeedRoot(t, "switching to nobody needs root")
	bin := buildUdsls(t)
	root := t.TempDir()
	openUp(t, root)
	p := func(n string) string { return filepath.Join(root, n) }
	mkdirs(t, root, "open", "locked")
	for _, n := range []string{"open/s.sock", "open/private.sock", "locked/s.sock"} {
		testutil.StaleSocket(t, p(n), unix.SOCK_STREAM)
	}
	for n, m := range map[string]os.FileMode{"open": 0o777, "open/s.sock": 0o777, "open/private.sock": 0o600, "locked": 0o700} {
		if err := os.Chmod(p(n), m); err != nil {
			t.Fatal(err)
		}
	}
	nobody := func(args ...string) (int, *staleDoc, string) {
		cmd := exec.Command("setpriv", append([]string{"--reuid=65534", "--regid=65534", "--clear-groups", bin}, args...)...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatal(err)
		}
		var doc *staleDoc
		if slices.Contains(args, "json") {
			doc = decodeStale(t, stdout.Bytes())
		}
		return cmd.ProcessState.ExitCode(), doc, stderr.String()
	}

	code, doc, errOut := nobody("--stale", "-o", "json", root)
	if code != exitNo {
		t.Errorf("exit %d, want %d (stderr %q)", code, exitNo, errOut)
	}
	if diff := cmp.Diff([]string{p("open/s.sock")}, doc.paths()); diff != "" {
		t.Errorf("stale as nobody (-want +got):\n%s", diff)
	}
	for _, w := range []string{
		"1 directories could not be read (permission denied)",
		`socket file "` + p("open/private.sock") + `" could not be checked (permission denied)`,
	} {
		if !slices.ContainsFunc(doc.Warnings, func(s string) bool { return strings.HasPrefix(s, w) }) {
			t.Errorf("warnings %q lack %q", doc.Warnings, w)
		}
		if !strings.Contains(errOut, "udsls: warning: "+w) {
			t.Errorf("stderr %q lacks %q", errOut, w)
		}
	}

	code, _, errOut = nobody("--stale", "--remove", root)
	if code != exitOK {
		t.Errorf("--remove as nobody: exit %d, want %d (stderr %q)", code, exitOK, errOut)
	}
	for n, want := range map[string]bool{"open/s.sock": false, "open/private.sock": true, "locked/s.sock": true} {
		if _, err := os.Lstat(p(n)); (err == nil) != want {
			t.Errorf("%s exists: %v, want %v", n, err == nil, want)
		}
	}
}

// TestStaleCrossFS mounts a tmpfs inside the tree, in a private mount
// namespace, and runs udsls there with and without --cross-fs.
func TestStaleCrossFS(t *testing.T) {
	py := testenv.NeedTool(t, "python3", "python3")
	bin := buildUdsls(t)
	root := t.TempDir()
	mkdirs(t, root, "mnt")
	testutil.StaleSocket(t, filepath.Join(root, "top.sock"), unix.SOCK_STREAM)
	const script = `mount -t tmpfs tmpfs "$1/mnt" || exit 99
"$2" -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$1/mnt/inner.sock" || exit 99
"$3" --stale -o json "$1"
"$3" --stale --cross-fs -o json "$1"
exit 0`
	cmd := exec.Command("unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", root, py, bin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if strings.Contains(stderr.String(), "Operation not permitted") {
			testenv.Skipf(t, testenv.Root, "cannot make a mount namespace (needs CAP_SYS_ADMIN): %s", stderr.String())
		}
		t.Fatalf("%v: %s", err, stderr.String())
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	var same, cross staleDoc
	if err := dec.Decode(&same); err != nil {
		t.Fatal(err)
	}
	if err := dec.Decode(&cross); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{filepath.Join(root, "top.sock")}, same.paths()); diff != "" {
		t.Errorf("without --cross-fs (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{filepath.Join(root, "mnt/inner.sock"), filepath.Join(root, "top.sock")}, cross.paths()); diff != "" {
		t.Errorf("with --cross-fs (-want +got):\n%s", diff)
	}
}

// TestStaleDefaultDirs relies on the defaults: $XDG_RUNTIME_DIR is walked,
// and only once although it lies under /tmp.
func TestStaleDefaultDirs(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "s.sock")
	testutil.StaleSocket(t, p, unix.SOCK_STREAM)
	t.Setenv("XDG_RUNTIME_DIR", dir)
	code, out, errOut := runUdsls("--stale", "-o", "json")
	if code != exitNo {
		t.Errorf("exit %d, want %d (stderr %q)", code, exitNo, errOut)
	}
	n := 0
	for _, got := range decodeStale(t, []byte(out)).paths() {
		if got == p {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%q reported %d times, want once", p, n)
	}
}

// TestProgressLineQuiet: -q silences the progress line of a long walk on
// a terminal, as it does every other line that is not an error.
func TestProgressLineQuiet(t *testing.T) {
	for _, quiet := range []bool{false, true} {
		e := &env{stderr: &stderr{w: io.Discard, tty: true}, quiet: quiet}
		draw, erase := progressLine(e)
		erase()
		if (draw == nil) != quiet {
			t.Errorf("-q %v on a terminal: progress line drawn: %v, want %v", quiet, draw != nil, !quiet)
		}
	}
}
