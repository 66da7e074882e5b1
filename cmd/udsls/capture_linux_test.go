package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/udsls/udsls/platform/testenv"
)

// runCapture runs the real binary and returns its exit status and streams.
func runCapture(t *testing.T, bin string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, stdout.String(), stderr.String()
	case errors.As(err, &ee):
		return ee.ExitCode(), stdout.String(), stderr.String()
	}
	t.Fatal(err)
	return 0, "", ""
}

// TestCaptureRefusesOtherText gives --from files that are not the kind
// named: each must fail with one error line naming the file and what was
// expected, never pass for a capture without sockets. The net-tools
// output is made here and now by this machine's netstat.
func TestCaptureRefusesOtherText(t *testing.T) {
	bin := buildUdsls(t)
	dir := t.TempDir()
	netstat := testenv.NeedTool(t, "netstat", "net-tools")
	out, err := exec.Command(netstat, "-xa").Output()
	if err != nil {
		t.Fatalf("netstat -xa: %v", err)
	}
	linuxNetstat := filepath.Join(dir, "netstat-xa.txt")
	empty := filepath.Join(dir, "empty.txt")
	for name, data := range map[string][]byte{linuxNetstat: out, empty: nil} {
		if err := os.WriteFile(name, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range []struct{ spec, want string }{
		{"netstat:/etc/passwd", `capture "netstat:/etc/passwd": not macOS or FreeBSD netstat output: no unix section`},
		{"netstat:" + linuxNetstat, `capture "netstat:` + linuxNetstat + `": Linux netstat output (net-tools netstat -x)`},
		{"lsof:/etc/passwd", `capture "lsof:/etc/passwd": not lsof output`},
		{"lsof:" + linuxNetstat, `capture "lsof:` + linuxNetstat + `": not lsof output`},
		{"procnet:/etc/passwd", `capture "procnet:/etc/passwd": /proc/net/unix line 1: `},
		{"lsof:" + empty, `capture "lsof:` + empty + `": empty file: want lsof -U output`},
		{"netstat:" + empty, `capture "netstat:` + empty + `": empty file: want macOS or FreeBSD netstat output`},
		{"procnet:" + empty, `capture "procnet:` + empty + `": empty file: want a copy of Linux /proc/net/unix`},
	} {
		t.Run(tt.spec, func(t *testing.T) {
			code, stdout, stderr := runCapture(t, bin, "--from", tt.spec)
			if code != exitError || stdout != "" || !failedRun.MatchString(stderr) || !strings.HasPrefix(stderr, "udsls: error: "+tt.want) {
				t.Errorf("exit %d, stdout %q, stderr %q; want %d, nothing, one line starting %q", code, stdout, stderr, exitError, tt.want)
			}
		})
	}
}

// TestCaptureBounded reads an endless device: the read must stop at the
// documented limit with a clear error, not take all memory.
func TestCaptureBounded(t *testing.T) {
	bin := buildUdsls(t)
	code, stdout, stderr := runCapture(t, bin, "--from", "procnet:/dev/zero")
	want := `udsls: error: capture "procnet:/dev/zero": larger than 256 MiB, the limit for a capture file`
	if code != exitError || stdout != "" || strings.TrimSuffix(stderr, "\n") != want {
		t.Errorf("exit %d, stdout %q, stderr %q; want %d and %q", code, stdout, stderr, exitError, want)
	}
}

// TestCaptureFIFOInterrupted reads a capture from a FIFO whose writer
// never writes nor closes: SIGINT or SIGTERM must end the run, which only
// SIGKILL did. The exit status belongs to the signal handling; here it
// need only be a failure that udsls chose, not a death by the signal.
//
// Without a writer at all, udsls waits in open(2), which no signal
// interrupts in Go: that case is signalled once a thread of udsls waits
// there, as /proc/PID/task/*/wchan shows (wait_for_partner, Linux's
// fifo_open).
func TestCaptureFIFOInterrupted(t *testing.T) {
	bin := buildUdsls(t)
	for _, tt := range []struct {
		sig    syscall.Signal
		writer bool
	}{{syscall.SIGINT, true}, {syscall.SIGTERM, true}, {syscall.SIGINT, false}} {
		sig := tt.sig
		name := sig.String()
		if !tt.writer {
			name += " in open"
		}
		t.Run(name, func(t *testing.T) {
			fifo := filepath.Join(t.TempDir(), "lsof.fifo")
			if err := syscall.Mkfifo(fifo, 0o600); err != nil {
				t.Fatal(err)
			}
			if tt.writer {
				// Held open read-write, the FIFO has a writer that
				// never writes, so reads block and never see EOF.
				w, err := os.OpenFile(fifo, os.O_RDWR, 0)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { w.Close() })
			}

			var stdout, stderr bytes.Buffer
			cmd := exec.Command(bin, "--from", "lsof:"+fifo)
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			t.Cleanup(func() {
				if cmd.ProcessState == nil {
					cmd.Process.Kill()
					<-done
				}
			})

			// Signal once udsls has the FIFO open, or waits to: it is
			// reading, and its handler is set up (main does that first).
			proc := "/proc/" + strconv.Itoa(cmd.Process.Pid)
			giveUp := time.After(time.Minute)
			for waiting := false; !waiting; {
				select {
				case err := <-done:
					t.Fatalf("udsls ended before it was signalled: %v; stderr %q", err, stderr.String())
				case <-giveUp:
					t.Fatalf("udsls never opened the FIFO nor waited in open (writer %v)", tt.writer)
				case <-time.After(20 * time.Millisecond):
				}
				if tt.writer {
					ents, _ := os.ReadDir(proc + "/fd")
					for _, e := range ents {
						if l, _ := os.Readlink(filepath.Join(proc, "fd", e.Name())); l == fifo {
							waiting = true
						}
					}
					continue
				}
				tasks, _ := filepath.Glob(proc + "/task/*/wchan")
				for _, task := range tasks {
					if w, _ := os.ReadFile(task); string(w) == "wait_for_partner" {
						waiting = true
					}
				}
			}
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			select {
			case <-done:
			case <-time.After(time.Minute):
				t.Fatalf("udsls still reading the FIFO a minute after %v", sig)
			}
			// Interrupted, as every mode: exit 128+signal, no output.
			want := 128 + int(sig)
			if ws := cmd.ProcessState.Sys().(syscall.WaitStatus); ws.Signaled() || cmd.ProcessState.ExitCode() != want || stdout.Len() != 0 {
				t.Errorf("after %v: %v, stdout %q, stderr %q; want exit %d and no output", sig, cmd.ProcessState, stdout.String(), stderr.String(), want)
			}
		})
	}
}

// TestCaptureUIDNull lists real lsof captures as JSON: a table shows only
// the login name, so a holder's uid is null there, not (uid_t)-1; -F
// output with its u field gives the number.
func TestCaptureUIDNull(t *testing.T) {
	bin := buildUdsls(t)
	for _, tt := range []struct {
		file string
		uid  any // as encoding/json decodes it
		user string
	}{
		{"lsof-U-rednafi-macos-m1-2023-excerpt.txt", nil, "root"},
		{"linux-lsof-grep-nagios-monitoring-fr-2013.txt", nil, "nagios"},
		{"linux-lsof-U-F-local-debian12.txt", float64(0), "root"},
	} {
		t.Run(tt.file, func(t *testing.T) {
			code, stdout, stderr := runCapture(t, bin, "--from", "lsof:../../testdata/macos/"+tt.file, "-a", "-o", "json")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			var out struct {
				Sockets []struct {
					Processes []map[string]any `json:"processes"`
				} `json:"sockets"`
			}
			if err := json.Unmarshal([]byte(stdout), &out); err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, s := range out.Sockets {
				for _, p := range s.Processes {
					n++
					if uid, ok := p["uid"]; !ok || uid != tt.uid || p["user"] != tt.user {
						t.Errorf("holder %v; want uid %v and user %q", p, tt.uid, tt.user)
					}
				}
			}
			if n == 0 {
				t.Errorf("no holders in %s", stdout)
			}
		})
	}
}
