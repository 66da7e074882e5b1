package main

import (
	"bufio"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/udsls/udsls/platform/testenv"
)

// waitFile waits for a file a pane's shell writes last (a line ending in
// a newline) and returns its text.
func (p *tmuxPane) waitFile(name string) string {
	p.t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if b, err := os.ReadFile(name); err == nil && strings.HasSuffix(string(b), "\n") {
			return string(b)
		}
	}
	p.t.Fatalf("%s was never written:\n%s", name, p.screen())
	return ""
}

// process is the pid of the pane's process running bin: a child of the
// pane's shell, or further down when a shell runs a shell.
func (p *tmuxPane) process(bin string) int {
	p.t.Helper()
	pids := []string{strings.TrimSpace(p.run("display", "-p", "#{pane_pid}"))}
	for len(pids) > 0 {
		pid := pids[0]
		pids = pids[1:]
		if cmd, err := os.ReadFile("/proc/" + pid + "/cmdline"); err == nil && strings.HasPrefix(string(cmd), bin+"\x00") {
			n, err := strconv.Atoi(pid)
			if err != nil {
				p.t.Fatal(err)
			}
			return n
		}
		if b, err := os.ReadFile("/proc/" + pid + "/task/" + pid + "/children"); err == nil {
			pids = append(pids, strings.Fields(string(b))...)
		}
	}
	p.t.Fatalf("no process runs %s in the pane", bin)
	return 0
}

// terminalRestored checks what a full-screen program must give back: the
// normal screen, a visible cursor, and echo and line editing (stty -a,
// run after it by the pane's shell, in file sttyFile).
func (p *tmuxPane) terminalRestored(sttyFile string) {
	p.t.Helper()
	stty := p.waitFile(sttyFile)
	if got := strings.TrimSpace(p.run("display", "-p", "#{alternate_on} #{cursor_flag}")); got != "0 1" {
		p.t.Errorf("alternate screen and cursor shown: %q, want \"0 1\" (the normal screen, the cursor shown)", got)
	}
	flags := strings.Fields(stty)
	for _, want := range []string{"echo", "icanon", "isig"} {
		if !slices.Contains(flags, want) {
			p.t.Errorf("stty -a after the watch lacks %s:\n%s", want, stty)
		}
	}
}

// TestWatchInTmuxSignalRestoresTerminal: a signal in the full-screen view
// (kill, a closed terminal's SIGHUP) leaves the terminal as it was and
// ends with 128+signal.
func TestWatchInTmuxSignalRestoresTerminal(t *testing.T) {
	bin := buildUdsls(t)
	m := startServer(t, 0)
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP} {
		t.Run(signalName(sig), func(t *testing.T) {
			dir := t.TempDir()
			exitFile, sttyFile := filepath.Join(dir, "exit"), filepath.Join(dir, "stty")
			// sh, not an interactive shell, which would mend the terminal
			// itself; sleep keeps the pane for the checks.
			p := newTmuxPane(t, 80, 24, "sh -c '"+bin+" --watch --interval 100ms "+m.Dir+"/*; echo $? > "+exitFile+
				"; stty -a > "+sttyFile+"; sleep 600'")
			p.waitFor("/echo.sock", "sort pressure")
			if err := syscall.Kill(p.process(bin), sig); err != nil {
				t.Fatal(err)
			}
			if got, want := strings.TrimSpace(p.waitFile(exitFile)), strconv.Itoa(128+int(sig)); got != want {
				t.Errorf("exit status %s after %v, want %s", got, sig, want)
			}
			p.terminalRestored(sttyFile)
		})
	}
}

// TestWatchInTmuxSuspend: Ctrl-Z, or a SIGTSTP from outside, stops the
// view as job control expects, the terminal given back to the shell, and
// fg brings the view back, answering keys at once.
func TestWatchInTmuxSuspend(t *testing.T) {
	bin := buildUdsls(t)
	m := startServer(t, 0)
	for _, how := range []string{"ctrl+z", "SIGTSTP"} {
		t.Run(how, func(t *testing.T) {
			exitFile := filepath.Join(t.TempDir(), "exit")
			p := newTmuxPane(t, 80, 24, "bash --norc --noprofile -i")
			// Bash goes on with a list whose job stopped: the status is
			// asked for after fg.
			p.keys("-l", bin+" --watch --interval 100ms "+m.Dir+"/'*'")
			p.keys("Enter")
			p.waitFor("/echo.sock", "sort pressure")
			if how == "ctrl+z" {
				p.keys("C-z")
			} else if err := syscall.Kill(p.process(bin), syscall.SIGTSTP); err != nil {
				t.Fatal(err)
			}
			p.waitAlternate("0", "the stop did not leave the full-screen view")
			p.waitFor("Stopped")
			p.keys("-l", "fg")
			p.keys("Enter")
			p.waitFor("/echo.sock", "sort pressure")
			// q alone, no Enter: the terminal is raw again.
			p.keys("q")
			p.waitAlternate("0", "q after fg did not end the view")
			p.keys("-l", "echo $? > "+exitFile)
			p.keys("Enter")
			if got := strings.TrimSpace(p.waitFile(exitFile)); got != "0" {
				t.Errorf("exit status %s after the stop, fg and q, want 0", got)
			}
		})
	}
}

// waitAlternate waits until tmux says the alternate screen is on ("1") or off ("0").
func (p *tmuxPane) waitAlternate(want, failure string) {
	p.t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if strings.TrimSpace(p.run("display", "-p", "#{alternate_on}")) == want {
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%s:\n%s", failure, p.screen())
		}
	}
}

// TestWatchInTmuxNoView: on a terminal that cannot draw a view (TERM=dumb)
// or whose keys cannot be read (no controlling terminal: setsid, stdin
// /dev/null), --watch prints its refreshes as to a pipe, never a view only
// a kill could end.
func TestWatchInTmuxNoView(t *testing.T) {
	bin := buildUdsls(t)
	m := startServer(t, 0)
	for name, prefix := range map[string]string{"dumb": "TERM=dumb ", "setsid": "setsid -w "} {
		t.Run(name, func(t *testing.T) {
			testenv.NeedTool(t, "setsid", "util-linux")
			exitFile := filepath.Join(t.TempDir(), "exit")
			p := newTmuxPane(t, 80, 24, "sh -c '"+prefix+bin+" --watch --interval 100ms --for 3s "+m.Dir+"/* < /dev/null; echo $? > "+exitFile+"; sleep 600'")
			s := p.waitFor(" shown", "/echo.sock")
			if strings.Contains(s, "sort pressure") {
				t.Errorf("a full-screen view:\n%s", s)
			}
			if got := strings.TrimSpace(p.waitFile(exitFile)); got != "0" {
				t.Errorf("exit status %s after --for, want 0", got)
			}
			if got := strings.TrimSpace(p.run("display", "-p", "#{alternate_on}")); got != "0" {
				t.Errorf("the alternate screen is on: %q", got)
			}
		})
	}
}

// TestWatchInTmuxVerboseHeld: what -v says at each refresh waits for the
// view to end instead of landing in the middle of it.
func TestWatchInTmuxVerboseHeld(t *testing.T) {
	bin := buildUdsls(t)
	m := startServer(t, 0)
	exitFile := filepath.Join(t.TempDir(), "exit")
	p := newTmuxPane(t, 80, 24, "sh -c '"+bin+" --watch -v --interval 50ms "+m.Dir+"/*; echo $? > "+exitFile+"; sleep 600'")
	p.waitFor("/echo.sock", "sort pressure")
	// Refreshes go on meanwhile: each would have said its line.
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if s := p.screen(); strings.Contains(s, "udsls: info") {
			t.Fatalf("stderr in the middle of the view:\n%s", s)
		}
	}
	p.keys("q")
	if got := strings.TrimSpace(p.waitFile(exitFile)); got != "0" {
		t.Errorf("exit status %s after q, want 0", got)
	}
	p.waitFor("udsls: info: ", " sockets from ")
}

// TestSignalsIgnoredAtStart: a SIGHUP ignored when udsls starts (nohup)
// stays ignored, while a SIGINT ignored (a script's background job) still
// stops it, as scripts stop udsls with kill -INT.
func TestSignalsIgnoredAtStart(t *testing.T) {
	bin := buildUdsls(t)
	dir := filepath.Join(t.TempDir(), "s")
	cmd := exec.Command("sh", "-c", `trap "" HUP INT; exec "$0" --serve --for 60s "$1"`, bin, dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	// The first line says the sockets are open.
	if _, err := bufio.NewReader(out).ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, out)
	cmd.Process.Signal(syscall.SIGHUP)
	// SIGINT after SIGHUP: had SIGHUP stopped it, the status would say so.
	cmd.Process.Signal(syscall.SIGINT)
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 128+int(syscall.SIGINT) {
		t.Errorf("after SIGHUP then SIGINT: %v, want exit status 130", err)
	}
}
