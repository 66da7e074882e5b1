//go:build linux

package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/udsls/udsls/inspect/render"
	"github.com/udsls/udsls/internal/testutil"
	"github.com/udsls/udsls/platform/testenv"

	"github.com/google/go-cmp/cmp"

	"github.com/udsls/udsls/inspect"
)

const nobodyID = "65534"

// asNobody runs the udsls binary as uid and gid 65534 without
// supplementary groups, with argv (such as unshare) in front.
func asNobody(t *testing.T, bin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	argv := append([]string{"--reuid=" + nobodyID, "--regid=" + nobodyID, "--clear-groups", bin}, args...)
	return runCmd(t, exec.Command("setpriv", argv...))
}

func runCmd(t *testing.T, cmd *exec.Cmd) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("%s: %v", cmd, err)
	}
	return cmd.ProcessState.ExitCode(), o.String(), e.String()
}

// listenAt binds a listener this process (root) holds until the test ends
// and gives its file mode.
func listenAt(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

func decodeListingJSON(t *testing.T, out string) *render.ListingJSON {
	t.Helper()
	var doc render.ListingJSON
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	return &doc
}

// unreadableWarning is the one line a non-root listing adds: other users'
// processes are there but their fds cannot be read.
var unreadableWarning = regexp.MustCompile(`^[0-9]+ process(es)? unreadable \(permission denied\); run as root for all owners$`)

// TestLowPriv runs the built binary as nobody against sockets root holds.
func TestLowPriv(t *testing.T) {
	testenv.NeedRoot(t, "switching to nobody needs root")
	testenv.NeedTool(t, "setpriv", "util-linux")
	bin := buildUdsls(t)
	root := t.TempDir()
	openUp(t, root)
	p := func(n string) string { return filepath.Join(root, n) }
	mkdirs(t, root, "open", "trav", "readonly", "locked")
	for n, m := range map[string]os.FileMode{"open": 0o777, "trav": 0o711, "readonly": 0o744, "locked": 0o700} {
		if err := os.Chmod(p(n), m); err != nil {
			t.Fatal(err)
		}
	}
	live := map[string]os.FileMode{
		"open/private.sock": 0o600, "open/public.sock": 0o777, "trav/live.sock": 0o600,
		"readonly/live.sock": 0o600, "locked/live.sock": 0o777,
	}
	for n, m := range live {
		listenAt(t, p(n), m)
	}
	dead := []string{"open/dead.sock", "trav/dead.sock", "readonly/dead.sock", "locked/dead.sock"}
	for _, n := range dead {
		testutil.StaleSocket(t, p(n), 1)
		if err := os.Chmod(p(n), 0o777); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("list", func(t *testing.T) {
		for _, source := range []string{"netlink", "procfs"} {
			pattern := filepath.Join(root, "*", "*.sock")
			code, out, errOut := asNobody(t, bin, "-a", "--source", source, "-o", "json", pattern)
			if code != exitOK {
				t.Fatalf("%s: exit %d, stderr %q", source, code, errOut)
			}
			requireOneWarning(t, source, errOut, unreadableWarning)
			doc := decodeListingJSON(t, out)
			if len(doc.Warnings) != 1 || !unreadableWarning.MatchString(doc.Warnings[0]) {
				t.Errorf("%s: JSON warnings %q, want the one on stderr", source, doc.Warnings)
			}
			var got []string
			for _, s := range doc.Sockets {
				if len(s.Processes) > 0 {
					t.Errorf("%s: %s shows holders %+v that nobody cannot see", source, s.Path, s.Processes)
				}
				if s.State == inspect.StateListening {
					got = append(got, s.Path)
				}
			}
			var want []string
			for n := range live {
				want = append(want, p(n))
			}
			if diff := cmp.Diff(sorted(want), sorted(got)); diff != "" {
				t.Errorf("%s: listeners seen by nobody (-want +got):\n%s", source, diff)
			}

			code, out, errOut = asNobody(t, bin, "--source", source, pattern)
			if code != exitOK {
				t.Fatalf("%s: table: exit %d, stderr %q", source, code, errOut)
			}
			requireOneWarning(t, source+" table", errOut, unreadableWarning)
			if n := strings.Count(out, "\n"); n != len(live)+1 {
				t.Errorf("%s: table of %d lines, want a header and %d listeners:\n%s", source, n, len(live), out)
			}
		}
	})

	t.Run("check", func(t *testing.T) {
		who := `uid 65534( \([^)]*\))?, gid 65534( \([^)]*\))?`
		tests := []struct {
			path, verdict, reason string
		}{
			{p("open/public.sock"), "up", `^stream socket accepting connections$`},
			{p("open/private.sock"), "denied", `^permission denied for ` + who + `: socket file is mode 0600, owner root:root$`},
			{p("locked/live.sock"), "denied", `^permission denied for ` + who + `: cannot search a directory on the path$`},
			{p("open/dead.sock"), "stale", `^socket file exists but nothing is listening \(connection refused\)$`},
		}
		var paths []string
		for _, tt := range tests {
			paths = append(paths, tt.path)
		}
		code, out, errOut := asNobody(t, bin, append([]string{"--check", "-o", "json"}, paths...)...)
		if code != exitNo {
			t.Errorf("exit %d, want %d; stderr %q", code, exitNo, errOut)
		}
		var doc render.ChecksJSON
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatalf("%v:\n%s", err, out)
		}
		if len(doc.Checks) != len(tests) {
			t.Fatalf("%d verdicts for %d paths:\n%s", len(doc.Checks), len(tests), out)
		}
		for i, tt := range tests {
			c := doc.Checks[i]
			// The holder is root's: nobody cannot name it.
			reason := strings.TrimSuffix(c.Reason, "; held by pid ?")
			if string(c.Verdict) != tt.verdict || !regexp.MustCompile(tt.reason).MatchString(reason) {
				t.Errorf("%s: %s: %q, want %s: %s", tt.path, c.Verdict, c.Reason, tt.verdict, tt.reason)
			}
		}
		code, out, _ = asNobody(t, bin, "--check", p("open/private.sock"))
		if want := regexp.MustCompile(`^` + regexp.QuoteMeta(p("open/private.sock")) + `: denied: permission denied for ` + who + `: socket file is mode 0600, owner root:root\n$`); code != exitNo || !want.MatchString(out) {
			t.Errorf("text: exit %d, %q, want 1 and %s", code, out, want)
		}
	})
	t.Run("stale", func(t *testing.T) {
		for _, source := range []string{"netlink", "procfs"} {
			code, out, errOut := asNobody(t, bin, "--stale", root, "--source", source, "-o", "json")
			if code != exitNo {
				t.Errorf("%s: exit %d, want %d; stderr %q", source, code, exitNo, errOut)
			}
			doc := decodeStale(t, []byte(out))
			// Only open/dead.sock can be proved stale by nobody: trav and
			// locked cannot be listed, readonly's entries cannot be
			// examined.
			if diff := cmp.Diff([]string{p("open/dead.sock")}, doc.paths()); diff != "" {
				t.Errorf("%s: stale as nobody (-want +got):\n%s", source, diff)
			}
			if w := "3 directories could not be read (permission denied)"; !slices.ContainsFunc(doc.Warnings, func(s string) bool { return strings.HasPrefix(s, w) }) {
				t.Errorf("%s: warnings %q lack %q", source, doc.Warnings, w)
			}
			// A directory nobody may only traverse, given alone: nothing
			// could be looked at, which is an error, not a clean result.
			code, out, errOut = asNobody(t, bin, "--stale", p("trav"), "--source", source, "-o", "json")
			if code != exitError || out != "" || !strings.Contains(errOut, "no directory given could be read (permission denied)") {
				t.Errorf("%s: --stale %s: exit %d, stdout %q, stderr %q", source, p("trav"), code, out, errOut)
			}
		}
		code, out, errOut := asNobody(t, bin, "--stale", root, "--remove")
		if code != exitOK || out != "removed "+p("open/dead.sock")+"\n" {
			t.Errorf("--remove: exit %d, stdout %q, stderr %q", code, out, errOut)
		}
		for n := range live {
			if _, err := os.Lstat(p(n)); err != nil {
				t.Errorf("live socket file: %v", err)
			}
		}
		for _, n := range dead[1:] {
			if _, err := os.Lstat(p(n)); err != nil {
				t.Errorf("a file nobody could not judge: %v", err)
			}
		}
	})

}

// requireOneWarning requires stderr to be exactly one warning line that
// matches re.
func requireOneWarning(t *testing.T, what, stderr string, re *regexp.Regexp) {
	t.Helper()
	line, ok := strings.CutPrefix(stderr, "udsls: warning: ")
	line, nl := strings.CutSuffix(line, "\n")
	if !ok || !nl || strings.Contains(line, "\n") || !re.MatchString(line) {
		t.Errorf("%s: stderr %q, want one warning line matching %s", what, stderr, re)
	}
}

// TestLowPrivHidepid lists as nobody with procfs mounted hidepid=1 and 2
// (other users' /proc/PID unreadable, or invisible) in a new pid and mount
// namespace, whose root process holds a socket: the listing must work and
// say once that holders are hidden, in each case.
func TestLowPrivHidepid(t *testing.T) {
	testenv.NeedRoot(t, "mounting procfs and switching to nobody need root")
	for _, tool := range []string{"unshare", "setpriv"} {
		if _, err := exec.LookPath(tool); err != nil {
			testenv.Skipf(t, testenv.Tools, "%s (util-linux) is needed: %v", tool, err)
		}
	}
	bin := buildUdsls(t)
	dir := t.TempDir()
	openUp(t, dir)
	mnt := filepath.Join(dir, "proc")
	sock := filepath.Join(dir, "root.sock")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	f, err := l.(*net.UnixListener).File()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	// The shell is pid 1 of the new pid namespace, runs as root and holds
	// the listener at fd 3; udsls runs as nobody without it.
	const script = `mount -t proc -o "hidepid=$1" proc "$2" || exit 97
shift 2
if [ "$1" = root ]; then shift; "$@" 3>&-; else shift; setpriv --reuid=65534 --regid=65534 --clear-groups "$@" 3>&-; fi`
	tests := []struct {
		hidepid, user string
		warning       *regexp.Regexp // nil: none
		holders       int
	}{
		{"1", "nobody", regexp.MustCompile(`^1 process unreadable \(permission denied\); run as root for all owners$`), 0},
		{"2", "nobody", regexp.MustCompile(`^other users' processes are hidden \(` + regexp.QuoteMeta(mnt) + ` is mounted with hidepid=invisible\); their sockets show no owner; run as root for all owners$`), 0},
		{"2", "root", nil, 1},
	}
	for _, tt := range tests {
		t.Run("hidepid="+tt.hidepid+"/"+tt.user, func(t *testing.T) {
			cmd := exec.Command("unshare", "--mount", "--pid", "--fork", "sh", "-c", script, "sh", tt.hidepid, mnt, tt.user,
				bin, "--proc-root", mnt, "-o", "json", sock)
			cmd.ExtraFiles = []*os.File{f}
			code, out, errOut := runCmd(t, cmd)
			switch {
			case code == 97:
				testenv.Skipf(t, testenv.Root, "this machine does not allow mounting procfs with hidepid: %s", strings.TrimSpace(errOut))
			case code != exitOK && strings.HasPrefix(errOut, "unshare:"):
				testenv.Skipf(t, testenv.Root, "this machine does not allow new pid and mount namespaces: %s", strings.TrimSpace(errOut))
			case code != exitOK:
				t.Fatalf("exit %d, stderr %q", code, errOut)
			}
			doc := decodeListingJSON(t, out)
			if len(doc.Sockets) != 1 || len(doc.Sockets[0].Processes) != tt.holders {
				t.Fatalf("want %s with %d holders:\n%s", sock, tt.holders, out)
			}
			if tt.warning == nil {
				if errOut != "" || len(doc.Warnings) > 0 {
					t.Errorf("stderr %q, JSON warnings %q, want none", errOut, doc.Warnings)
				}
				return
			}
			requireOneWarning(t, "stderr", errOut, tt.warning)
			if len(doc.Warnings) != 1 || !tt.warning.MatchString(doc.Warnings[0]) {
				t.Errorf("JSON warnings %q, want the one on stderr", doc.Warnings)
			}
		})
	}
}
