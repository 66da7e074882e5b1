package main

import (
	"bytes"
	"net"
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

// TestListArgumentsLiteral: an argument naming an existing file is that file, even when its
// name reads as a glob ([1] would match "1", a lone [ would abort the whole listing).
func TestListArgumentsLiteral(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"a[1].sock", "1.sock", "b[.sock"} {
		l, err := net.Listen("unix", filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
	}
	for _, c := range []struct{ arg, want string }{
		{filepath.Join(dir, "a[1].sock"), "a[1].sock"},
		{filepath.Join(dir, "b[.sock"), "b[.sock"},
		{filepath.Join(dir, "[1].sock"), "1.sock"}, // no such file: a glob
	} {
		code, out, errOut := runUdsls("-o", "json", c.arg)
		if code != exitOK {
			t.Errorf("udsls %q: exit %d, %s", c.arg, code, errOut)
			continue
		}
		if n := strings.Count(out, `"path"`); n != 1 || !strings.Contains(out, `/`+c.want+`"`) {
			t.Errorf("udsls %q lists %d sockets, want only %s:\n%s", c.arg, n, c.want, out)
		}
	}
	code, out, errOut := runUdsls(filepath.Join(dir, "nothing[.sock"))
	if code != exitError || out != "" || !strings.Contains(errOut, "bad pattern") || !strings.Contains(errOut, "escape a literal [") {
		t.Errorf("a bad glob: exit %d, stdout %q, stderr %q; want 2 and a hint how to quote", code, out, errOut)
	}
}

// TestListEmptySaysSo: nothing to show leaves stdout empty and says why on stderr.
func TestListEmptySaysSo(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"/nonexistent/*.sock"}, exitNo, "udsls: no sockets match\n"},
		{[]string{"-p", "2147483646"}, exitNo, "udsls: no process 2147483646\n"},
		{[]string{"-q", "-p", "2147483646"}, exitNo, ""},
		{[]string{"-u", "no-such-user-udsls"}, exitError, `udsls: error: --user: no user "no-such-user-udsls" on this machine`},
	} {
		code, out, errOut := runUdsls(c.args...)
		if code != c.code || out != "" || !strings.Contains(errOut, c.want) || (c.want == "" && errOut != "") {
			t.Errorf("udsls %q: exit %d, stdout %q, stderr %q; want exit %d, stderr with %q", c.args, code, out, errOut, c.code, c.want)
		}
	}
}

// TestListOtherNetnsHint: -p of a process in another network namespace finds nothing in
// ours, and says that -N would.
func TestListOtherNetnsHint(t *testing.T) {
	testenv.NeedRoot(t, "a new network namespace")
	unshare := testenv.NeedTool(t, "unshare", "util-linux")
	sleep := testenv.NeedTool(t, "sleep", "coreutils")
	cmd := exec.Command(unshare, "--net", sleep, "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	pid := strconv.Itoa(cmd.Process.Pid)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		mine, _ := os.Readlink("/proc/self/ns/net")
		theirs, _ := os.Readlink("/proc/" + pid + "/ns/net")
		if theirs != "" && theirs != mine {
			break // unshare has exec'd sleep in the new namespace
		}
		if time.Now().After(deadline) {
			t.Fatal("the child never entered a new network namespace")
		}
	}
	code, _, errOut := runUdsls("-p", pid)
	if code != exitNo || !strings.Contains(errOut, "hint: process "+pid+" is in another network namespace; -N") {
		t.Errorf("udsls -p %s: exit %d, stderr %q; want 1 and a hint to use -N", pid, code, errOut)
	}
}

// TestTableFitsTerminal runs udsls in a real 80-column terminal (tmux): no line may be
// wider, the path is shortened in the middle, and --wide or a pipe gives full rows.
func TestTableFitsTerminal(t *testing.T) {
	tmux := testenv.NeedTool(t, "tmux", "tmux")
	bin := buildUdsls(t)
	dir := filepath.Join(t.TempDir(), strings.Repeat("long-dir-", 3))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "server.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })

	sock2 := filepath.Join(dir, "second.sock")
	l2, err := net.Listen("unix", sock2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l2.Close() })

	session := "udsls-test-" + strconv.Itoa(os.Getpid())
	sh := bin + " -e " + sock + " " + sock2 + " 2>/dev/null; " + bin + " -W " + sock + " 2>/dev/null; echo done; sleep 30"
	if out, err := exec.Command(tmux, "new-session", "-d", "-s", session, "-x", "80", "-y", "20", "sh", "-c", sh).CombinedOutput(); err != nil {
		t.Fatalf("tmux: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command(tmux, "kill-session", "-t", session).Run() })
	var screen string
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		out, err := exec.Command(tmux, "capture-pane", "-p", "-J", "-t", session).Output()
		if err != nil {
			t.Fatal(err)
		}
		if screen = string(out); strings.Contains(screen, "done") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("udsls did not finish in tmux:\n%s", screen)
		}
	}
	lines := strings.Split(screen, "\n")
	// The first table: header and two rows, each at most 80 columns, with INODE kept.
	if len(lines) < 4 || !strings.HasPrefix(lines[0], "PATH") || !strings.Contains(lines[0], "INODE") {
		t.Fatalf("screen:\n%s", screen)
	}
	for _, l := range lines[:3] {
		if n := len([]rune(l)); n > 80 {
			t.Errorf("line of %d columns in an 80-column terminal: %q", n, l)
		}
		if l == lines[0] {
			continue
		}
		head, tail, ok := strings.Cut(strings.Fields(l)[0], "…")
		if !ok || !strings.HasPrefix(sock, head) || !strings.HasSuffix(sock, tail) && !strings.HasSuffix(sock2, tail) || len(tail) < 4 {
			t.Errorf("row does not keep the path's head and tail around …: %q", l)
		}
	}
	// -W: the full path, wrapped by the terminal but whole (-J joins wrapped lines).
	if !strings.Contains(screen, sock) {
		t.Errorf("udsls -W does not print the whole path %s:\n%s", sock, screen)
	}
	var piped bytes.Buffer
	cmd := exec.Command(bin, sock)
	cmd.Stdout = &piped
	if err := cmd.Run(); err != nil || !strings.Contains(piped.String(), sock) {
		t.Errorf("piped: %v, %q; want the whole path", err, piped.String())
	}
}

// TestListRelativeArgument: `udsls demo/*` from the shell names files by relative paths;
// they match the sockets bound by absolute ones.
func TestListRelativeArgument(t *testing.T) {
	dir := t.TempDir()
	l, err := net.Listen("unix", filepath.Join(dir, "rel.sock"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	t.Chdir(filepath.Dir(dir))
	arg := filepath.Join(filepath.Base(dir), "rel.sock")
	if code, out, errOut := runUdsls(arg); code != exitOK || !strings.Contains(out, filepath.Join(dir, "rel.sock")) {
		t.Errorf("udsls %s: exit %d, %q, %q; want the socket listed", arg, code, out, errOut)
	}
}

// TestListOwnerWarningOnlyWhenItMatters: that some process could not be read changes nothing
// about a listing whose every socket shows its holder, so it is not said there.
func TestListOwnerWarningOnlyWhenItMatters(t *testing.T) {
	p := filepath.Join(t.TempDir(), "held.sock")
	l, err := net.Listen("unix", p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	for _, args := range [][]string{{p}, {"-o", "json", p}} {
		code, out, errOut := runUdsls(args...)
		if code != exitOK || !strings.Contains(out, strconv.Itoa(os.Getpid())) || errOut != "" {
			t.Errorf("udsls %q: exit %d, stderr %q; want our pid as holder and no warning\n%s", args, code, errOut, out)
		}
	}
}

// TestCleanResultsSaySo: a clean --stale or --audit leaves stdout empty for scripts and says
// on stderr that it ran and found nothing.
func TestCleanResultsSaySo(t *testing.T) {
	dir := t.TempDir() // 0700: nobody else reaches what is in it
	l, err := net.Listen("unix", filepath.Join(dir, "private.sock"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--stale", dir}, "udsls: no stale socket files in " + dir + " ("},
		{[]string{"--audit", "-q", dir}, ""},
		{[]string{"--audit", dir}, "udsls: no audit findings\n"},
	} {
		code, out, errOut := runUdsls(c.args...)
		if code != exitOK || out != "" || !strings.Contains(errOut, c.want) || (c.want == "" && errOut != "") {
			t.Errorf("udsls %q: exit %d, stdout %q, stderr %q; want 0, nothing, and %q", c.args, code, out, errOut, c.want)
		}
	}
}

// TestCheckUsesListing: a listener alive after its file was deleted is "missing" to clients,
// and the check says the server lives and who holds it; a --wait that ends unhealthy says how
// long it waited.
func TestCheckUsesListing(t *testing.T) {
	p := filepath.Join(t.TempDir(), "gone.sock")
	l, err := net.Listen("unix", p)
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	t.Cleanup(func() { l.Close() })
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runUdsls("--check", "--wait", "200ms", p)
	if code != exitNo || !strings.Contains(out, ": missing: ") || !strings.Contains(out, "listening socket bound to this path lives on") ||
		!strings.Contains(out, "held by pid "+strconv.Itoa(os.Getpid())) {
		t.Errorf("exit %d, stdout %q; want missing, the live listener and its holder", code, out)
	}
	if !strings.Contains(errOut, "udsls: waited 200ms; 1 of 1 still not healthy") {
		t.Errorf("stderr %q does not say how long it waited", errOut)
	}
}

// TestListPidHoldsOnlyConnections: a process that holds only a socketpair shows nothing in the
// default view, and the note points at -a, which shows it.
func TestListPidHoldsOnlyConnections(t *testing.T) {
	sleep := testenv.NeedTool(t, "sleep", "coreutils")
	cmd := exec.Command(sleep, "60")
	pair, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	f := os.NewFile(uintptr(pair[0]), "pair")
	defer f.Close()
	syscall.Close(pair[1])
	cmd.ExtraFiles = []*os.File{f}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	pid := strconv.Itoa(cmd.Process.Pid)
	code, out, errOut := runUdsls("-p", pid)
	if code != exitNo || out != "" || !strings.Contains(errOut, "udsls: no sockets match; -a also shows connections") {
		t.Errorf("udsls -p %s: exit %d, %q, %q", pid, code, out, errOut)
	}
	if code, out, _ := runUdsls("-a", "-p", pid); code != exitOK || !strings.Contains(out, pid+"/sleep") {
		t.Errorf("udsls -a -p %s: exit %d, %q; want its socketpair end", pid, code, out)
	}
}
