package linux

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/udsls/udsls/internal/testutil"
	"github.com/udsls/udsls/platform/testenv"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/udsls/udsls/inspect"
	"github.com/udsls/udsls/platform/sys"
)

// netnsDirEnv names the directory helperNetnsServe mounts its own tmpfs on.
const netnsDirEnv = "UDSLS_NETNS_TEST_DIR"

// helperNetnsServe runs in a namespace of its own: with netnsDirEnv set it
// mounts a tmpfs there (its own /run, invisible to the host) and listens on
// app.sock in it, mode 0604; it always listens on an abstract name. It
// prints its pid and each socket's fd and inode, and holds them until stdin
// closes.
func helperNetnsServe() {
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "netns-serve:", err)
		os.Exit(1)
	}
	listen := func(name string) (int, uint64) {
		l, err := net.ListenUnix("unix", &net.UnixAddr{Name: name, Net: "unix"})
		if err != nil {
			fail(err)
		}
		rc, err := l.SyscallConn()
		if err != nil {
			fail(err)
		}
		var fd int
		rc.Control(func(f uintptr) { fd = int(f) })
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			fail(err)
		}
		return fd, st.Ino
	}
	appFD, appIno := -1, uint64(0)
	if dir := os.Getenv(netnsDirEnv); dir != "" {
		if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "mode=0755"); err != nil {
			fail(err)
		}
		name := filepath.Join(dir, "app.sock")
		appFD, appIno = listen(name)
		if err := os.Chmod(name, 0o604); err != nil {
			fail(err)
		}
	}
	absFD, absIno := listen("@udsls-netns-test-" + rand.Text())
	fmt.Printf("%d %d %d %d %d\n", os.Getpid(), appFD, appIno, absFD, absIno)
	io.Copy(io.Discard, os.Stdin)
	os.Exit(0)
}

// netnsHelper is a running helperNetnsServe.
type netnsHelper struct {
	pid          int
	appFD, absFD int
	app, abs     inspect.SocketID
	netns        uint64
}

// startNetnsHelper runs helperNetnsServe under argv (an unshare command
// line); dir is passed on when not empty.
func startNetnsHelper(t *testing.T, bin, dir string, cred *syscall.Credential, argv ...string) *netnsHelper {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), argv[0], append(argv[1:], bin)...)
	cmd.Env = append(os.Environ(), liveHelperEnv+"=netns-serve", netnsDirEnv+"="+dir)
	if cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	line, stop, err := testutil.StartChild(t, cmd)
	h := &netnsHelper{}
	if err == nil {
		_, err = fmt.Sscan(line, &h.pid, &h.appFD, &h.app, &h.absFD, &h.abs)
	}
	if err != nil {
		stop()
		t.Fatalf("netns-serve helper said %q (%v), stderr %q", line, err, stderr.String())
	}
	if h.netns, err = nsInode(fmt.Sprintf("/proc/%d/ns/net", h.pid)); err != nil {
		t.Fatal(err)
	}
	return h
}

func selfNetns(t *testing.T) uint64 {
	t.Helper()
	ino, err := nsInode("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	return ino
}

// TestLiveNetns makes a network and mount namespace with a listener on a
// tmpfs of its own, where the host has a regular file at the same path, and
// reads it from outside.
func TestLiveNetns(t *testing.T) {
	testenv.NeedRoot(t, "needs root to create network and mount namespaces")
	unshare := testenv.NeedTool(t, "unshare", "util-linux")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "app.sock"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	h := startNetnsHelper(t, os.Args[0], dir, nil, unshare, "--net", "--mount", "--")
	self := selfNetns(t)
	if h.netns == self {
		t.Fatalf("helper shares our network namespace %d", self)
	}
	// One of our own, to tell our namespace's sockets from the helper's.
	ours, _ := socketPair(t, unix.SOCK_STREAM)
	ourID := liveInode(t, ours)
	appPath := filepath.Join(dir, "app.sock")

	snapshot := func(t *testing.T, src *Source) (*inspect.Snapshot, map[inspect.SocketID]inspect.Socket) {
		t.Helper()
		snap, err := src.Snapshot(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		byID := map[inspect.SocketID]inspect.Socket{}
		for _, s := range snap.Sockets {
			byID[s.ID] = s
		}
		return snap, byID
	}

	t.Run("default", func(t *testing.T) {
		_, byID := snapshot(t, &Source{Sockets: SocketsAuto})
		for _, id := range []inspect.SocketID{h.app, h.abs} {
			if s, ok := byID[id]; ok {
				t.Errorf("the caller's namespace lists the helper's socket %+v", s)
			}
		}
		if s := byID[ourID]; s.Netns != self || !s.Known.Has(inspect.KnownNetns) {
			t.Errorf("our socket %+v, want netns %d", s, self)
		}
	})

	for _, tt := range []struct {
		name    string
		sockets SocketSource
		backend string
	}{
		{"netlink", SocketsNetlink, "netlink"},
		{"procfs", SocketsProcfs, "procfs"},
		{"auto", SocketsAuto, "netlink"},
	} {
		t.Run("all/"+tt.name, func(t *testing.T) {
			snap, byID := snapshot(t, &Source{Sockets: tt.sockets, AllNetns: true})
			if snap.Backend != tt.backend {
				t.Errorf("Backend = %q, want %q", snap.Backend, tt.backend)
			}
			type seen struct {
				Path  string
				Netns uint64
				Known bool
			}
			want := []seen{{appPath, h.netns, true}, {"@", h.netns, true}, {"", self, true}}
			var got []seen
			for _, id := range []inspect.SocketID{h.app, h.abs, ourID} {
				s := byID[id]
				p := s.Path
				if s.Abstract {
					p = "@" // the random name is not the point
				}
				got = append(got, seen{p, s.Netns, s.Known.Has(inspect.KnownNetns)})
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("sockets (-want +got):\n%s", diff)
			}

			// The holder is found, and the file is judged as the helper
			// sees it: its socket, not the host's regular file.
			r := sys.NewResolver("/proc")
			var e *inspect.Entry
			es := r.Entries(t.Context(), snap, inspect.Query{Patterns: []string{appPath}})
			for i := range es {
				if es[i].ID == h.app {
					e = &es[i]
				}
			}
			if e == nil {
				t.Fatalf("no entry for %s among %d", appPath, len(es))
			}
			holders := []inspect.Holder{{PID: h.pid, FD: h.appFD}}
			if diff := cmp.Diff(holders, e.Holders, cmp.Comparer(func(a, b inspect.Holder) bool { return a.PID == b.PID && a.FD == b.FD })); diff != "" {
				t.Errorf("holders (-want +got):\n%s", diff)
			}
			if e.File == nil || e.File.Mode != fs.ModeSocket|0o604 || e.FileStatus != inspect.FileOK {
				t.Errorf("file %+v status %q, want the helper's socket, mode 0604, ok", e.File, e.FileStatus)
			}
		})
	}

	for _, tt := range []struct{ name, netns string }{
		{"pid", strconv.Itoa(h.pid)},
		{"path", fmt.Sprintf("/proc/%d/ns/net", h.pid)},
	} {
		t.Run("netns/"+tt.name, func(t *testing.T) {
			snap, byID := snapshot(t, &Source{Sockets: SocketsAuto, Netns: tt.netns})
			var others []uint64
			for _, s := range snap.Sockets {
				if s.Netns != h.netns {
					others = append(others, s.Netns)
				}
			}
			if len(others) > 0 {
				t.Errorf("sockets of other namespaces: %v", slices.Compact(others))
			}
			_, app := byID[h.app]
			_, abs := byID[h.abs]
			if !app || !abs || len(snap.Sockets) != 2 {
				t.Errorf("%d sockets, app %v, abstract %v; want exactly the helper's two (backend %s, warnings %q)", len(snap.Sockets), app, abs, snap.Backend, snap.Warnings)
			}
		})
	}

	t.Run("netns/bind-mount", func(t *testing.T) {
		// What `ip netns add` makes: the namespace's nsfs file bind-mounted
		// on a file of its own.
		file := filepath.Join(t.TempDir(), "blue")
		if err := os.WriteFile(file, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := unix.Mount(fmt.Sprintf("/proc/%d/ns/net", h.pid), file, "", unix.MS_BIND, ""); err != nil {
			testenv.Skipf(t, testenv.Root, "cannot bind-mount a namespace file: %v", err)
		}
		defer unix.Unmount(file, unix.MNT_DETACH)
		snap, byID := snapshot(t, &Source{Sockets: SocketsAuto, Netns: file})
		_, app := byID[h.app]
		_, abs := byID[h.abs]
		if len(snap.Sockets) != 2 || !app || !abs {
			t.Errorf("%d sockets, app %v, abstract %v; want exactly the helper's two", len(snap.Sockets), app, abs)
		}
		for _, s := range snap.Sockets {
			if s.Netns != h.netns {
				t.Errorf("socket %d of namespace %d, want %d", s.ID, s.Netns, h.netns)
			}
		}
	})

	t.Run("netns/errors", func(t *testing.T) {
		tests := []struct{ netns, want string }{
			{"999999999", "network namespace of pid 999999999: no such process"},
			{appPath, fmt.Sprintf("network namespace %q: %q is not a network namespace", appPath, appPath)},
			{filepath.Join(dir, "nope"), fmt.Sprintf("network namespace %q: no such file or directory", filepath.Join(dir, "nope"))},
		}
		for _, tt := range tests {
			_, err := (&Source{Sockets: SocketsAuto, Netns: tt.netns}).Snapshot(t.Context())
			if err == nil || err.Error() != tt.want {
				t.Errorf("--netns %s: error %v, want %s", tt.netns, err, tt.want)
			}
		}
	})

	t.Run("threads", func(t *testing.T) {
		// Each thread that entered the helper's namespace came back. One
		// that stayed would serve other goroutines in the wrong namespace,
		// or, if it is the main thread, turn /proc/self/ns/net foreign.
		for range 20 {
			if _, err := (&Source{Sockets: SocketsNetlink, Netns: strconv.Itoa(h.pid)}).Snapshot(t.Context()); err != nil {
				t.Fatal(err)
			}
		}
		tasks, err := os.ReadDir("/proc/self/task")
		if err != nil {
			t.Fatal(err)
		}
		for _, task := range tasks {
			ino, err := nsInode(filepath.Join("/proc/self/task", task.Name(), "ns", "net"))
			if err == nil && ino != self {
				t.Errorf("thread %s is in network namespace %d, want ours, %d", task.Name(), ino, self)
			}
		}
	})

	t.Run("container", func(t *testing.T) {
		id := testutil.FakeDockerCgroup(t, h.pid)
		src := &Source{Sockets: SocketsAuto, AllNetns: true}
		snap, _ := snapshot(t, src)
		r := sys.NewResolver("/proc")
		r.Container = src.Container
		var got []*inspect.Container
		for _, e := range r.Entries(t.Context(), snap, inspect.Query{}) {
			if e.ID == h.app || e.ID == h.abs {
				got = append(got, e.Container)
			}
		}
		c := &inspect.Container{ID: id, Runtime: "docker"}
		if diff := cmp.Diff([]*inspect.Container{c, c}, got); diff != "" {
			t.Errorf("containers of the helper's sockets (-want +got):\n%s", diff)
		}
		if c := src.Container(os.Getpid()); c != nil {
			t.Errorf("this test is labelled %+v, want no container", c)
		}
	})
}

// netnsResult is what helperSnapshotAllNetns reports.
type netnsResult struct {
	Warnings []string
	Netns    map[uint64]int // sockets by namespace
	Backend  string
}

// helperSnapshotAllNetns takes an every-namespace snapshot and reports it as
// JSON.
func helperSnapshotAllNetns() {
	snap, err := (&Source{Sockets: SocketsAuto, AllNetns: true}).Snapshot(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, "snapshot-all-netns:", err)
		os.Exit(1)
	}
	r := netnsResult{Warnings: snap.Warnings, Netns: map[uint64]int{}, Backend: snap.Backend}
	for _, s := range snap.Sockets {
		r.Netns[s.Netns]++
	}
	json.NewEncoder(os.Stdout).Encode(r)
	os.Exit(0)
}

// TestLiveNetnsUnprivileged lists every namespace as an unprivileged user
// while root holds a namespace it may not see, and the user one it may see
// but not enter (its own, made with unshare -rn).
func TestLiveNetnsUnprivileged(t *testing.T) {
	testenv.NeedRoot(t, "needs root to make a namespace an unprivileged user cannot see")
	unshare := testenv.NeedTool(t, "unshare", "util-linux")
	rootHelper := startNetnsHelper(t, os.Args[0], "", nil, unshare, "--net", "--")

	// The unprivileged processes must be able to execute a copy of this
	// binary.
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(dir, "helper")
	exe, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, exe, 0o755); err != nil {
		t.Fatal(err)
	}
	const nobody = 65534
	cred := &syscall.Credential{Uid: nobody, Gid: nobody, Groups: []uint32{}}
	userHelper := startNetnsHelper(t, bin, "", cred, unshare, "--user", "--map-root-user", "--net", "--")

	cmd := exec.CommandContext(t.Context(), bin)
	cmd.Env = append(os.Environ(), liveHelperEnv+"=snapshot-all-netns")
	cmd.Dir = dir
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	var got netnsResult
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("helper said %q: %v", out, err)
	}
	if got.Netns[rootHelper.netns] != 0 {
		t.Errorf("%d sockets of root's namespace listed for an unprivileged user", got.Netns[rootHelper.netns])
	}
	if got.Netns[userHelper.netns] != 1 {
		t.Errorf("%d sockets of the user's own namespace, want its helper's 1", got.Netns[userHelper.netns])
	}
	if got.Backend != "netlink+procfs" {
		t.Errorf("Backend = %q, want netlink+procfs", got.Backend)
	}
	want := []*regexp.Regexp{
		regexp.MustCompile(`^network namespace ` + strconv.FormatUint(userHelper.netns, 10) + ` \(pid ` + strconv.Itoa(userHelper.pid) +
			`\) read from /proc/<pid>/net/unix \(setns: operation not permitted\): peers, queues, .* are unknown there$`),
		regexp.MustCompile(`^the network namespaces of [0-9]+ process(es)? are unknown \(permission denied: pid [0-9, .]+\); sockets only there are not shown; run as root to see every namespace$`),
	}
	var match []string
	for _, w := range got.Warnings {
		if slices.ContainsFunc(want, func(re *regexp.Regexp) bool { return re.MatchString(w) }) {
			match = append(match, w)
		}
	}
	if len(match) != len(want) {
		t.Errorf("warnings %q, want one matching each of %q", got.Warnings, want)
	}
}

// TestExhaustiveMissing: a namespace that cannot be read leaves its
// sockets out; for removals, Exhaustive says so in Snapshot.Missing, since
// a socket bound there and not listening is alive and refuses connects.
func TestExhaustiveMissing(t *testing.T) {
	testenv.NeedRoot(t, "creating a network namespace")
	unshare := testenv.NeedTool(t, "unshare", "util-linux")
	h := startNetnsHelper(t, os.Args[0], "", nil, unshare, "--net", "--")
	self := selfNetns(t)
	// A dump that fails anywhere but in our own namespace, as one a
	// filter or an old kernel refuses would.
	failing := func(ctx context.Context) ([]inspect.Socket, error) {
		if ino, _ := nsInode("/proc/thread-self/ns/net"); ino != self {
			return nil, errors.New("refused here")
		}
		return DumpUnix(ctx)
	}
	src := &Source{Sockets: SocketsNetlink, AllNetns: true, Exhaustive: true, dumpUnix: failing}
	snap, err := src.Snapshot(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(snap.Missing, "unreadable (refused here)") || !strings.Contains(snap.Missing, strconv.FormatUint(h.netns, 10)) {
		t.Errorf("Missing = %q", snap.Missing)
	}
	src.dumpUnix = nil
	if snap, err = src.Snapshot(t.Context()); err != nil || snap.Missing != "" {
		t.Errorf("every namespace read: %v, Missing %q", err, snap.Missing)
	}
}

// TestNetnsPidReused: a namespace listed through a process that exited
// since, its pid now another's in another namespace, is gone: its sockets
// are not the new process's namespace's. Here the pid leads to this
// process, in the host's namespace, and the namespace listed is one that
// does not exist; through sock_diag and through procfs, it is skipped
// rather than given the host's sockets (which were then listed twice, the
// second time as the dead namespace's).
func TestNetnsPidReused(t *testing.T) {
	self := selfNetns(t)
	file := filepath.Join("/proc", strconv.Itoa(os.Getpid()), "ns", "net")
	dead := netnsRef{ino: self + 1, pid: os.Getpid(), file: file}
	for name, src := range map[string]SocketSource{"auto": SocketsAuto, "procfs": SocketsProcfs} {
		socks, _, _, err := (&Source{Sockets: src}).readNetns(t.Context(), "/proc", dead, self)
		if len(socks) != 0 || !gone(err) {
			t.Errorf("%s: %d sockets, error %v; want none, the namespace gone", name, len(socks), err)
		}
	}
}

// TestNetnsOutOfFDs: a namespace whose read runs short of descriptors for
// a moment (the fd walk beside it holds some under a low RLIMIT_NOFILE)
// is read on a later try, not left out: with --stale, left out, it made
// every stale file "unknown" (TestLimits/nofile, when another test's
// namespace was there).
func TestNetnsOutOfFDs(t *testing.T) {
	testenv.NeedRoot(t, "creating a network namespace")
	unshare := testenv.NeedTool(t, "unshare", "util-linux")
	h := startNetnsHelper(t, os.Args[0], "", nil, unshare, "--net", "--")
	var mu sync.Mutex
	failures := 2
	short := func(ctx context.Context) ([]inspect.Socket, error) {
		if ino, _ := nsInode("/proc/thread-self/ns/net"); ino == h.netns {
			mu.Lock()
			fail := failures > 0
			failures--
			mu.Unlock()
			if fail {
				return nil, fmt.Errorf("netlink sock_diag: %w", os.NewSyscallError("socket", syscall.EMFILE))
			}
		}
		return DumpUnix(ctx)
	}
	src := &Source{Sockets: SocketsNetlink, AllNetns: true, Exhaustive: true, dumpUnix: short}
	snap, err := src.Snapshot(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if snap.Missing != "" || len(snap.Warnings) > 0 {
		t.Errorf("Missing %q, warnings %q; want the namespace read on a later try", snap.Missing, snap.Warnings)
	}
	if !slices.ContainsFunc(snap.Sockets, func(s inspect.Socket) bool { return s.Netns == h.netns }) {
		t.Errorf("no socket of namespace %d", h.netns)
	}
}
