package linux

import (
	"context"
	"errors"
	"maps"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/udsls/udsls/inspect"
	"github.com/udsls/udsls/internal/testutil"
	"github.com/udsls/udsls/platform/linux/bpf"
	"github.com/udsls/udsls/platform/testenv"
	"github.com/udsls/udsls/platform/testserver"
)

// needBPF skips (or fails, under UDSLS_REQUIRE_BPF=1) unless the fd
// iterator loads here.
func needBPF(t testing.TB) {
	t.Helper()
	testutil.NeedBPF(t, "the fd iterator", bpf.OpenFDIter)
}

// holder is one descriptor that is a socket, as both fd sources report it.
type holder struct {
	pid, fd int
	id      inspect.SocketID
}

func holders(owners []inspect.Owner, keep func(inspect.Owner) bool) map[holder]bool {
	m := make(map[holder]bool, len(owners))
	for _, o := range owners {
		if keep == nil || keep(o) {
			m[holder{o.PID, o.FD, o.ID}] = true
		}
	}
	return m
}

// unixInodes lists the AF_UNIX sockets of every network namespace a
// process is in: the walk of /proc also finds other families' sockets,
// which the iterator leaves out.
func unixInodes(t *testing.T) map[inspect.SocketID]bool {
	t.Helper()
	snap, err := (&Source{Sockets: SocketsNetlink, AllNetns: true}).Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	m := make(map[inspect.SocketID]bool, len(snap.Sockets))
	for _, s := range snap.Sockets {
		m[s.ID] = true
	}
	return m
}

func diffHolders(t *testing.T, what string, want, got map[holder]bool) {
	t.Helper()
	var missing, extra []holder
	for h := range want {
		if !got[h] {
			missing = append(missing, h)
		}
	}
	for h := range got {
		if !want[h] {
			extra = append(extra, h)
		}
	}
	if len(missing)+len(extra) > 0 {
		t.Errorf("%s: bpf misses %d of procfs's %d holders (first %v) and adds %d (first %v)",
			what, len(missing), len(want), missing[:min(5, len(missing))], len(extra), extra[:min(5, len(extra))])
	}
}

// startHolder runs sleep holding a socketpair's ends as fds 3 and 4, with
// extra clone flags (a new pid namespace), and returns its pid and the
// holders procfs would report for it.
func startHolder(t *testing.T, attr *syscall.SysProcAttr) (int, []holder) {
	t.Helper()
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	files := []*os.File{os.NewFile(uintptr(pair[0]), "a"), os.NewFile(uintptr(pair[1]), "b")}
	var want []holder
	for i, f := range files {
		var st unix.Stat_t
		if err := unix.Fstat(int(f.Fd()), &st); err != nil {
			t.Fatal(err)
		}
		want = append(want, holder{fd: 3 + i, id: inspect.SocketID(st.Ino)})
	}
	cmd := exec.Command("sleep", "600")
	cmd.ExtraFiles = files
	cmd.SysProcAttr = attr
	err = cmd.Start()
	for _, f := range files {
		f.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for i := range want {
		want[i].pid = cmd.Process.Pid
	}
	return cmd.Process.Pid, want
}

// TestBPFMatchesProcfs compares the two fd sources on 10k live sockets of
// the test server, a process as nobody and one in a pid namespace of its
// own (whose pid, as we number it, is not the one it sees). The machine
// keeps running meanwhile, so the holders both walks of /proc around the
// iterator saw must all be found by it, and the iterator may add only
// holders that neither walk saw, of processes that are not ours.
func TestBPFMatchesProcfs(t *testing.T) {
	needBPF(t)
	srv, err := testserver.Start(testserver.Config{Dir: t.TempDir(), Count: 3334})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	nsPID, nsWant := startHolder(t, &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWPID})
	nobodyPID, nobodyWant := startHolder(t, &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}})
	ours := map[int]bool{os.Getpid(): true, nsPID: true, nobodyPID: true}

	ctx := context.Background()
	unixBefore := unixInodes(t)
	before, err := scanFDs(ctx, "/proc")
	if err != nil {
		t.Fatal(err)
	}
	got, err := scanBPF(ctx)
	if err != nil {
		t.Fatal(err)
	}
	after, err := scanFDs(ctx, "/proc")
	if err != nil {
		t.Fatal(err)
	}
	unixAfter := unixInodes(t)
	isUnix := func(o inspect.Owner) bool { return unixBefore[o.ID] || unixAfter[o.ID] }

	b, a := holders(before.owners, isUnix), holders(after.owners, isUnix)
	g := holders(got.owners, nil)
	if len(g) != len(got.owners) {
		t.Errorf("the iterator reported %d holders, %d of them distinct", len(got.owners), len(g))
	}
	both, either := map[holder]bool{}, map[holder]bool{}
	for h := range b {
		either[h] = true
		if a[h] {
			both[h] = true
		}
	}
	for h := range a {
		either[h] = true
	}
	var missed []holder
	for h := range both {
		if !g[h] {
			missed = append(missed, h)
		}
	}
	var added []holder
	for h := range g {
		if !either[h] && ours[h.pid] {
			added = append(added, h)
		}
	}
	if len(missed)+len(added) > 0 {
		t.Errorf("bpf misses %d of the %d holders both walks saw (first %v) and adds %d of ours (first %v)",
			len(missed), len(both), missed[:min(5, len(missed))], len(added), added[:min(5, len(added))])
	}
	// Ours are stable: exactly equal.
	isOurs := func(o inspect.Owner) bool { return ours[o.PID] && isUnix(o) }
	diffHolders(t, "our processes", holders(before.owners, isOurs), holders(got.owners, isOurs))

	if os.Getenv(inPidNSEnv) != "" {
		// The iterator must not list the machine's
		// processes, which the namespace's /proc does not show.
		for h := range g {
			if _, err := os.Stat("/proc/" + strconv.Itoa(h.pid)); err != nil {
				t.Errorf("bpf lists pid %d, which this namespace does not have: %+v", h.pid, h)
				break
			}
		}
	}
	if n := len(holders(got.owners, func(o inspect.Owner) bool { return o.PID == os.Getpid() })); n < 3*3334 {
		t.Errorf("bpf found %d of the test server's sockets, want at least %d", n, 3*3334)
	}
	for _, w := range append(nsWant, nobodyWant...) {
		if !g[w] {
			t.Errorf("bpf misses %+v", w)
		}
	}
}

// TestBPFUnderChurn runs the iterator while processes holding sockets are
// started and killed, and sockets opened and closed, as fast as they can:
// every run must succeed, list the long-lived sockets exactly, and report
// for a churned process only descriptors it was given, or, between fork
// and exec, the copies of ours.
func TestBPFUnderChurn(t *testing.T) {
	testenv.Heavy(t, "BPF iterations under process and socket churn, ~20s")
	needBPF(t)
	srv, err := testserver.Start(testserver.Config{Dir: t.TempDir(), Count: 300})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	ctx := context.Background()
	isMine := func(o inspect.Owner) bool { return o.PID == os.Getpid() }
	// Our own churned sockets come and go; the server's stay.
	var mu sync.Mutex
	longLived := map[inspect.SocketID]bool{}
	for _, s := range srv.Manifest().Sockets {
		if s.Inode != 0 {
			longLived[inspect.SocketID(s.Inode)] = true
		}
	}
	base, err := scanFDs(ctx, "/proc")
	if err != nil {
		t.Fatal(err)
	}
	want := holders(base.owners, func(o inspect.Owner) bool { return isMine(o) && longLived[o.ID] })
	if len(want) < 900 {
		t.Fatalf("procfs found %d of the server's holders", len(want))
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	given := map[int][]holder{} // churned pid, while it lives: what it holds
	churned := 0
	ours := maps.Clone(longLived)
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
				if err != nil {
					t.Error(err)
					return
				}
				var ids []inspect.SocketID
				for _, fd := range pair {
					var st unix.Stat_t
					unix.Fstat(fd, &st)
					ids = append(ids, inspect.SocketID(st.Ino))
				}
				files := []*os.File{os.NewFile(uintptr(pair[0]), "a"), os.NewFile(uintptr(pair[1]), "b")}
				cmd := exec.Command("sleep", "600")
				cmd.ExtraFiles = files
				err = cmd.Start()
				if err == nil {
					mu.Lock()
					ours[ids[0]], ours[ids[1]] = true, true
					given[cmd.Process.Pid] = []holder{{cmd.Process.Pid, 3, ids[0]}, {cmd.Process.Pid, 4, ids[1]}}
					churned++
					mu.Unlock()
				}
				time.Sleep(time.Millisecond)
				for _, f := range files {
					f.Close()
				}
				if err == nil {
					// Forgotten before it can be reaped: pids are reused (pid_max may
					// be 32768), and another package's tests run meanwhile.
					mu.Lock()
					delete(given, cmd.Process.Pid)
					mu.Unlock()
					cmd.Process.Kill()
					cmd.Wait()
				}
			}
		})
	}
	t.Cleanup(func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
		wg.Wait()
	})
	for i := range 30 {
		scan, err := scanBPF(ctx)
		if err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
		got := holders(scan.owners, func(o inspect.Owner) bool { return isMine(o) && longLived[o.ID] })
		diffHolders(t, "the test server", want, got)
		mu.Lock()
		for h := range holders(scan.owners, nil) {
			if g, ok := given[h.pid]; ok && !slices.Contains(g, h) && !ours[h.id] {
				t.Errorf("run %d: churned process %d reported with %+v, was given %+v", i, h.pid, h, g)
			}
		}
		mu.Unlock()
	}
	close(stop)
	wg.Wait()
	if churned < 10 {
		t.Errorf("only %d processes churned", churned)
	}
}

// fdsockProg matches the fd iterator's name.
func fdsockProg(name string) bool { return name == bpf.FDSockProgram }

// TestBPFLeavesNothingLoaded runs the iterator to the end, cancelled
// before it starts and cancelled while it reads, and then finds none of
// its programs or links in the kernel.
func TestBPFLeavesNothingLoaded(t *testing.T) {
	needBPF(t)
	srv, err := testserver.Start(testserver.Config{Dir: t.TempDir(), Count: 3000})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	before := testutil.LoadedBPF(t, fdsockProg)
	for i := range 6 {
		ctx, cancel := context.WithCancel(context.Background())
		switch i % 3 {
		case 0:
			cancel()
		case 1:
			time.AfterFunc(time.Duration(i)*3*time.Millisecond, cancel)
		}
		// A descriptor left open would be closed by its finalizer at some
		// garbage collection, hiding the leak: none until checked.
		gc := debug.SetGCPercent(-1)
		_, err := scanBPF(ctx)
		if err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("run %d: %v", i, err)
		}
		cancel()
		testutil.NoBPFLeft(t, fdsockProg, before)
		debug.SetGCPercent(gc)
		runtime.GC()
	}
}

// TestFDSourceAuto: auto runs the iterator where it pays off, and walks a
// procfs that is not the caller's /proc, where the iterator would list
// other processes than those the walk sees.
func TestFDSourceAuto(t *testing.T) {
	needBPF(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name      string
		root      string
		threshold int
		want      bool
	}{
		{"few files", "/proc", 1 << 40, false},
		{"many files", "/proc", 1, true},
		{"another procfs", "/proc/self/root/proc", 1, false},
	} {
		if os.Getenv(inPidNSEnv) != "" {
			tc.want = false // a pid namespace of its own sees few processes
		}
		s := &Source{FDs: FDsAuto, bpfThreshold: tc.threshold}
		scan, err := s.scanHolders(ctx, tc.root)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if scan.bpf != tc.want {
			t.Errorf("%s: ran the iterator: %v, want %v", tc.name, scan.bpf, tc.want)
		}
	}
}

// inPidNSEnv marks the run of TestBPFMatchesProcfs that
// TestBPFInPidNamespace starts in a pid namespace of its own.
const inPidNSEnv = "UDSLS_TEST_IN_PIDNS"

// TestBPFInPidNamespace runs TestBPFMatchesProcfs in a new pid namespace
// with its own /proc, as udsls runs in a container: the iterator must list
// only that namespace's processes, by the pids the walk of its /proc reads;
// and TestFDSourceAuto, where auto must walk /proc.
func TestBPFInPidNamespace(t *testing.T) {
	if os.Getenv(inPidNSEnv) != "" {
		t.Skip("already in the pid namespace")
	}
	needBPF(t)
	unshare := testenv.NeedTool(t, "unshare", "util-linux")
	cmd := exec.Command(unshare, "--pid", "--fork", "--kill-child", "--mount-proc",
		os.Args[0], "-test.run", "^(TestBPFMatchesProcfs|TestFDSourceAuto)$", "-test.v")
	cmd.Env = append(os.Environ(), inPidNSEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestBPFMatchesProcfs") || !strings.Contains(string(out), "--- PASS: TestFDSourceAuto") {
		t.Fatalf("TestBPFMatchesProcfs and TestFDSourceAuto in a new pid namespace: %v\n%s", err, out)
	}
}
