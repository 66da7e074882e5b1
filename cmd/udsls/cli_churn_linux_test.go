//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/udsls/udsls/inspect/render"
	"github.com/udsls/udsls/platform/testenv"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/udsls/udsls/inspect"
)

// churnEnv sets how long TestChurn churns; scripts/soak.sh sets it.
const churnEnv = "UDSLS_CHURN_FOR"

const (
	// churnRunTimeout bounds each udsls run: one that takes longer hangs.
	churnRunTimeout = time.Minute
	// churnMinRuns is how often each udsls loop runs at least.
	churnMinRuns = 3
)

// TestChurn keeps creating and closing sockets and starting and killing
// processes that hold them while udsls lists, checks and removes stale
// files in a loop. No run may fail, hang or print a row that contradicts
// itself, and --stale --remove may never delete the file of a live socket:
// every churned socket's file is checked just before the socket is closed,
// and the long-lived ones are checked and probed at the end.
func TestChurn(t *testing.T) {
	d := 3 * time.Second
	s := os.Getenv(churnEnv)
	if s == "" { // asking for a soak of a chosen length runs it anyway
		testenv.Heavy(t, "seconds of socket and process churn, ~8s")
	}
	if s != "" {
		var err error
		if d, err = time.ParseDuration(s); err != nil || d <= 0 {
			t.Fatalf("%s=%q: want a positive duration", churnEnv, s)
		}
	}
	sleep := testenv.NeedTool(t, "sleep", "coreutils")
	c := &churner{t: t, dir: t.TempDir(), sleep: sleep, budget: make(chan struct{}, churnBudget)}
	c.startLongLived()
	c.refill()

	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	var wg sync.WaitGroup
	// The churners are paced so that they leave udsls some of the machine's
	// two cores, and by udsls's progress (the budget): the udsls loops run
	// back to back.
	loop := func(every time.Duration, f func(n int)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var tick <-chan time.Time
			if every > 0 {
				tk := time.NewTicker(every)
				defer tk.Stop()
				tick = tk.C
			}
			for n := 0; ctx.Err() == nil; n++ {
				if tick != nil {
					select {
					case <-c.budget:
					case <-ctx.Done():
						return
					}
				}
				f(n)
				if tick != nil {
					select {
					case <-tick:
					case <-ctx.Done():
					}
				}
			}
		}()
	}
	for range 2 {
		loop(2*time.Millisecond, func(int) { c.churnSocket() })
		loop(4*time.Millisecond, func(int) { c.churnProcess() })
	}
	loop(2*time.Millisecond, func(int) { c.churnConnection() })
	loop(0, c.list)
	loop(0, func(int) { c.check() })
	loop(0, c.stale)
	// Churn for d, and on until each udsls loop has run a few times, so that
	// a slow machine still tests what the test is for.
	start := time.Now()
	go func() {
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for range t.C {
			if time.Since(start) >= d && min(c.listings.Load(), c.checks.Load(), c.staleRuns.Load()) >= churnMinRuns {
				stop()
				return
			}
		}
	}()

	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d + churnMinRuns*churnRunTimeout):
		buf := make([]byte, 1<<20)
		t.Fatalf("the loops did not stop: something hangs\n%s", buf[:runtime.Stack(buf, true)])
	}
	d = time.Since(start)
	c.drain()

	// Nothing churns now: one more run must remove every stale file left
	// and leave exactly the long-lived sockets' files.
	doc := c.runStale("--stale", c.dir, "--remove", "-o", "json")
	c.removed.Add(int64(countRemoved(doc)))
	var left, want []string
	filepath.WalkDir(c.dir, func(p string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			left = append(left, p)
		}
		return err
	})
	for _, l := range c.long {
		want = append(want, l.path)
	}
	slices.Sort(left)
	slices.Sort(want)
	if diff := cmp.Diff(want, left); diff != "" {
		t.Errorf("after the last --stale --remove, files other than the long-lived sockets' (-want +got):\n%s", diff)
	}
	c.checkLongLived()

	secs := d.Seconds()
	t.Logf("churned for %v: %d sockets opened and closed (%.0f/s), %d processes holding a listener started and killed (%.0f/s), %d client connections (%.0f/s)",
		d, c.sockets.Load(), float64(c.sockets.Load())/secs, c.procs.Load(), float64(c.procs.Load())/secs, c.conns.Load(), float64(c.conns.Load())/secs)
	t.Logf("udsls meanwhile: %d listings, %d check runs (%d paths), %d stale scans with --remove, %d stale files removed",
		c.listings.Load(), c.checks.Load(), c.checked.Load(), c.staleRuns.Load(), c.removed.Load())
	if c.removed.Load() == 0 {
		t.Error("no stale file was removed: the churn left none or --stale --remove found none")
	}
}

// churner holds the churning sockets and processes and counts what was done.
type churner struct {
	t     *testing.T
	dir   string
	sleep string
	seq   atomic.Int64
	long  []longLived

	mu    sync.Mutex
	open  []churnSock // sockets in the order opened
	kids  []*churnKid // processes holding listeners, in the order started
	paths []string    // recently closed names, for --check
	dials []string    // listener names to dial

	leftStale                            atomic.Int64  // since the last stale scan started
	budget                               chan struct{} // churning steps allowed, churnBudget at most
	failures                             atomic.Int64
	sockets, procs, conns                atomic.Int64
	listings, checks, checked, staleRuns atomic.Int64
	removed                              atomic.Int64
}

// Each churning goroutine keeps this many of its sockets or processes alive,
// so that every scan meets some that are about to go.
const (
	churnOpen = 32
	churnKids = 8
	// churnStaleBacklog is how many stale files the churners leave
	// between the starts of two stale scans; past it they unlink the
	// files of what they close, as a clean server does. The churners run
	// at a pace the clock sets and --stale at one the machine's load
	// sets: unbounded, the files piled up faster than a scan under -race
	// on a loaded machine could probe them (thousands), each scan took
	// longer than the last, and runs hit churnRunTimeout.
	churnStaleBacklog = 200
	// churnBudget is how many churning steps (a socket, a process, a
	// connection) may be taken before a udsls run ends, and how many each
	// run's end allows more. Paced by the clock alone, the churners took
	// a loaded machine's time from udsls, in this very process: the test
	// had a sixth of a core, and runs did not end within churnRunTimeout.
	churnBudget = 100
)

type churnSock struct {
	fd   int
	path string
	file inspect.FileID // zero for abstract names
}

type churnKid struct {
	cmd  *exec.Cmd
	path string
	file inspect.FileID
}

// longLived is a socket that lives for the whole test.
type longLived struct {
	kind string // listener, child-listener, bound, dgram
	path string
	file inspect.FileID
}

// errorf reports a failure; after a few, only counts them, so that one
// systematic fault does not bury the log.
func (c *churner) errorf(format string, a ...any) {
	c.t.Helper()
	if n := c.failures.Add(1); n <= 20 {
		c.t.Errorf(format, a...)
	} else if n == 21 {
		c.t.Errorf("more failures follow, not shown")
	}
}

func (c *churner) name(prefix string) string {
	return filepath.Join(c.dir, prefix+strconv.FormatInt(c.seq.Add(1), 10)+".sock")
}

// fileID is the identity of the file at path, zero when there is none.
func fileID(path string) inspect.FileID {
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		return inspect.FileID{}
	}
	return inspect.FileID{Dev: st.Dev, Ino: st.Ino}
}

// bind makes a socket of type typ bound to path, listening if listen.
func bind(path string, typ int, listen bool) (int, error) {
	fd, err := unix.Socket(unix.AF_UNIX, typ|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("bind %q: %w", path, err)
	}
	if listen {
		if err := unix.Listen(fd, 64); err != nil {
			unix.Close(fd)
			return -1, err
		}
	}
	return fd, nil
}

// still says whether a live socket's file is still where it was bound.
func (c *churner) still(path string, want inspect.FileID, what string) {
	if got := fileID(path); got != want {
		c.errorf("the file of a live %s %q is gone or replaced (%v, was %v): removed while in use", what, path, got, want)
	}
}

func (c *churner) startLongLived() {
	t := c.t
	for range 3 {
		path := c.name("listener")
		l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
		if err != nil {
			t.Fatal(err)
		}
		l.SetUnlinkOnClose(false)
		go func() {
			for {
				conn, err := l.Accept()
				if err != nil {
					return
				}
				conn.Close()
			}
		}()
		t.Cleanup(func() { l.Close() })
		c.long = append(c.long, longLived{kind: "listener", path: path, file: fileID(path)})
		c.dials = append(c.dials, path)
	}
	for _, kind := range []string{"bound", "bound", "dgram", "dgram"} {
		path := c.name(kind)
		typ := unix.SOCK_STREAM
		if kind == "dgram" {
			typ = unix.SOCK_DGRAM
		}
		fd, err := bind(path, typ, false)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { unix.Close(fd) })
		c.long = append(c.long, longLived{kind: kind, path: path, file: fileID(path)})
	}
	// Another process's socket that refuses connections: only the
	// snapshot shows it is alive.
	k, err := c.startKid(c.name("child-bound"), false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.cmd.Process.Kill(); k.cmd.Wait() })
	c.long = append(c.long, longLived{kind: "child-bound", path: k.path, file: k.file})
	c.startServe()
}

// startServe runs `udsls --serve` in a child process, whose echo sockets
// answer, and takes its live files as long-lived; its stale file is for
// --stale to remove.
func (c *churner) startServe() {
	t := c.t
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "--serve", "-o", "json", filepath.Join(c.dir, "serve"))
	cmd.Args[0] = "udsls" // testscript.Main runs the command of that name
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	var m serveManifest
	if err := json.NewDecoder(out).Decode(&m); err != nil {
		t.Fatalf("udsls --serve manifest: %v", err)
	}
	kinds := map[string]string{"echo-stream": "served-stream", "echo-dgram": "served-dgram", "seqpacket": "served-seqpacket", "full": "served-idle", "hostile": "served-idle"}
	for _, s := range m.Sockets {
		if k := kinds[s.Role]; k != "" && !s.Abstract {
			c.long = append(c.long, longLived{kind: k, path: s.Path, file: fileID(s.Path)})
		}
	}
	if len(c.long) < 5 {
		t.Fatalf("udsls --serve made none of the sockets it should: %+v", m)
	}
}

// probeNetwork says how to connect to a long-lived socket of a kind, ""
// for those that cannot take a connection.
var probeNetwork = map[string]string{
	"listener": "unix", "served-stream": "unix", "served-seqpacket": "unixpacket",
	"dgram": "unixgram", "served-dgram": "unixgram",
}

// checkLongLived requires every long-lived socket's file in place, and
// those that take connections to answer.
func (c *churner) checkLongLived() {
	for _, l := range c.long {
		c.still(l.path, l.file, l.kind)
		network := probeNetwork[l.kind]
		if network == "" {
			continue
		}
		conn, err := net.Dial(network, l.path)
		if err != nil {
			c.errorf("long-lived %s %q does not answer: %v", l.kind, l.path, err)
			continue
		}
		conn.Close()
	}
}

// startKid binds a stream socket at path, listening if listen, and hands it
// to a sleep(1) child, which is then its only holder: the socket lives
// exactly as long as the child.
func (c *churner) startKid(path string, listen bool) (*churnKid, error) {
	fd, err := bind(path, unix.SOCK_STREAM, listen)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), path)
	defer f.Close()
	cmd := exec.Command(c.sleep, "600")
	cmd.ExtraFiles = []*os.File{f}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return &churnKid{cmd: cmd, path: path, file: fileID(path)}, nil
}

// churnSocket opens one socket, of a kind that changes from call to call,
// and closes the oldest open one. Half of the closed files are left behind
// as stale files, the other half unlinked as a clean server would.
func (c *churner) churnSocket() {
	n := c.seq.Add(1)
	name := func(kind string) string {
		return filepath.Join(c.dir, kind+strconv.FormatInt(n, 10)+".sock")
	}
	var s churnSock
	var err error
	switch n % 4 {
	case 0:
		s.path = name("stream")
		s.fd, err = bind(s.path, unix.SOCK_STREAM, true)
	case 1:
		s.path = name("dgram")
		s.fd, err = bind(s.path, unix.SOCK_DGRAM, false)
	case 2:
		// Bound but not listening: it refuses connections, so only the
		// snapshot can tell --stale that it is alive.
		s.path = name("bound")
		s.fd, err = bind(s.path, unix.SOCK_STREAM, false)
	default:
		s.path = "@udsls-churn-" + strconv.Itoa(os.Getpid()) + "-" + strconv.FormatInt(n, 10)
		s.fd, err = bind(s.path, unix.SOCK_SEQPACKET, true)
	}
	if err != nil {
		c.errorf("churn: %v", err)
		return
	}
	if !strings.HasPrefix(s.path, "@") {
		s.file = fileID(s.path)
	}
	c.sockets.Add(1)
	c.mu.Lock()
	c.open = append(c.open, s)
	var old *churnSock
	if len(c.open) > churnOpen {
		old = &c.open[0]
		c.open = c.open[1:]
	}
	c.mu.Unlock()
	if old != nil {
		c.closeSock(*old, n%2 == 0)
	}
}

func (c *churner) closeSock(s churnSock, unlink bool) {
	if !s.file.IsZero() {
		c.still(s.path, s.file, "socket")
	}
	unix.Close(s.fd)
	if s.file.IsZero() {
		return
	}
	c.mu.Lock()
	c.paths = append(c.paths, s.path)
	if len(c.paths) > 8 {
		c.paths = c.paths[1:]
	}
	c.mu.Unlock()
	if unlink || !c.leaveStale() {
		os.Remove(s.path) // --stale may have taken it already
	}
}

// leaveStale says whether the file of what was just closed may stay
// behind as a stale file: while the backlog allows it.
func (c *churner) leaveStale() bool { return c.leftStale.Add(1) <= churnStaleBacklog }

// churnProcess starts a process holding a listener and kills the oldest;
// the killed process's file is left stale while the backlog allows.
func (c *churner) churnProcess() {
	k, err := c.startKid(c.name("kid"), true)
	if err != nil {
		c.errorf("churn: %v", err)
		return
	}
	c.procs.Add(1)
	c.mu.Lock()
	c.kids = append(c.kids, k)
	var old *churnKid
	if len(c.kids) > 2*churnKids {
		old = c.kids[0]
		c.kids = c.kids[1:]
	}
	c.mu.Unlock()
	if old != nil {
		c.kill(old)
	}
}

func (c *churner) kill(k *churnKid) {
	c.still(k.path, k.file, "child's listener")
	k.cmd.Process.Kill()
	k.cmd.Wait()
	if !c.leaveStale() {
		os.Remove(k.path)
	}
}

// churnConnection connects to a long-lived listener and hangs up.
func (c *churner) churnConnection() {
	path := c.dials[c.seq.Load()%int64(len(c.dials))]
	conn, err := net.Dial("unix", path)
	if err != nil {
		c.errorf("churn: dial %q: %v", path, err)
		return
	}
	conn.Close()
	c.conns.Add(1)
}

// drain closes what the churners still hold.
func (c *churner) drain() {
	for _, s := range c.open {
		c.closeSock(s, false)
	}
	for _, k := range c.kids {
		c.kill(k)
	}
	c.open, c.kids = nil, nil
}

// udsls runs one invocation in this process with its own deadline.
func (c *churner) udsls(args ...string) (int, []byte, string) {
	ctx, cancel := context.WithTimeout(context.Background(), churnRunTimeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	code := run(ctx, args, &stdout, &stderr)
	if ctx.Err() != nil {
		c.errorf("udsls %q did not finish within %v", args, churnRunTimeout)
	}
	c.refill()
	return code, stdout.Bytes(), stderr.String()
}

// refill allows churnBudget churning steps more, up to churnBudget.
func (c *churner) refill() {
	for range churnBudget {
		select {
		case c.budget <- struct{}{}:
		default:
			return
		}
	}
}

// list runs the listings in turn, on the churned sockets only: the
// machine may hold many more, which would make each run slow.
func (c *churner) list(n int) {
	mine := []string{filepath.Join(c.dir, "*"), filepath.Join(c.dir, "serve", "*"), "@udsls-churn-" + strconv.Itoa(os.Getpid()) + "-*"}
	args := [][]string{
		append([]string{"-a", "-o", "json"}, mine...),
		append([]string{"-a", "-o", "json", "--source", "procfs"}, mine...),
		append([]string{"--peers", "-o", "json"}, mine...),
		append([]string{"-a", "--peers"}, mine...),
		append([]string{"-o", "prometheus"}, mine...),
	}[n%5]
	code, out, errOut := c.udsls(args...)
	c.listings.Add(1)
	if code != exitOK {
		c.errorf("udsls %q: exit %d, want 0; stderr:\n%s", args, code, errOut)
		return
	}
	if !slices.Contains(args, "json") {
		return
	}
	var doc render.ListingJSON
	if err := json.Unmarshal(out, &doc); err != nil {
		c.errorf("udsls %q: %v", args, err)
		return
	}
	procfs := slices.Contains(args, "procfs")
	seen := map[inspect.SocketID]bool{}
	paths := map[string]bool{}
	for i := range doc.Sockets {
		s := &doc.Sockets[i]
		for _, p := range contradictions(s, procfs) {
			c.errorf("udsls %q lists %s socket %d %q that contradicts itself: %s", args, s.State, s.Inode, s.Path, p)
		}
		if s.Inode != 0 && seen[s.Inode] {
			c.errorf("udsls %q lists socket %d twice", args, s.Inode)
		}
		seen[s.Inode] = true
		paths[s.Path] = true
	}
	// The long-lived sockets are there from before the run to after it.
	for _, l := range c.long {
		if !paths[l.path] {
			c.errorf("udsls %q does not list long-lived %s %q", args, l.kind, l.path)
		}
	}
}

// contradictions lists what cannot all be true of one listed socket.
func contradictions(s *render.SocketJSON, procfs bool) []string {
	var bad []string
	claim := func(ok bool, what string) {
		if !ok {
			bad = append(bad, what)
		}
	}
	listening := s.State == inspect.StateListening
	named := s.Path != ""
	fsName := named && !s.Abstract
	claim(s.Type != 0 && s.State != 0, "a live source left its type or state unknown")
	claim(!listening || (s.PeerInode == 0 && s.Peer == nil), "a listener with a peer")
	claim(!listening || (s.RecvQueue == nil && s.SendQueue == nil), "a listener with byte queues")
	claim(listening || (s.Pending == nil && s.Backlog == nil), "a non-listener with pending connections or a backlog")
	claim(s.Peer == nil || s.Peer.Inode == s.PeerInode, "peer and peer_inode disagree")
	claim(!s.Abstract || strings.HasPrefix(s.Path, "@"), "abstract without a leading @")
	claim((s.FileStatus != nil) == fsName, "file_status set for a socket without a file name, or missing for one with")
	claim(s.File == nil || fsName, "file details of a socket without a file name")
	claim(s.FileStatus == nil || *s.FileStatus != inspect.FileGone || s.File == nil, "a gone file with file details")
	claim(s.Connections == nil || *s.Connections >= 0, "a negative connection count")
	claim(procfs || s.Inode != 0, "inode 0 from netlink")
	for _, p := range s.Processes {
		claim(p.PID > 0, "a holder with pid "+strconv.Itoa(p.PID))
		claim(p.FD >= 0, "a holder with fd "+strconv.Itoa(p.FD))
		claim(p.UID != nil || (p.Command == "" && p.User == ""), "a holder with a command or user but no uid")
	}
	return bad
}

func (c *churner) check() {
	c.mu.Lock()
	paths := append([]string(nil), c.paths...)
	c.mu.Unlock()
	up := map[string]bool{}
	for _, l := range c.long {
		if probeNetwork[l.kind] != "" {
			up[l.path] = true
			paths = append(paths, l.path)
		}
	}
	args := append([]string{"--check", "-o", "json"}, paths...)
	code, out, errOut := c.udsls(args...)
	c.checks.Add(1)
	c.checked.Add(int64(len(paths)))
	if code != exitOK && code != exitNo {
		c.errorf("udsls --check: exit %d, want 0 or 1; stderr:\n%s", code, errOut)
		return
	}
	var doc render.ChecksJSON
	if err := json.Unmarshal(out, &doc); err != nil {
		c.errorf("udsls --check: %v", err)
		return
	}
	if len(doc.Checks) != len(paths) {
		c.errorf("udsls --check of %d paths gave %d verdicts", len(paths), len(doc.Checks))
		return
	}
	healthy := true
	for i, r := range doc.Checks {
		switch {
		case r.Path != paths[i]:
			c.errorf("verdict %d is for %q, want %q", i, r.Path, paths[i])
		case r.Healthy != (r.Verdict == inspect.VerdictUp):
			c.errorf("%q: healthy %v with verdict %s", r.Path, r.Healthy, r.Verdict)
		case up[r.Path] && r.Verdict != inspect.VerdictUp:
			c.errorf("long-lived %q: verdict %s (%s), want up", r.Path, r.Verdict, r.Reason)
		}
		healthy = healthy && r.Healthy
	}
	if healthy != (code == exitOK) {
		c.errorf("udsls --check: exit %d with every verdict healthy %v", code, healthy)
	}
}

func (c *churner) stale(n int) {
	args := []string{"--stale", c.dir, "--remove", "-o", "json"}
	if n%2 == 1 {
		args = append(args, "--source", "procfs")
	}
	c.leftStale.Store(0)
	doc := c.runStale(args...)
	c.removed.Add(int64(countRemoved(doc)))
}

func (c *churner) runStale(args ...string) *render.StaleReportJSON {
	code, out, errOut := c.udsls(args...)
	c.staleRuns.Add(1)
	if code != exitOK && code != exitNo {
		c.errorf("udsls %q: exit %d, want 0 or 1; stderr:\n%s", args, code, errOut)
		return nil
	}
	var doc render.StaleReportJSON
	if err := json.Unmarshal(out, &doc); err != nil {
		c.errorf("udsls %q: %v", args, err)
		return nil
	}
	for _, f := range doc.Stale {
		for _, l := range c.long {
			if f.Path == l.path {
				c.errorf("udsls %q calls long-lived %s %q stale (removed %v)", args, l.kind, l.path, f.Removed)
			}
		}
	}
	return &doc
}

func countRemoved(doc *render.StaleReportJSON) int {
	if doc == nil {
		return 0
	}
	n := 0
	for _, f := range doc.Stale {
		if f.Removed {
			n++
		}
	}
	return n
}
