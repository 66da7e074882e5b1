package darwin

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/udsls/udsls/platform/testenv"

	"github.com/google/go-cmp/cmp"

	"github.com/udsls/udsls/inspect"
	"github.com/udsls/udsls/platform/capture"
	"github.com/udsls/udsls/platform/linux"
	"github.com/udsls/udsls/platform/testserver"
)

// The macOS backend cannot run here, but its lsof half can: Linux lsof
// prints the same -F fields. These tests run the very command the backend
// runs, narrowed to this process, while the test server holds sockets of
// every kind, and check what the parser makes of it against the kernel.

func needLsof(t *testing.T) {
	t.Helper()
	testenv.NeedTool(t, "lsof", "lsof")
}

// procSelfSockets reads which fds of this process hold which unix socket:
// /proc/self/fd links read "socket:[inode]", and /proc/net/unix says which
// inodes are AF_UNIX.
func procSelfSockets(t *testing.T) map[int]inspect.SocketID {
	t.Helper()
	f, err := os.Open("/proc/net/unix")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	unix, err := linux.ParseProcNetUnix(f)
	if err != nil {
		t.Fatal(err)
	}
	isUnix := map[inspect.SocketID]bool{}
	for _, s := range unix {
		isUnix[s.ID] = true
	}
	links, err := filepath.Glob("/proc/self/fd/*")
	if err != nil {
		t.Fatal(err)
	}
	out := map[int]inspect.SocketID{}
	for _, l := range links {
		target, err := os.Readlink(l)
		if err != nil {
			continue // the fd Glob itself used, now closed
		}
		n, ok := strings.CutPrefix(target, "socket:[")
		if !ok {
			continue
		}
		ino, err := strconv.ParseUint(strings.TrimSuffix(n, "]"), 10, 64)
		if err != nil {
			t.Fatalf("%s -> %q", l, target)
		}
		if isUnix[inspect.SocketID(ino)] {
			fd, _ := strconv.Atoi(filepath.Base(l))
			out[fd] = inspect.SocketID(ino)
		}
	}
	return out
}

func TestLiveLsofMatchesProcFD(t *testing.T) {
	needLsof(t)
	srv, err := testserver.Start(testserver.Config{Dir: t.TempDir(), Count: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	pid := os.Getpid()

	l, warnings, err := readLsof(context.Background(), "-a", "-p", strconv.Itoa(pid))
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 0 {
		t.Errorf("warnings: %q", warnings)
	}
	got := map[int]inspect.SocketID{}
	byFD := map[int]capture.LsofFile{}
	for _, f := range l.Files {
		if f.PID != pid {
			t.Errorf("lsof -p %d listed pid %d", pid, f.PID)
		}
		got[f.FD] = f.ID
		byFD[f.FD] = f
	}
	if diff := cmp.Diff(procSelfSockets(t), got); diff != "" {
		t.Errorf("fd -> inode, /proc/self/fd (-want) against lsof (+got)\n%s", diff)
	}
	if !l.Inodes {
		t.Error("Linux lsof printed no inodes")
	}

	comm, err := os.ReadFile("/proc/self/comm")
	if err != nil {
		t.Fatal(err)
	}
	p := l.Processes[pid]
	if p.PID != pid || p.Command != strings.TrimSpace(string(comm)) || p.UID != uint32(os.Geteuid()) || p.User == "" {
		t.Errorf("process %+v; want command %q, uid %d and a login name", p, strings.TrimSpace(string(comm)), os.Geteuid())
	}

	n := 0
	for _, s := range srv.Manifest().Sockets {
		if s.FD == 0 {
			continue // stale files have no socket
		}
		n++
		f, ok := byFD[s.FD]
		if !ok {
			t.Errorf("%s: fd %d not listed", s.Role, s.FD)
			continue
		}
		// Linux lsof takes names from /proc/net/unix, which cuts them at
		// the first blank.
		if f.ID != inspect.SocketID(s.Inode) || f.Type != s.Type || f.State != s.State ||
			f.Abstract != s.Abstract || !strings.HasPrefix(s.Path, f.Path) || s.Path != "" && f.Path == "" {
			t.Errorf("%s: lsof says %+v, the server made %+v", s.Role, f, s)
		}
	}
	if n < 10 {
		t.Errorf("only %d sockets with fds in the manifest", n)
	}
}

// TestLiveLsofExitStatus1 asks lsof for one pid that runs and one that
// cannot (pids stay below pid_max): lsof lists ours and exits 1, which is a
// partial answer and a warning, not a failure.
func TestLiveLsofExitStatus1(t *testing.T) {
	needLsof(t)
	b, err := os.ReadFile("/proc/sys/kernel/pid_max")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := testserver.Start(testserver.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	pids := strconv.Itoa(os.Getpid()) + "," + strings.TrimSpace(string(b))
	l, warnings, err := readLsof(context.Background(), "-a", "-p", pids)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Files) == 0 || len(warnings) != 1 || !strings.HasPrefix(warnings[0], "lsof exited with status 1") {
		t.Errorf("got %d files and warnings %q; want our sockets and one warning", len(l.Files), warnings)
	}

	l, warnings, err = readLsof(context.Background(), "-a", "-p", strings.TrimSpace(string(b)))
	if err != nil || len(l.Files) != 0 || len(warnings) != 0 {
		t.Errorf("nothing to list: got %+v, %q, %v; want no files, no warning, no error", l, warnings, err)
	}
}
