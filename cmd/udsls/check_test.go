//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/udsls/udsls/internal/testutil"
	"github.com/udsls/udsls/platform/testenv"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"golang.org/x/sys/unix"
)

// checkDoc mirrors the JSON of udsls --check -o json as README.md
// documents it, so that a renamed field fails here.
type checkDoc struct {
	Checks []struct {
		Path       string  `json:"path"`
		Healthy    bool    `json:"healthy"`
		Verdict    string  `json:"verdict"`
		Reason     string  `json:"reason"`
		Type       *string `json:"type"`
		Target     *string `json:"target"`
		Mode       *string `json:"mode"`
		Owner      *string `json:"owner"`
		Group      *string `json:"group"`
		UID        *uint32 `json:"uid"`
		GID        *uint32 `json:"gid"`
		Mismatches []struct {
			Field string `json:"field"`
			Want  string `json:"want"`
			Got   string `json:"got"`
		} `json:"mismatches"`
		Processes []struct {
			PID     int     `json:"pid"`
			Command string  `json:"command"`
			User    string  `json:"user"`
			UID     *uint32 `json:"uid"`
			FD      int     `json:"fd"`
			Unit    *string `json:"unit"`
			FDName  *string `json:"fd_name"`
		} `json:"processes"`
	} `json:"checks"`
	Warnings []string `json:"warnings"`
}

func runCheckCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errw bytes.Buffer
	code = run(context.Background(), append([]string{"--check"}, args...), &out, &errw)
	return code, out.String(), errw.String()
}

func decodeChecks(t *testing.T, stdout string) checkDoc {
	t.Helper()
	var doc checkDoc
	dec := json.NewDecoder(strings.NewReader(stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("stdout is not the documented JSON: %v\n%s", err, stdout)
	}
	return doc
}

func staleSocket(t *testing.T, path string) {
	t.Helper()
	l := testutil.Listen(t, "unix", path)
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
}

func TestCheckExitCodes(t *testing.T) {
	dir := t.TempDir()
	live := filepath.Join(dir, "live.sock")
	testutil.Listen(t, "unix", live)
	if err := os.Chmod(live, 0o660); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(dir, "stale.sock")
	staleSocket(t, stale)
	missing := filepath.Join(dir, "missing.sock")

	tests := []struct {
		name    string
		args    []string
		code    int
		stderr  string // a line stderr must hold; "" for empty stderr
		noStdio bool   // -q: nothing at all on stdout
	}{
		{"healthy", []string{live}, exitOK, "", false},
		{"one of two unhealthy", []string{live, missing}, exitNo, "", false},
		{"stale", []string{stale}, exitNo, "", false},
		{"expectations met", []string{"--expect-mode", "0660", "--expect-type", "stream", "--expect-owner", fmt.Sprint(os.Geteuid()), live}, exitOK, "", false},
		{"expectation failed", []string{"--expect-type", "dgram", live}, exitNo, "", false},
		{"quiet healthy", []string{"-q", live}, exitOK, "", true},
		{"quiet unhealthy", []string{"--quiet", live, stale}, exitNo, "", true},
		{"wait gives up", []string{"--wait", "300ms", missing}, exitNo, "udsls: waited 300ms; 1 of 1 still not healthy", false},
		{"no path", nil, exitError, "udsls: error: --check needs at least one socket path", true},
		{"empty path", []string{live, ""}, exitError, `udsls: error: --check: the path "" is empty (an unset variable?)`, true},
		{"mode not octal", []string{"--expect-mode", "0689", live}, exitError, `udsls: error: --expect-mode: mode "0689": want octal digits such as 0660`, true},
		{"mode too large", []string{"--expect-mode", "17777", live}, exitError, `udsls: error: --expect-mode: mode "17777": larger than 07777`, true},
		{"unknown owner", []string{"--expect-owner", "no-such-user-udsls", live}, exitError, `udsls: error: --expect-owner: unknown user "no-such-user-udsls"`, true},
		{"unknown group", []string{"--expect-group", "no-such-group-udsls", live}, exitError, `udsls: error: --expect-group: unknown group "no-such-group-udsls"`, true},
		{"unknown type", []string{"--expect-type", "raw", live}, exitError, `udsls: error: --expect-type: unknown socket type "raw" (want stream, dgram or seqpacket)`, true},
		{"negative wait", []string{"--wait", "-1s", live}, exitError, "udsls: error: --wait -1s: must not be negative", true},
		{"zero timeout", []string{"--timeout", "0s", live}, exitError, "udsls: error: --timeout 0s: must be positive", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCheckCLI(t, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d (stdout %q, stderr %q)", code, tt.code, stdout, stderr)
			}
			if tt.noStdio && stdout != "" {
				t.Errorf("stdout = %q, want nothing", stdout)
			}
			if !tt.noStdio && stdout == "" {
				t.Error("stdout is empty, want verdicts")
			}
			lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
			if tt.stderr == "" && stderr != "" {
				t.Errorf("stderr = %q, want nothing", stderr)
			}
			if tt.stderr != "" && !slices.Contains(lines, tt.stderr) {
				t.Errorf("stderr = %q, want the line %q", stderr, tt.stderr)
			}
			if tt.code == exitError && !slices.Contains(lines, "udsls: hint: see 'udsls --help'") {
				t.Errorf("stderr = %q, want the --help hint", stderr)
			}
		})
	}
}

// selfCommand is how the listing names this test process.
func selfCommand(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/comm")
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSuffix(string(b), "\n")
}

// checkFixture makes one path of every kind a check tells apart.
func checkFixture(t *testing.T) (p func(string) string, paths []string) {
	t.Helper()
	dir := t.TempDir()
	p = func(name string) string { return filepath.Join(dir, name) }
	testutil.Listen(t, "unix", p("stream.sock"))
	if err := os.Chmod(p("stream.sock"), 0o660); err != nil {
		t.Fatal(err)
	}
	testutil.Listen(t, "unixpacket", p("seq.sock"))
	dg, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: p("dgram.sock"), Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dg.Close() })
	if err := os.Symlink(p("stream.sock"), p("link.sock")); err != nil {
		t.Fatal(err)
	}
	staleSocket(t, p("stale.sock"))
	if err := os.WriteFile(p("regular"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(p("dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"stream.sock", "seq.sock", "dgram.sock", "link.sock", "stale.sock", "missing.sock", "regular", "dir"} {
		paths = append(paths, p(n))
	}
	return p, paths
}

func TestCheckLines(t *testing.T) {
	p, paths := checkFixture(t)
	code, stdout, stderr := runCheckCLI(t, paths...)
	if code != exitNo || stderr != "" {
		t.Errorf("exit %d, stderr %q; want %d and nothing", code, stderr, exitNo)
	}
	held := fmt.Sprintf("; held by pid %d (%s)", os.Getpid(), selfCommand(t))
	want := strings.Join([]string{
		p("stream.sock") + ": up: stream socket accepting connections" + held,
		p("seq.sock") + ": up: seqpacket socket accepting connections" + held,
		p("dgram.sock") + ": up: dgram socket bound and reachable" + held,
		p("link.sock") + " -> " + p("stream.sock") + ": up: stream socket accepting connections" + held,
		p("stale.sock") + ": stale: socket file exists but nothing is listening (connection refused)",
		p("missing.sock") + ": missing: no such file or directory",
		p("regular") + ": not a socket: regular file",
		p("dir") + ": not a socket: directory",
	}, "\n") + "\n"
	if diff := cmp.Diff(want, stdout); diff != "" {
		t.Errorf("stdout (-want +got):\n%s", diff)
	}
}

func TestCheckJSON(t *testing.T) {
	p, paths := checkFixture(t)
	code, stdout, stderr := runCheckCLI(t, append([]string{"-o", "json", "--expect-mode", "0660"}, paths...)...)
	if code != exitNo || stderr != "" {
		t.Errorf("exit %d, stderr %q; want %d and nothing", code, stderr, exitNo)
	}
	doc := decodeChecks(t, stdout)

	type row struct {
		Path, Verdict, Type, Target, Mode string
		Healthy                           bool
		Holder                            bool // our pid among the processes
		Mismatch                          string
	}
	var got []row
	for _, c := range doc.Checks {
		r := row{Path: c.Path, Verdict: c.Verdict, Healthy: c.Healthy}
		for _, s := range []struct {
			dst *string
			src *string
		}{{&r.Type, c.Type}, {&r.Target, c.Target}, {&r.Mode, c.Mode}} {
			if s.src != nil {
				*s.dst = *s.src
			}
		}
		for _, pr := range c.Processes {
			r.Holder = r.Holder || pr.PID == os.Getpid()
		}
		for _, m := range c.Mismatches {
			r.Mismatch += m.Field + ":" + m.Want + "/" + m.Got
		}
		got = append(got, r)
	}
	mode := func(p string) string {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("%04o", fi.Mode().Perm())
	}
	want := []row{
		{Path: p("stream.sock"), Verdict: "up", Healthy: true, Type: "stream", Mode: "0660", Holder: true},
		{Path: p("seq.sock"), Verdict: "mismatch", Type: "seqpacket", Mode: mode(p("seq.sock")), Holder: true, Mismatch: "mode:0660/" + mode(p("seq.sock"))},
		{Path: p("dgram.sock"), Verdict: "mismatch", Type: "dgram", Mode: mode(p("dgram.sock")), Holder: true, Mismatch: "mode:0660/" + mode(p("dgram.sock"))},
		{Path: p("link.sock"), Verdict: "up", Healthy: true, Type: "stream", Target: p("stream.sock"), Mode: "0660", Holder: true},
		{Path: p("stale.sock"), Verdict: "stale", Mode: mode(p("stale.sock")), Mismatch: "mode:0660/" + mode(p("stale.sock"))},
		{Path: p("missing.sock"), Verdict: "missing"},
		{Path: p("regular"), Verdict: "not_socket", Mode: "0644"},
		{Path: p("dir"), Verdict: "not_socket", Mode: "0755"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("checks (-want +got):\n%s", diff)
	}
	if len(doc.Warnings) != 0 {
		t.Errorf("warnings = %q, want none", doc.Warnings)
	}
}

// TestCheckFullBacklog: a listener that never accepts must make the check
// fail within --timeout, not hang it.
func TestCheckFullBacklog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "full.sock")
	testutil.FullListener(t, path)
	type outcome struct {
		code           int
		stdout, stderr string
	}
	done := make(chan outcome, 1)
	go func() {
		var out, errw bytes.Buffer
		code := run(context.Background(), []string{"--check", "--timeout", "200ms", "-o", "json", path}, &out, &errw)
		done <- outcome{code, out.String(), errw.String()}
	}()
	var o outcome
	select {
	case o = <-done:
	case <-time.After(time.Minute):
		t.Fatal("udsls --check hung on a listener with a full backlog")
	}
	if o.code != exitNo || o.stderr != "" {
		t.Errorf("exit %d, stderr %q; want %d and nothing", o.code, o.stderr, exitNo)
	}
	doc := decodeChecks(t, o.stdout)
	if len(doc.Checks) != 1 || doc.Checks[0].Verdict != "timeout" || !strings.HasPrefix(doc.Checks[0].Reason, "listener's backlog is full: connect timed out after 200ms") {
		t.Errorf("checks = %+v, want one timeout verdict", doc.Checks)
	}
}

// TestCheckWaitAppears: the socket may appear before or after the first
// round; either way the check waits for it and succeeds.
func TestCheckWaitAppears(t *testing.T) {
	path := filepath.Join(t.TempDir(), "late.sock")
	done := make(chan int, 1)
	var stdout, stderr bytes.Buffer
	go func() {
		done <- run(context.Background(), []string{"--check", "--wait", "1m", path}, &stdout, &stderr)
	}()
	testutil.Listen(t, "unix", path)
	if code := <-done; code != exitOK {
		t.Errorf("exit %d (stdout %q, stderr %q), want %d", code, stdout.String(), stderr.String(), exitOK)
	}
}

func TestCheckInterrupted(t *testing.T) {
	path := filepath.Join(t.TempDir(), "never.sock")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var stdout, stderr bytes.Buffer
	code := run(ctx, []string{"--check", "--wait", "1h", path}, &stdout, &stderr)
	if code != exitError || stdout.String() != "" || stderr.String() != "udsls: error: check interrupted\n" {
		t.Errorf("exit %d, stdout %q, stderr %q; want %d, nothing, one error line", code, stdout.String(), stderr.String(), exitError)
	}
}

// parseProm reads metrics back as Prometheus would, flattened to
// `name{label="value",...}` -> value.
func parseProm(t *testing.T, text string) map[string]float64 {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("metrics do not parse: %v\n%s", err, text)
	}
	out := map[string]float64{}
	for name, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var ls []string
			for _, l := range m.GetLabel() {
				ls = append(ls, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			slices.Sort(ls)
			v := m.GetGauge().GetValue()
			if c := m.GetCounter(); c != nil {
				v = c.GetValue()
			}
			out[name+"{"+strings.Join(ls, ",")+"}"] = v
		}
	}
	cmd := exec.Command(testenv.NeedTool(t, "promtool", "prometheus"), "check", "metrics")
	cmd.Stdin = strings.NewReader(text)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
	return out
}

func TestCheckPrometheus(t *testing.T) {
	p, paths := checkFixture(t)
	code, stdout, stderr := runCheckCLI(t, append([]string{"-o", "prometheus"}, paths...)...)
	if code != exitNo || stderr != "" {
		t.Errorf("exit %d, stderr %q; want %d and nothing", code, stderr, exitNo)
	}
	up := func(name string) string { return fmt.Sprintf("udsls_check_up{path=%q}", p(name)) }
	want := map[string]float64{
		up("stream.sock"): 1, up("seq.sock"): 1, up("dgram.sock"): 1, up("link.sock"): 1,
		up("stale.sock"): 0, up("missing.sock"): 0, up("regular"): 0, up("dir"): 0,
	}
	if diff := cmp.Diff(want, parseProm(t, stdout)); diff != "" {
		t.Errorf("series (-want +got):\n%s", diff)
	}

	// For the textfile collector: quiet on stdout, the file replaced whole.
	out := filepath.Join(t.TempDir(), "udsls.prom")
	if err := os.WriteFile(out, []byte("old\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr = runCheckCLI(t, "-q", "-o", "prometheus", "--output-file", out, p("stream.sock"))
	if code != exitOK || stdout != "" || stderr != "" {
		t.Errorf("exit %d, stdout %q, stderr %q; want %d and nothing", code, stdout, stderr, exitOK)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]float64{up("stream.sock"): 1}, parseProm(t, string(b))); diff != "" {
		t.Errorf("file series (-want +got):\n%s", diff)
	}
	if fi, err := os.Stat(out); err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("file mode = %v (%v), want the old file's 0640 kept", fi.Mode().Perm(), err)
	}
	if ents, _ := os.ReadDir(filepath.Dir(out)); len(ents) != 1 {
		t.Errorf("directory holds %d entries, want only the output file (no temporary left)", len(ents))
	}

	code, _, stderr = runCheckCLI(t, "-o", "prometheus", "--output-file", filepath.Join(out, "below"), p("stream.sock"))
	if code != exitError || !strings.HasPrefix(stderr, fmt.Sprintf("udsls: error: --output-file %q: ", filepath.Join(out, "below"))) {
		t.Errorf("exit %d, stderr %q; want %d and an --output-file error", code, stderr, exitError)
	}
}

func TestListPrometheus(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.sock")
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(fd, 7); err != nil {
		t.Fatal(err)
	}
	// Two clients wait: nobody accepts.
	for range 2 {
		c, err := net.Dial("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}

	// The metrics say what the JSON listing says of the same socket.
	listing := func(format string) string {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), []string{"-o", format, dir + "/*"}, &stdout, &stderr); code != exitOK {
			t.Fatalf("-o %s: exit %d, stderr %q", format, code, stderr.String())
		}
		return stdout.String()
	}
	var doc struct {
		Sockets []struct {
			Path        string  `json:"path"`
			Connections int     `json:"connections"`
			Pending     *uint32 `json:"pending"`
			Backlog     *uint32 `json:"backlog"`
			Netns       uint64  `json:"netns"`
		} `json:"sockets"`
	}
	if err := json.Unmarshal([]byte(listing("json")), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Sockets) != 1 || doc.Sockets[0].Path != path {
		t.Fatalf("listing = %+v, want our listener alone", doc.Sockets)
	}
	s := doc.Sockets[0]
	label := fmt.Sprintf("{container=\"\",netns=\"%d\",path=%q}", s.Netns, path)
	want := map[string]float64{"udsls_listener_connections" + label: float64(s.Connections)}
	if s.Pending != nil {
		want["udsls_listener_pending_connections"+label] = float64(*s.Pending)
		want["udsls_listener_backlog"+label] = float64(*s.Backlog)
		if *s.Pending != 2 || *s.Backlog != 7 {
			t.Errorf("pending %d, backlog %d; want 2 and 7", *s.Pending, *s.Backlog)
		}
	}
	text := listing("prometheus")
	got := parseProm(t, text)
	listening := got[`udsls_sockets{state="listening",type="stream"}`]
	for k := range got {
		if strings.HasPrefix(k, "udsls_sockets{") {
			delete(got, k)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("listener series (-want +got):\n%s\n%s", diff, text)
	}
	if listening < 1 {
		t.Errorf("udsls_sockets counts %v listening stream sockets, want ours at least", listening)
	}
}

// TestCheckDenied runs the real binary as nobody against root's sockets:
// a connect refused for lack of write permission, and a path behind a
// directory nobody may search.
func TestCheckDenied(t *testing.T) {
	testenv.NeedRoot(t, "needs root to run the check as another user")
	setpriv := testenv.NeedTool(t, "setpriv", "util-linux")
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// TestMain runs this test binary as udsls when it is called by that
	// name; nobody needs a copy it may reach.
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(dir, "udsls")
	b, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "root-only.sock")
	testutil.Listen(t, "unix", sock)
	if err := os.Chmod(sock, 0o600); err != nil {
		t.Fatal(err)
	}
	private := filepath.Join(dir, "private")
	if err := os.Mkdir(private, 0o700); err != nil {
		t.Fatal(err)
	}
	hidden := filepath.Join(private, "app.sock")
	testutil.Listen(t, "unix", hidden)

	cmd := exec.Command(setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", bin, "--check", "-o", "json", sock, hidden)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	if code := cmd.ProcessState.ExitCode(); code != exitNo {
		t.Fatalf("exit %d (%v), want %d; stderr %q", code, err, exitNo, stderr.String())
	}
	doc := decodeChecks(t, stdout.String())
	var got [][2]string
	for _, c := range doc.Checks {
		got = append(got, [2]string{c.Verdict, c.Reason})
	}
	// The listing as nobody may not name root's processes; the reason
	// then ends with the cause alone.
	who := "uid 65534 (nobody), gid 65534 (" + groupName(t, 65534) + ")"
	want := [][2]string{
		{"denied", "permission denied for " + who + ": socket file is mode 0600, owner root:root"},
		{"denied", "permission denied for " + who + ": cannot search a directory on the path"},
	}
	for i := range got {
		if i < len(want) && strings.HasPrefix(got[i][1], want[i][1]) {
			got[i][1] = want[i][1]
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("verdicts (-want +got):\n%s", diff)
	}
}

func groupName(t *testing.T, gid int) string {
	t.Helper()
	g, err := user.LookupGroupId(fmt.Sprint(gid))
	if err != nil {
		t.Fatal(err)
	}
	return g.Name
}

func TestStalePrometheus(t *testing.T) {
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	staleSocket(t, filepath.Join(dir, "old.sock"))
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	staleSocket(t, filepath.Join(dir, "sub", "old.sock"))
	testutil.Listen(t, "unix", filepath.Join(dir, "live.sock"))

	// A start directory always has its series; a subdirectory only while
	// it holds stale files.
	series := func(inDir, inSub float64) map[string]float64 {
		m := map[string]float64{
			fmt.Sprintf("udsls_stale_socket_files{directory=%q}", dir): inDir,
			"udsls_stale_scanned_socket_files{}":                       3,
			"udsls_stale_unchecked_socket_files{}":                     0,
			"udsls_stale_unreachable_sockets{}":                        0,
		}
		if inSub > 0 {
			m[fmt.Sprintf("udsls_stale_socket_files{directory=%q}", filepath.Join(dir, "sub"))] = inSub
		}
		return m
	}
	tests := []struct {
		name string
		args []string
		code int
		want map[string]float64
	}{
		{"found", nil, exitNo, series(1, 1)},
		{"dry run", []string{"--remove", "--dry-run"}, exitNo, series(1, 1)},
		{"removed", []string{"--remove"}, exitOK, series(0, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			args := append(append([]string{"--stale", "-o", "prometheus"}, tt.args...), dir)
			if code := run(context.Background(), args, &stdout, &stderr); code != tt.code {
				t.Errorf("exit %d, stderr %q; want %d", code, stderr.String(), tt.code)
			}
			// The backend may warn about other processes; nothing else.
			for _, l := range strings.Split(strings.TrimSuffix(stderr.String(), "\n"), "\n") {
				if l != "" && !strings.HasPrefix(l, "udsls: warning: ") {
					t.Errorf("stderr line %q, want warnings only", l)
				}
			}
			got := parseProm(t, stdout.String())
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("series (-want +got):\n%s\n%s", diff, stdout.String())
			}
		})
	}
}
