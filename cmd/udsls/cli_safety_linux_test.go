package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/udsls/udsls/internal/testutil"

	"golang.org/x/sys/unix"

	"github.com/udsls/udsls/inspect/render"
	"github.com/udsls/udsls/platform/testenv"
	"github.com/udsls/udsls/platform/testserver"
)

// TestOutputFileRefused gives --output-file every kind of thing that is
// not a regular file: udsls must refuse before any work (a stale file
// stays), leave the thing as it was, and leave no temporary file.
func TestOutputFileRefused(t *testing.T) {
	type target struct {
		name string
		make func(t *testing.T, dir string) string // returns the --output-file
		want string                                // in the error line
	}
	root := func(t *testing.T, why string) { t.Helper(); testenv.NeedRoot(t, why) }
	targets := []target{
		{"character device", func(t *testing.T, dir string) string {
			root(t, "mknod makes a character device")
			p := filepath.Join(dir, "full")
			if err := unix.Mknod(p, unix.S_IFCHR|0o666, int(unix.Mkdev(1, 7))); err != nil {
				t.Fatal(err)
			}
			return p
		}, "is a character device, not a regular file"},
		{"fifo", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "fifo")
			if err := unix.Mkfifo(p, 0o644); err != nil {
				t.Fatal(err)
			}
			return p
		}, "is a FIFO, not a regular file"},
		{"socket", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "s.sock")
			testutil.StaleSocket(t, p, unix.SOCK_STREAM)
			return p
		}, "is a socket, not a regular file"},
		{"symlink to a regular file", func(t *testing.T, dir string) string {
			if err := os.WriteFile(filepath.Join(dir, "real.prom"), []byte("old\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			return symlink(t, "real.prom", filepath.Join(dir, "link.prom"))
		}, "is a symbolic link"},
		{"symlink to stdout", func(t *testing.T, dir string) string {
			return symlink(t, "/dev/stdout", filepath.Join(dir, "stdout"))
		}, "is a symbolic link"},
		{"dangling symlink", func(t *testing.T, dir string) string {
			return symlink(t, "nowhere", filepath.Join(dir, "dangling.prom"))
		}, "is a symbolic link"},
		{"directory", func(t *testing.T, dir string) string {
			mkdirs(t, dir, "d")
			return filepath.Join(dir, "d")
		}, "is a directory; give a file name"},
		{"trailing slash", func(t *testing.T, dir string) string {
			return dir + "/"
		}, "names a directory; give a file name"},
		{"root directory", func(t *testing.T, dir string) string { return "/" }, "names a directory"},
		{"missing directory", func(t *testing.T, dir string) string {
			return filepath.Join(dir, "no", "out.prom")
		}, "no such file or directory"},
		{"file as directory", func(t *testing.T, dir string) string {
			if err := os.WriteFile(filepath.Join(dir, "f"), nil, 0o644); err != nil {
				t.Fatal(err)
			}
			return filepath.Join(dir, "f", "out.prom")
		}, "not a directory"},
		{"read-only file system", func(t *testing.T, dir string) string {
			root(t, "mounting a read-only tmpfs")
			ro := filepath.Join(dir, "ro")
			mkdirs(t, dir, "ro")
			if err := unix.Mount("tmpfs", ro, "tmpfs", unix.MS_RDONLY, "size=64k"); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { unix.Unmount(ro, unix.MNT_DETACH) })
			return filepath.Join(ro, "out.prom")
		}, "read-only file system"},
	}
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			dir := t.TempDir()
			out := tg.make(t, dir)
			before := entries(t, dir)
			var fi fs.FileInfo
			if out != "/" {
				fi, _ = os.Lstat(strings.TrimSuffix(out, "/"))
			}
			stale := filepath.Join(t.TempDir(), "stale.sock")
			testutil.StaleSocket(t, stale, unix.SOCK_STREAM)
			for _, args := range [][]string{
				{"-o", "prometheus", "--output-file", out},
				{"--stale", "--remove", "-o", "prometheus", "--output-file", out, filepath.Dir(stale)},
			} {
				code, stdout, stderr := runUdsls(args...)
				want := "udsls: error: --output-file " + fmt.Sprintf("%q", out) + ": "
				if code != exitError || stdout != "" || !strings.HasPrefix(stderr, want) ||
					!strings.Contains(stderr, tg.want) || strings.Count(stderr, "\n") != 1 {
					t.Errorf("%q: exit %d, stdout %q, stderr %q; want 2, one error line starting %q and saying %q",
						args, code, stdout, stderr, want, tg.want)
				}
			}
			if _, err := os.Lstat(stale); err != nil {
				t.Errorf("the stale file was removed before the output file was refused: %v", err)
			}
			if fi != nil {
				now, err := os.Lstat(out)
				if err != nil || now.Mode() != fi.Mode() || !os.SameFile(fi, now) {
					t.Errorf("%s was replaced: was %v, now %v (%v)", out, fi.Mode(), now, err)
				}
			}
			if after := entries(t, dir); !slices.Equal(before, after) {
				t.Errorf("directory holds %q, had %q: a temporary file is left", after, before)
			}
		})
	}
}

func symlink(t *testing.T, target, p string) string {
	t.Helper()
	if err := os.Symlink(target, p); err != nil {
		t.Fatal(err)
	}
	return p
}

// entries lists the names in dir and in its subdirectories one level down.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	var names []string
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, de := range des {
		names = append(names, de.Name())
		if de.IsDir() {
			sub, _ := os.ReadDir(filepath.Join(dir, de.Name()))
			for _, s := range sub {
				names = append(names, de.Name()+"/"+s.Name())
			}
		}
	}
	return names
}

// TestWriteErrors runs the real binary of every mode and output with
// stdout on /dev/full: a lost output is exit status 2 and an error, never
// a success.
func TestWriteErrors(t *testing.T) {
	testenv.NeedRoot(t, "the audit finding is a root server's world-writable socket")
	bin := buildUdsls(t)
	b := t.TempDir()
	openUp(t, b)
	live := filepath.Join(b, "live.sock")
	testutil.Listen(t, "unix", live)
	if err := os.Chmod(live, 0o666); err != nil {
		t.Fatal(err)
	}
	staleDir := filepath.Join(b, "stale")
	mkdirs(t, b, "stale")
	testutil.StaleSocket(t, filepath.Join(staleDir, "old.sock"), unix.SOCK_STREAM)

	runs := [][]string{
		{}, {"-a"}, {"-o", "json"}, {"-o", "prometheus"}, {"-N"},
		{"--stale", staleDir}, {"--stale", "-o", "json", staleDir}, {"--stale", "-o", "prometheus", staleDir},
		{"--audit", live}, {"--audit", "-o", "json", live},
		{"--check", live}, {"--check", "-o", "json", live}, {"--check", "-o", "prometheus", live},
		{"--serve", "--for", "1ms", filepath.Join(b, "serve1")},
		{"--serve", "-o", "json", "--for", "1ms", filepath.Join(b, "serve2")},
		{"--help"}, {"--version"},
	}
	for _, args := range runs {
		code, stderr := runToFull(t, bin, args...)
		if code != exitError || !strings.Contains(stderr, "udsls: error: ") || !strings.Contains(stderr, "no space left on device") {
			t.Errorf("udsls %q > /dev/full: exit %d, stderr %q; want 2 and the write error", args, code, stderr)
		}
	}

	// The removals could not be printed: stderr must name them.
	old := filepath.Join(staleDir, "old.sock")
	for _, output := range []string{"table", "json"} {
		if _, err := os.Lstat(old); err != nil {
			testutil.StaleSocket(t, old, unix.SOCK_STREAM)
		}
		code, stderr := runToFull(t, bin, "--stale", "--remove", "-o", output, staleDir)
		if _, err := os.Lstat(old); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("--stale --remove -o %s did not remove %s (exit %d, stderr %q)", output, old, code, stderr)
		}
		if code != exitError || !strings.Contains(stderr, "udsls: warning: removed "+old+",") {
			t.Errorf("--stale --remove -o %s > /dev/full: exit %d, stderr %q; want 2 and the removal named", output, code, stderr)
		}
	}
}

// runToFull runs bin with stdout on /dev/full.
func runToFull(t *testing.T, bin string, args ...string) (int, string) {
	t.Helper()
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer full.Close()
	var stderr bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = full, &stderr
	err = cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	return cmd.ProcessState.ExitCode(), stderr.String()
}

// TestOutputFileFullAfterRemoval fills the output file's file system: the
// files --stale --remove deleted are then named on stderr.
func TestOutputFileFullAfterRemoval(t *testing.T) {
	testenv.NeedRoot(t, "mounting a small tmpfs")
	dir := t.TempDir()
	mnt := filepath.Join(dir, "mnt")
	mkdirs(t, dir, "mnt", "stale")
	if err := unix.Mount("tmpfs", mnt, "tmpfs", 0, "size=4k"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Unmount(mnt, unix.MNT_DETACH) })
	// Fill every block, leaving inodes for the temporary file.
	f, err := os.Create(filepath.Join(mnt, "filler"))
	if err != nil {
		t.Fatal(err)
	}
	for err == nil {
		_, err = f.Write(make([]byte, 1024))
	}
	f.Close()
	old := filepath.Join(dir, "stale", "old.sock")
	testutil.StaleSocket(t, old, unix.SOCK_STREAM)
	out := filepath.Join(mnt, "stale.prom")
	code, stdout, stderr := runUdsls("--stale", "--remove", "-o", "prometheus", "--output-file", out, filepath.Dir(old))
	if _, err := os.Lstat(old); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("not removed: %s (exit %d, stderr %q)", old, code, stderr)
	}
	if code != exitError || stdout != "" || !strings.Contains(stderr, "udsls: warning: removed "+old+",") ||
		!strings.Contains(stderr, "no space left on device") {
		t.Errorf("exit %d, stdout %q, stderr %q; want 2, the removal named and the write error", code, stdout, stderr)
	}
	if got := entries(t, mnt); !slices.Equal(got, []string{"filler"}) {
		t.Errorf("the full file system holds %q; want the filler alone", got)
	}
}

// interrupt runs bin with args, sends sig after delay and waits for the
// end. alive says whether the signal found it running; took is how long
// it ran on after the signal.
type interruption struct {
	code           int
	alive          bool
	took           time.Duration
	stdout, stderr string
}

func interrupt(t *testing.T, bin string, sig syscall.Signal, delay time.Duration, args ...string) interruption {
	t.Helper()
	return interruptWhen(t, bin, sig, delay, nil, args...)
}

// interruptWhen is interrupt, but waits after delay until ready says yes
// (or the run ends) before it signals.
func interruptWhen(t *testing.T, bin string, sig syscall.Signal, delay time.Duration, ready func() bool, args ...string) interruption {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	defer close(done)
	go func() {
		// A run that ignores the signal is ended for good, and fails.
		select {
		case <-done:
		case <-time.After(delay + 2*time.Minute):
			cmd.Process.Kill()
		}
	}()
	time.Sleep(delay)
	for ready != nil && !ready() && !exited(cmd.Process.Pid) {
		time.Sleep(time.Millisecond)
	}
	sent := time.Now()
	// A process that has exited but is not yet waited for still takes
	// signals: only its state says it was done.
	alive := !exited(cmd.Process.Pid)
	err := cmd.Process.Signal(sig)
	cmd.Wait()
	code := cmd.ProcessState.ExitCode()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		// Signalled before main set up its handler (a loaded machine can
		// take that long to start a process): a shell sees the same 128+N.
		code = 128 + int(ws.Signal())
	}
	return interruption{
		code:   code,
		alive:  alive && err == nil,
		took:   time.Since(sent),
		stdout: stdout.String(), stderr: stderr.String(),
	}
}

// exited says whether the child pid has ended (a zombie not yet waited
// for, which still takes signals).
func exited(pid int) bool {
	stat, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	_, state, _ := strings.Cut(string(stat), ") ")
	return !strings.HasPrefix(state, "R") && !strings.HasPrefix(state, "S") && !strings.HasPrefix(state, "D")
}

var signals = []struct {
	sig  syscall.Signal
	code int
}{{syscall.SIGINT, 130}, {syscall.SIGTERM, 143}}

// TestSignals sends SIGINT and SIGTERM to the real binary in the middle of
// each kind of long run: it must end soon after, with 128+signal, leaving
// no output file, no temporary file and nothing half-removed.
func TestSignals(t *testing.T) {
	testenv.Heavy(t, "26 interrupted runs over 4,000 sockets, ~15s")
	testenv.NeedRoot(t, "the audit and -N runs read every process")
	bin := buildUdsls(t)
	b := t.TempDir()

	full := filepath.Join(b, "full.sock")
	testutil.FullListener(t, full)
	// Sockets enough that the join and the table take seconds.
	srv, err := testserver.Start(testserver.Config{Dir: filepath.Join(b, "many"), Count: 4000})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	const prom = "OUT" // the output file, in a directory of its own for each run
	// A capture that never comes: the read blocks in open(2) until a
	// writer appears, and nothing in udsls can cancel it.
	fifo := filepath.Join(b, "capture")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}

	runs := []struct {
		name  string
		delay time.Duration
		args  []string
	}{
		{"check full backlog", 300 * time.Millisecond, []string{"--check", "--timeout", "60s", full}},
		{"check prometheus", 300 * time.Millisecond, []string{"--check", "-o", "prometheus", "--output-file", prom, "--timeout", "60s", full}},
		{"wait", 300 * time.Millisecond, []string{"--check", "--wait", "60s", filepath.Join(b, "missing.sock")}},
		{"listing", 300 * time.Millisecond, []string{"-a"}},
		{"listing late", 700 * time.Millisecond, []string{"-a"}},
		{"json", 300 * time.Millisecond, []string{"-a", "-o", "json"}},
		{"prometheus", 300 * time.Millisecond, []string{"-a", "-o", "prometheus", "--output-file", prom}},
		{"prometheus late", 700 * time.Millisecond, []string{"-a", "-o", "prometheus", "--output-file", prom}},
		{"all netns", 300 * time.Millisecond, []string{"-N", "-a"}},
		{"audit", 300 * time.Millisecond, []string{"--audit"}},
		{"serve", 300 * time.Millisecond, []string{"--serve", filepath.Join(b, "serve")}},
		{"blocked capture", 300 * time.Millisecond, []string{"--from", "procnet:" + fifo}},
		{"blocked capture to a file", 300 * time.Millisecond, []string{"--from", "procnet:" + fifo, "-o", "prometheus", "--output-file", prom}},
	}
	for _, run := range runs {
		for _, s := range signals {
			t.Run(signalName(s.sig)+" "+run.name, func(t *testing.T) {
				outDir := t.TempDir()
				args := slices.Clone(run.args)
				if i := slices.Index(args, prom); i >= 0 {
					args[i] = filepath.Join(outDir, "udsls.prom")
				}
				r := interrupt(t, bin, s.sig, run.delay, args...)
				if !r.alive {
					// Not a missing capability: a fast machine.
					t.Logf("the run ended before the signal (exit %d); nothing to check", r.code)
					return
				}
				// Loosely bounded: a probe would otherwise wait its 60s.
				if r.code != s.code || r.took > 20*time.Second {
					t.Errorf("exit %d %v after the signal; want %d within seconds (stderr %q)", r.code, r.took, s.code, r.stderr)
				}
				if got := entries(t, outDir); len(got) != 0 {
					t.Errorf("output directory holds %q after the interruption; want nothing", got)
				}
				if _, err := os.Lstat(filepath.Join(b, "serve")); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("--serve left its directory: %v", err)
				}
			})
		}
	}
}

// TestSignalsDuringRemoval interrupts --stale --remove on a large tree at
// several moments: every file it reports removed is gone, every other one
// is there under its own name, and nothing else is in the tree.
func TestSignalsDuringRemoval(t *testing.T) {
	testenv.Heavy(t, "12 interrupted removals of 3,000 stale files, ~45s")
	bin := buildUdsls(t)
	const dirs, perDir = 20, 150
	// At a moment, or once the first file is gone: in the middle of the
	// removals, whatever the machine's speed.
	moments := []struct {
		name        string
		delay       time.Duration
		afterRemove bool
	}{
		{"at 100ms", 100 * time.Millisecond, false},
		{"at 1s", time.Second, false},
		{"at the first removal", 0, true},
		{"at the first removal", 0, true},
	}
	for i, m := range moments {
		s := signals[i%len(signals)]
		for _, output := range []string{"table", "json", "prometheus"} {
			t.Run(fmt.Sprintf("%s %s -o %s", signalName(s.sig), m.name, output), func(t *testing.T) {
				root := t.TempDir()
				var all []string
				for d := range dirs {
					sub := fmt.Sprintf("d%02d", d)
					mkdirs(t, root, sub)
					for f := range perDir {
						p := filepath.Join(root, sub, fmt.Sprintf("s%03d.sock", f))
						testutil.StaleSocket(t, p, unix.SOCK_STREAM)
						all = append(all, p)
					}
				}
				outDir := t.TempDir()
				prom := filepath.Join(outDir, "stale.prom")
				args := []string{"--stale", "--remove", "-o", output}
				if output == "prometheus" {
					args = append(args, "--output-file", prom)
				}
				var ready func() bool
				if m.afterRemove {
					ready = func() bool { _, err := os.Lstat(all[0]); return err != nil }
				}
				r := interruptWhen(t, bin, s.sig, m.delay, ready, append(args, root)...)
				var gone []string
				for _, p := range all {
					if _, err := os.Lstat(p); errors.Is(err, fs.ErrNotExist) {
						gone = append(gone, p)
					}
				}
				reported, ok := removedIn(t, output, r)
				if !ok {
					reported = all
				}
				if !slices.Equal(reported, gone) {
					t.Errorf("reported %d removed, %d gone; the report and the tree disagree", len(reported), len(gone))
				}
				left := 0
				filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
					if err == nil && !d.IsDir() {
						if !slices.Contains(all, p) {
							t.Errorf("left in the tree: %s", p)
						}
						left++
					}
					return nil
				})
				if left+len(gone) != len(all) {
					t.Errorf("%d files left and %d gone of %d", left, len(gone), len(all))
				}
				if r.alive && (r.code != s.code || r.took > 20*time.Second) {
					t.Errorf("exit %d %v after the signal; want %d within seconds (stderr %q)", r.code, r.took, s.code, r.stderr)
				}
				if files := entries(t, outDir); r.alive && len(files) != 0 {
					t.Errorf("an interrupted run left %q", files)
				}
				t.Logf("alive %v, exit %d, %d of %d removed", r.alive, r.code, len(gone), len(all))
			})
		}
	}
}

// removedIn is the sorted list of files a --stale --remove run reports it
// removed: on stdout, or on stderr when its output file was not written.
// ok is false for a complete run whose output file lists no paths.
func removedIn(t *testing.T, output string, r interruption) (got []string, ok bool) {
	t.Helper()
	switch output {
	case "table":
		for l := range strings.Lines(r.stdout) {
			if p, ok := strings.CutPrefix(strings.TrimSuffix(l, "\n"), "removed "); ok {
				got = append(got, p)
			}
		}
	case "json":
		if r.stdout == "" {
			break
		}
		var doc render.StaleReportJSON
		if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
			t.Fatalf("stdout is not the JSON report: %v", err)
		}
		for _, f := range doc.Stale {
			if f.Removed {
				got = append(got, f.Path)
			}
		}
	case "prometheus":
		if r.code == exitOK || r.code == exitNo {
			return nil, false
		}
		sc := bufio.NewScanner(strings.NewReader(r.stderr))
		for sc.Scan() {
			if p, ok := strings.CutPrefix(sc.Text(), "udsls: warning: removed "); ok {
				got = append(got, strings.TrimSuffix(p, ", but the output listing it could not be written"))
			}
		}
	}
	slices.Sort(got)
	return got, true
}
