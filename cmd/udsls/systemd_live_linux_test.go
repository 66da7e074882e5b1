//go:build linux

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/udsls/udsls/internal/testutil"
	"github.com/udsls/udsls/platform/testenv"
)

// startGroup starts argv in a process group of its own, killed whole when
// the test ends (the programs it forks too), and returns its pid and
// output.
func startGroup(t *testing.T, argv ...string) (pid int, stdout, stderr io.ReadCloser) {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if stderr, err = cmd.StderrPipe(); err != nil {
		t.Fatal(err)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	})
	return cmd.Process.Pid, stdout, stderr
}

// socketActivated starts a program under systemd-socket-activate on a file
// listener named api and an abstract one named admin, connects once so
// that it execs the program, and returns the program's pid and its child's,
// which inherited both descriptors and the LISTEN_* variables.
func socketActivated(t *testing.T, sock, abstract string) (pid, child int) {
	t.Helper()
	activate := testenv.NeedTool(t, "systemd-socket-activate", "systemd")
	python := testenv.NeedTool(t, "python3", "python3")
	// The child is forked after the exec: LISTEN_PID names the parent only.
	prog := `import os, sys, time
c = os.fork()
if c == 0:
    time.sleep(600)
    os._exit(0)
print(os.getpid(), c, flush=True)
time.sleep(600)
`
	// systemd-socket-activate execs the program: the same pid.
	pid0, stdout, stderr := startGroup(t, activate, "-l", sock, "-l", abstract, "--fdname=api:admin", python, "-c", prog)
	// It says "Listening on ADDR as N." for each socket before it waits
	// for the first connection.
	lines := bufio.NewScanner(stderr)
	for n := 0; n < 2; n++ {
		if !lines.Scan() {
			t.Fatalf("systemd-socket-activate ended before listening: %v", lines.Err())
		}
		if !strings.HasPrefix(lines.Text(), "Listening on ") {
			t.Fatalf("systemd-socket-activate: %q", lines.Text())
		}
	}
	go io.Copy(io.Discard, stderr)
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	out := bufio.NewScanner(stdout)
	if !out.Scan() {
		t.Fatalf("the activated program said nothing: %v", out.Err())
	}
	if _, err := fmt.Sscan(out.Text(), &pid, &child); err != nil || pid != pid0 {
		t.Fatalf("the activated program said %q (err %v), want its pid %d and its child's", out.Text(), err, pid0)
	}
	return pid, child
}

// TestSocketActivatedFDNames: the real systemd-socket-activate passes two
// listeners named api and admin; the listing names them at the pid
// LISTEN_PID names, not at its child that inherited them, in JSON and in
// the table's SERVICE column, with --verbose too.
func TestSocketActivatedFDNames(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "api.sock")
	abstract := "@udsls-test-admin-" + strconv.Itoa(os.Getpid())
	pid, child := socketActivated(t, sock, abstract)

	type holder struct {
		PID, FD int
		FDName  *string
	}
	name := func(s string) *string { return &s }
	want := map[string][]holder{
		sock:     {{pid, 3, name("api")}, {child, 3, nil}},
		abstract: {{pid, 4, name("admin")}, {child, 4, nil}},
	}
	for _, args := range [][]string{{"-o", "json", sock, abstract}, {"-v", "-o", "json", sock, abstract}} {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), args, &stdout, &stderr); code != exitOK {
			t.Fatalf("run(%q) = %d, stderr %q", args, code, stderr.String())
		}
		doc := decodeListingJSON(t, stdout.String())
		got := map[string][]holder{}
		for _, s := range doc.Sockets {
			if s.SocketActivated {
				t.Errorf("%s: socket_activated, but systemd is not pid 1 here", s.Path)
			}
			for _, p := range s.Processes {
				got[s.Path] = append(got[s.Path], holder{p.PID, p.FD, p.FDName})
			}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("run(%q) holders (-want +got):\n%s", args, diff)
		}
	}

	// --check names the holders as the listing does.
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"--check", "-o", "json", sock}, &stdout, &stderr); code != exitOK {
		t.Fatalf("--check: exit %d, stderr %q\n%s", code, stderr.String(), stdout.String())
	}
	var check struct {
		Checks []struct {
			Processes []struct {
				PID    int     `json:"pid"`
				FDName *string `json:"fd_name"`
			} `json:"processes"`
		} `json:"checks"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &check); err != nil || len(check.Checks) != 1 {
		t.Fatalf("--check JSON: %v\n%s", err, stdout.String())
	}
	named := false
	for _, p := range check.Checks[0].Processes {
		named = named || p.PID == pid && p.FDName != nil && *p.FDName == "api"
	}
	if !named {
		t.Errorf("--check: no fd_name api for pid %d:\n%s", pid, stdout.String())
	}

	stdout.Reset()
	if code := run(context.Background(), []string{sock, abstract}, &stdout, &stderr); code != exitOK {
		t.Fatalf("table: exit %d, stderr %q", code, stderr.String())
	}
	lines := strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n")
	col := strings.Index(lines[0], "SERVICE")
	if col < 0 || len(lines) != 3 {
		t.Fatalf("want a SERVICE column and two rows:\n%s", stdout.String())
	}
	for i, fdName := range []string{":api", ":admin"} {
		cell := strings.Fields(lines[i+1][col:])[0]
		if !strings.Contains(cell, fdName) {
			t.Errorf("row %d: SERVICE %q, want it to name %s:\n%s", i+1, cell, fdName, stdout.String())
		}
	}
}

// cgroup2Mount is where the unified cgroup hierarchy is mounted, "" when
// it is not.
func cgroup2Mount(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		// "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS... - FSTYPE SOURCE SUPEROPTS"
		pre, post, ok := strings.Cut(line, " - ")
		if f := strings.Fields(pre); ok && len(f) >= 5 && strings.HasPrefix(post, "cgroup2 ") {
			return f[4]
		}
	}
	return ""
}

// inCgroup makes the cgroup rel below the unified hierarchy's root and
// moves pids into it; the test's end moves them back out and removes it.
func inCgroup(t *testing.T, mount, rel string, pids ...int) {
	t.Helper()
	dir := filepath.Join(mount, rel)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		testenv.Skipf(t, testenv.Root, "cannot make a cgroup: %v", err)
	}
	t.Cleanup(func() {
		// The processes are killed by then, or moved back to the root.
		for _, pid := range pids {
			os.WriteFile(filepath.Join(mount, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0)
		}
		for d := dir; d != mount && d != "/"; d = filepath.Dir(d) {
			// A parent still holding another test cgroup is left to
			// that one's cleanup.
			if err := os.Remove(d); errors.Is(err, syscall.EBUSY) {
				break
			} else if err != nil && !os.IsNotExist(err) {
				t.Errorf("cgroup %s left behind: %v", d, err)
				break
			}
		}
	})
	for _, pid := range pids {
		if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0); err != nil {
			testenv.Skipf(t, testenv.Root, "cannot move pid %d into a cgroup: %v", pid, err)
		}
	}
}

// TestServiceUnitRealCgroup puts a socket-activated server and its worker
// into a real cgroup named as systemd names a service's, with an escaped
// name (udsls\x2dtest-PID.service below a slice), and a second server into
// a user manager's unit: the listing names each unit as systemd spells it
// in JSON, escaped in the table, and --unit selects by it.
func TestServiceUnitRealCgroup(t *testing.T) {
	testenv.NeedRoot(t, "making cgroups")
	mount := cgroup2Mount(t)
	if mount == "" {
		testenv.Skipf(t, testenv.Root, "no cgroup2 hierarchy is mounted")
	}
	dir := t.TempDir()
	sock, abstract := filepath.Join(dir, "api.sock"), "@udsls-test-cg-"+strconv.Itoa(os.Getpid())
	pid, child := socketActivated(t, sock, abstract)
	slice := "udsls-test-" + strconv.Itoa(os.Getpid()) + ".slice"
	unit := `udsls\x2dtest-` + strconv.Itoa(os.Getpid()) + ".service"
	inCgroup(t, mount, filepath.Join(slice, unit), pid, child)

	userSock := filepath.Join(dir, "user.sock")
	// A process of its own, holding the listener, for the user unit.
	holder := testutil.HeldListener(t, userSock)
	inCgroup(t, mount, filepath.Join(slice, "user@4242.service", "app.slice", "udsls-app.service"), holder)

	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"-o", "json", sock, userSock}, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d, stderr %q", code, stderr.String())
	}
	type holderUnit struct {
		PID          int
		Unit, FDName *string
	}
	str := func(s string) *string { return &s }
	got := map[string][]holderUnit{}
	for _, s := range decodeListingJSON(t, stdout.String()).Sockets {
		for _, p := range s.Processes {
			got[s.Path] = append(got[s.Path], holderUnit{p.PID, p.Unit, p.FDName})
		}
	}
	want := map[string][]holderUnit{
		sock:     {{pid, str(unit), str("api")}, {child, str(unit), nil}},
		userSock: {{holder, str("udsls-app.service"), nil}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("units (-want +got):\n%s", diff)
	}

	stdout.Reset()
	if code := run(context.Background(), []string{"-W", "--unit", `udsls\\x2dtest-*`}, &stdout, &stderr); code != exitOK {
		t.Fatalf("--unit: exit %d, stderr %q", code, stderr.String())
	}
	out := stdout.String()
	for _, s := range []string{`udsls\\x2dtest-` + strconv.Itoa(os.Getpid()) + ".service:api", sock, abstract} {
		if !strings.Contains(out, s) {
			t.Errorf("--unit table lacks %q:\n%s", s, out)
		}
	}
	if strings.Contains(out, userSock) {
		t.Errorf("--unit shows another unit's socket:\n%s", out)
	}

	// The unit as a label, spelled as systemd spells it (the exposition
	// format doubles the backslash), for the listeners --unit selects.
	stdout.Reset()
	if code := run(context.Background(), []string{"-o", "prometheus", "--unit", "udsls-app", sock, userSock}, &stdout, &stderr); code != exitOK {
		t.Fatalf("-o prometheus: exit %d, stderr %q", code, stderr.String())
	}
	wantSeries := `udsls_listener_unit_info{fd_name="",netns="` + netnsOf(t) + `",path="` + userSock + `",unit="udsls-app.service"} 1`
	if !strings.Contains(stdout.String(), wantSeries+"\n") || strings.Count(stdout.String(), "udsls_listener_unit_info{") != 1 {
		t.Errorf("-o prometheus --unit udsls-app: want the one series %s:\n%s", wantSeries, stdout.String())
	}
	stdout.Reset()
	if code := run(context.Background(), []string{"-o", "prometheus", sock}, &stdout, &stderr); code != exitOK {
		t.Fatalf("-o prometheus: exit %d, stderr %q", code, stderr.String())
	}
	wantSeries = `udsls_listener_unit_info{fd_name="api",netns="` + netnsOf(t) + `",path="` + sock + `",unit="udsls\\x2dtest-` + strconv.Itoa(os.Getpid()) + `.service"} 1`
	if !strings.Contains(stdout.String(), wantSeries+"\n") {
		t.Errorf("-o prometheus: want %s:\n%s", wantSeries, stdout.String())
	}
}

// netnsOf is the inode of this process's network namespace.
func netnsOf(t *testing.T) string {
	t.Helper()
	l, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSuffix(strings.TrimPrefix(l, "net:["), "]")
}

// TestSocketActivatedNotMeant runs systemd-socket-activate in a pid
// namespace of its own, as in a container: the program it starts (A) is
// pid 1 there and LISTEN_PID=1 names it. A dups the listener to fd 7, past
// LISTEN_FDS; its child B keeps the variables; its child C runs with
// LISTEN_PID set to C's pid as this machine sees it, which is not the pid
// C has (getpid(2) in its namespace), so sd_listen_fds(3) in C finds
// nothing. Only A's fd 3 is named.
func TestSocketActivatedNotMeant(t *testing.T) {
	testenv.NeedRoot(t, "a pid namespace")
	activate := testenv.NeedTool(t, "systemd-socket-activate", "systemd")
	python := testenv.NeedTool(t, "python3", "python3")
	unshare := testenv.NeedTool(t, "unshare", "util-linux")
	sock := filepath.Join(t.TempDir(), "api.sock")
	// /proc is this machine's: /proc/self is the pid it sees.
	prog := `import os, sys, time
def host():
    return int(os.readlink('/proc/self'))
os.dup2(3, 7)
if os.fork() == 0:
    print('B', host(), flush=True)
    time.sleep(600)
    os._exit(0)
if os.fork() == 0:
    env = dict(os.environ, LISTEN_PID=str(host()))
    os.execve(sys.executable, [sys.executable, '-c', 'import os, time; print("C", os.readlink("/proc/self"), flush=True); time.sleep(600)'], env)
print('A', host(), os.getpid(), flush=True)
time.sleep(600)
`
	_, stdout, stderr := startGroup(t, unshare, "--pid", "--fork", "--kill-child", activate, "-l", sock, "--fdname=api", python, "-c", prog)
	lines := bufio.NewScanner(stderr)
	if !lines.Scan() || !strings.HasPrefix(lines.Text(), "Listening on ") {
		t.Fatalf("systemd-socket-activate: %q, %v", lines.Text(), lines.Err())
	}
	go io.Copy(io.Discard, stderr)
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	pids := map[string]int{}
	out := bufio.NewScanner(stdout)
	for len(pids) < 3 && out.Scan() {
		var who string
		var pid, inner int
		if n, _ := fmt.Sscan(out.Text(), &who, &pid, &inner); n < 2 {
			t.Fatalf("the activated program said %q", out.Text())
		}
		if who == "A" && inner != 1 {
			t.Fatalf("A is pid %d in its namespace, want 1", inner)
		}
		pids[who] = pid
	}
	if len(pids) < 3 {
		t.Fatalf("the activated program said only %v: %v", pids, out.Err())
	}

	type holder struct {
		PID, FD int
		FDName  *string
	}
	api := "api"
	want := []holder{
		{pids["A"], 3, &api}, {pids["A"], 7, nil},
		{pids["B"], 3, nil}, {pids["B"], 7, nil},
		{pids["C"], 3, nil}, {pids["C"], 7, nil},
	}
	byFD := func(a, b holder) int {
		if a.PID != b.PID {
			return a.PID - b.PID
		}
		return a.FD - b.FD
	}
	slices.SortFunc(want, byFD)
	var o, e bytes.Buffer
	if code := run(context.Background(), []string{"-o", "json", sock}, &o, &e); code != exitOK {
		t.Fatalf("exit %d, stderr %q", code, e.String())
	}
	var got []holder
	for _, s := range decodeListingJSON(t, o.String()).Sockets {
		for _, p := range s.Processes {
			got = append(got, holder{p.PID, p.FD, p.FDName})
		}
	}
	slices.SortFunc(got, byFD)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("holders of %s (-want +got):\n%s", sock, diff)
	}
}
