package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/udsls/udsls/platform/testenv"
)

// tmuxPane runs a command in a detached tmux session of its own server,
// at a given size, for a test to read and type into.
type tmuxPane struct {
	t      *testing.T
	tmux   string
	socket string
}

func newTmuxPane(t *testing.T, width, height int, command string) *tmuxPane {
	t.Helper()
	p := &tmuxPane{t: t, tmux: testenv.NeedTool(t, "tmux", "tmux"), socket: filepath.Join(t.TempDir(), "tmux")}
	// -f /dev/null: no user configuration changes the screen.
	p.run("-f", "/dev/null", "new-session", "-d", "-x", itoa(width), "-y", itoa(height), command)
	t.Cleanup(func() { exec.Command(p.tmux, "-S", p.socket, "kill-server").Run() })
	return p
}

func itoa(n int) string { return strconv.Itoa(n) }

func (p *tmuxPane) run(args ...string) string {
	p.t.Helper()
	out, err := exec.Command(p.tmux, append([]string{"-S", p.socket}, args...)...).CombinedOutput()
	if err != nil {
		p.t.Fatalf("tmux %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// screen is the pane's text, without attributes.
func (p *tmuxPane) screen() string { return p.run("capture-pane", "-p") }

// waitFor waits until the screen shows every one of want, and returns it.
func (p *tmuxPane) waitFor(want ...string) string {
	p.t.Helper()
	var s string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		s = p.screen()
		missing := false
		for _, w := range want {
			missing = missing || !strings.Contains(s, w)
		}
		if !missing {
			return s
		}
	}
	p.t.Fatalf("the screen never showed %q:\n%s", want, s)
	return ""
}

func (p *tmuxPane) keys(keys ...string) { p.run(append([]string{"send-keys"}, keys...)...) }

// TestWatchInTmux runs the real binary on a terminal of 80x24: the view
// fits, shows the server's sockets most pressed first, answers keys, and
// q ends it with status 0.
func TestWatchInTmux(t *testing.T) {
	bin := buildUdsls(t)
	m := startServer(t, 2)
	exitFile := filepath.Join(t.TempDir(), "exit")
	p := newTmuxPane(t, 80, 24, "NO_COLOR=1 "+bin+" --watch --interval 200ms "+m.Dir+"/'*'; echo $? > "+exitFile)
	// A long temporary directory is shortened in the middle, at 80 columns.
	s := p.waitFor("udsls --watch", "PATH", "/full.sock", "/echo.sock", "sort pressure")
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > 24 {
		t.Errorf("%d lines on 24", len(lines))
	}
	for _, l := range lines {
		if n := utf8.RuneCountInString(l); n > 80 {
			t.Errorf("line of %d columns: %q", n, l)
		}
	}
	// The full listener is the most pressed: the first row.
	if f := strings.Fields(lines[3]); len(f) < 2 || !strings.HasSuffix(f[0], "/full.sock") || f[1] != "FULL" {
		t.Errorf("first row is not the full listener:\n%s", s)
	}
	p.keys("?")
	p.waitFor("Keys", "pressure")
	p.keys("?")
	p.keys("/", "echo", "Enter")
	s = p.waitFor(`filter "echo"`)
	if strings.Contains(s, "full.sock") {
		t.Errorf("the filter echo still shows full.sock:\n%s", s)
	}
	p.keys("q")
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if b, err := os.ReadFile(exitFile); err == nil && strings.HasSuffix(string(b), "\n") {
			if got := strings.TrimSpace(string(b)); got != "0" {
				t.Fatalf("exit status %s after q, want 0", got)
			}
			return
		}
	}
	t.Fatalf("q did not end the watch:\n%s", p.screen())
}

// TestWatchInTmuxFor: --for ends the view with status 0, and keys come
// from the terminal even when stdin is not it (`< /dev/null`).
func TestWatchInTmuxFor(t *testing.T) {
	bin := buildUdsls(t)
	m := startServer(t, 0)
	exitFile := filepath.Join(t.TempDir(), "exit")
	p := newTmuxPane(t, 80, 24, bin+" --watch --for 2s "+m.Dir+"/'*' < /dev/null; echo $? > "+exitFile)
	p.waitFor("udsls --watch", "/echo.sock")
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if b, err := os.ReadFile(exitFile); err == nil && strings.HasSuffix(string(b), "\n") {
			if got := strings.TrimSpace(string(b)); got != "0" {
				t.Fatalf("exit status %s after --for, want 0", got)
			}
			return
		}
	}
	t.Fatalf("--for did not end the watch:\n%s", p.screen())
}

// sgr finds the parameters of Select Graphic Rendition sequences.
var sgr = regexp.MustCompile(`\x1b\[([0-9;]*)m`)

// colored reports whether s sets a foreground colour (30-38, 90-97).
func colored(s string) bool {
	for _, m := range sgr.FindAllStringSubmatch(s, -1) {
		for p := range strings.SplitSeq(m[1], ";") {
			if n, err := strconv.Atoi(p); err == nil && (n >= 30 && n <= 38 || n >= 90 && n <= 97) {
				return true
			}
		}
	}
	return false
}

// TestWatchInTmuxNoColor: the full listener's row is red on a colour
// terminal, and without colour under NO_COLOR, bold instead.
func TestWatchInTmuxNoColor(t *testing.T) {
	bin := buildUdsls(t)
	m := startServer(t, 0)
	for _, noColor := range []bool{false, true} {
		env := "env -u NO_COLOR "
		if noColor {
			env = "env NO_COLOR=1 "
		}
		p := newTmuxPane(t, 80, 24, env+bin+" --watch "+m.Dir+"/'*'")
		p.waitFor("/full.sock")
		var full string
		for l := range strings.SplitSeq(p.run("capture-pane", "-p", "-e"), "\n") {
			if strings.Contains(l, "/full.sock") {
				full = l
			}
		}
		if colored(full) == noColor {
			t.Errorf("NO_COLOR set %v: the full listener's row %q", noColor, full)
		}
		if noColor && !strings.Contains(full, "\x1b[") {
			t.Errorf("NO_COLOR: the full listener's row has no attribute: %q", full)
		}
		p.keys("q")
	}
}
