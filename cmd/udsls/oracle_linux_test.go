package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/udsls/udsls/inspect"
	"github.com/udsls/udsls/inspect/render"
	"github.com/udsls/udsls/internal/testutil"
	"github.com/udsls/udsls/platform"
	"github.com/udsls/udsls/platform/testenv"
	"github.com/udsls/udsls/platform/testserver"
)

// TestOracle is the differential test: it builds a world of sockets whose
// truth it knows because it made them (holders forked, dup'ed, at high
// fds, passed by SCM_RIGHTS and in flight; one abstract name in three
// extra network namespaces with 1, 2 and 3 clients; a same-named listener
// in a private mount namespace; relative binds; hostile names; connections
// never accepted; datagram sockets connected in pairs), then requires
// every field of `udsls -a --peers -o json` (host, -N, --netns PID,
// --source procfs) to agree with `ss -xapHe` run inside each namespace and
// with what the world's makers know, and every --check verdict with what a
// real connect gets.
func TestOracle(t *testing.T) {
	testenv.Heavy(t, "builds a world of thousands of sockets in several namespaces, ~25s")
	testenv.NeedRoot(t, "network and mount namespaces")
	ss := testenv.NeedTool(t, "ss", "iproute2")
	unshare := testenv.NeedTool(t, "unshare", "util-linux")
	nsenter := testenv.NeedTool(t, "nsenter", "util-linux")
	bash := testenv.NeedTool(t, "bash", "bash")

	w := newWorld(t)
	w.build(unshare, bash)
	t.Logf("world: %d sockets made (%d listeners), %d holder processes, %d extra network namespaces, %d hostile names",
		len(w.socks), w.listeners(), len(w.pids)-1, len(w.nss), w.hostileCount())

	host := w.ssIn(t, ss, nsenter, 0)
	all := map[uint64]ssRow{}
	maps := []map[uint64]ssRow{host}
	for _, ns := range w.nss {
		maps = append(maps, w.ssIn(t, ss, nsenter, ns.pid))
	}
	for _, m := range maps {
		for k, v := range m {
			all[k] = v
		}
	}
	nsOnly := maps[2] // the namespace with two clients

	t.Run("host", func(t *testing.T) {
		w.compare(t, w.list(t, "-a", "--peers"), host, view{least: 2000, netns: []uint64{w.hostNetns}})
	})
	t.Run("all-netns", func(t *testing.T) {
		w.compare(t, w.list(t, "-a", "--peers", "-N"), all, view{least: 2000, netns: append([]uint64{w.hostNetns}, w.nsInodes()...), all: true})
	})
	t.Run("netns", func(t *testing.T) {
		ns := w.nss[1]
		w.compare(t, w.list(t, "-a", "--peers", "--netns", strconv.Itoa(ns.pid)), nsOnly, view{least: 5, netns: []uint64{ns.ino}})
	})
	t.Run("procfs", func(t *testing.T) {
		w.compare(t, w.list(t, "-a", "--source", "procfs"), host, view{least: 2000, netns: []uint64{w.hostNetns}, procfs: true})
	})
	t.Run("all-netns-procfs", func(t *testing.T) {
		w.compare(t, w.list(t, "-a", "-N", "--source", "procfs"), all, view{least: 2000, netns: append([]uint64{w.hostNetns}, w.nsInodes()...), all: true, procfs: true})
	})
	t.Run("check", func(t *testing.T) { w.checkVerdicts(t, false) })
	t.Run("check-as-nobody", func(t *testing.T) { w.checkVerdicts(t, true) })
	t.Run("prometheus", func(t *testing.T) {
		// One series per listener of the shared abstract name, by netns.
		var stdout, stderr bytes.Buffer
		shared := fmt.Sprintf("@udsls-oracle-shared-%d", w.self)
		if code := run(context.Background(), []string{"-N", "-o", "prometheus", shared}, &stdout, &stderr); code != exitOK {
			t.Fatalf("exit %d: %s", code, stderr.String())
		}
		got := parseProm(t, stdout.String())
		for k, ns := range w.nss {
			key := fmt.Sprintf("udsls_listener_connections{container=\"\",netns=\"%d\",path=%q}", ns.ino, shared)
			if v, ok := got[key]; !ok || v != float64(k+1) {
				t.Errorf("%s = %v (present %v), want %d\n%s", key, v, ok, k+1, stdout.String())
			}
		}
	})
}

// made is what the test knows of a socket it made.
type made struct {
	ino      uint64
	path     string // as bound: "" unnamed, "@name" abstract
	typ      inspect.Type
	state    inspect.State
	netns    uint64
	peer     uint64 // 0 when none, or the end not yet accepted
	holders  map[[2]int]bool
	hostile  bool
	listener bool
	// Of a listener or bound datagram socket: the accepted ends (their
	// netns is their client's) or the senders connected to it.
	accepted []uint64
	// Of a listener: the client ends of its connections, accepted or not.
	clients []uint64
	// The name is shared with another listener in its namespace, or
	// relative: procfs cannot tell whose the connections are.
	ambiguous bool
	// Its connections are not the test's to know (udsls --serve's).
	unjudged bool
	// root is where its maker's files are seen: "" for ours.
	root string
	// Its file was removed and another socket bound at the path.
	replaced bool
}

type nsProc struct {
	pid int
	ino uint64
}

type world struct {
	t         *testing.T
	dir       string
	self      int
	hostNetns uint64
	socks     map[uint64]*made
	pids      []int
	nss       []nsProc
	checks    []checkCase
	fds       []int
}

// checkCase is a path --check is asked about, and what the test knows.
type checkCase struct {
	path string
	// bound: a live socket is bound there (listening or not).
	bound bool
	// via is the name a client connects through (a long path's
	// /proc/self/fd name); "" for path itself.
	via string
}

func newWorld(t *testing.T) *world {
	w := &world{t: t, dir: t.TempDir(), self: os.Getpid(), socks: map[uint64]*made{}}
	w.pids = []int{w.self}
	w.hostNetns = nsIno(t, "/proc/self/ns/net")
	openUp(t, w.dir) // nobody's checks reach in
	t.Cleanup(func() {
		for _, fd := range w.fds {
			unix.Close(fd)
		}
	})
	return w
}

func nsIno(t *testing.T, p string) uint64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat(p, &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

func (w *world) listeners() int {
	n := 0
	for _, s := range w.socks {
		if s.listener {
			n++
		}
	}
	return n
}

func (w *world) hostileCount() int {
	n := 0
	for _, s := range w.socks {
		if s.hostile && s.listener {
			n++
		}
	}
	return n
}

func (w *world) nsInodes() []uint64 {
	var out []uint64
	for _, ns := range w.nss {
		out = append(out, ns.ino)
	}
	return out
}

// sock makes a socket held by the test and records it.
func (w *world) sock(typ inspect.Type, netns uint64) (int, *made) {
	w.t.Helper()
	fd, err := unix.Socket(unix.AF_UNIX, int(typ)|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		w.t.Fatal(err)
	}
	w.fds = append(w.fds, fd)
	m := &made{ino: testutil.FDInode(w.t, fd), typ: typ, state: inspect.StateUnconnected, netns: netns, holders: map[[2]int]bool{{w.self, fd}: true}}
	w.socks[m.ino] = m
	return fd, m
}

func (w *world) bind(fd int, m *made, name string) {
	w.t.Helper()
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: name}); err != nil {
		w.t.Fatalf("bind %q: %v", name, err)
	}
	m.path = name
}

func (w *world) listen(typ inspect.Type, netns uint64, name string, backlog int) (int, *made) {
	w.t.Helper()
	fd, m := w.sock(typ, netns)
	w.bind(fd, m, name)
	if err := unix.Listen(fd, backlog); err != nil {
		w.t.Fatal(err)
	}
	m.state, m.listener = inspect.StateListening, true
	return fd, m
}

// connect makes a client of listener l, accepted unless pending.
func (w *world) connect(lfd int, l *made, clientNetns uint64, pending bool) (cfd int, c *made) {
	w.t.Helper()
	cfd, c = w.sock(l.typ, clientNetns)
	if err := unix.Connect(cfd, &unix.SockaddrUnix{Name: l.path}); err != nil {
		w.t.Fatalf("connect %q: %v", l.path, err)
	}
	l.clients = append(l.clients, c.ino)
	if pending {
		c.state = inspect.StateConnected
		return cfd, c
	}
	afd, _, err := unix.Accept4(lfd, unix.SOCK_CLOEXEC)
	if err != nil {
		w.t.Fatal(err)
	}
	w.fds = append(w.fds, afd)
	a := &made{ino: testutil.FDInode(w.t, afd), path: l.path, typ: l.typ, state: inspect.StateConnected, netns: clientNetns,
		peer: c.ino, holders: map[[2]int]bool{{w.self, afd}: true}, hostile: l.hostile}
	w.socks[a.ino] = a
	c.state, c.peer = inspect.StateConnected, a.ino
	l.accepted = append(l.accepted, a.ino)
	return cfd, c
}

func (w *world) build(unshare, bash string) {
	t := w.t
	host := w.hostNetns
	// First, to let its echoes settle: a private mount namespace: udsls --serve binds on a tmpfs only it
	// sees, and the test binds the same names on the host, with two
	// clients where the server's echo listener has one.
	priv := filepath.Join(w.dir, "priv")
	if err := os.MkdirAll(filepath.Join(priv, "s"), 0o755); err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(unshare, "--mount", "--propagation", "private", "--", bash, "-c",
		`mount -t tmpfs tmpfs "$1" && exec -a udsls "$2" --serve -o json "$1/s"`, "_", priv, exe)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	var m testserver.Manifest
	if err := json.NewDecoder(out).Decode(&m); err != nil {
		t.Fatalf("udsls --serve in a private mount namespace: %v", err)
	}
	w.pids = append(w.pids, m.PID)
	w.adoptServe(&m)
	for _, s := range m.Sockets {
		if s.Role != testserver.RoleEchoStream {
			continue
		}
		lfd, l := w.listen(inspect.TypeStream, host, s.Path, 4)
		w.connect(lfd, l, host, false)
		w.connect(lfd, l, host, false)
		l.ambiguous = true
		for _, o := range w.socks {
			if o.listener && o.path == s.Path && o != l {
				o.ambiguous = true
			}
		}
	}

	many := filepath.Join(w.dir, "many")
	if err := os.Mkdir(many, 0o755); err != nil {
		t.Fatal(err)
	}
	// Many listeners, each with an accepted connection, every fourth with
	// one never accepted: over 10 000 sockets where the fd limit allows.
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if lim.Cur < 1<<16 {
		// The world needs a descriptor per socket: raise the limit where
		// we may (CAP_SYS_RESOURCE), else make a smaller world.
		old, more := lim, unix.Rlimit{Cur: 1 << 16, Max: max(lim.Max, 1<<16)}
		if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &more); err == nil {
			lim = more
			t.Cleanup(func() { unix.Setrlimit(unix.RLIMIT_NOFILE, &old) })
		}
	}
	if lim.Cur < 4000 {
		t.Fatalf("RLIMIT_NOFILE is %d: too few descriptors for the world", lim.Cur)
	}
	for i := range min(3300, (int(min(lim.Cur, 1<<20))-1000)/4) {
		lfd, l := w.listen(inspect.TypeStream, host, filepath.Join(many, fmt.Sprintf("l-%d.sock", i)), 8)
		w.connect(lfd, l, host, false)
		if i%4 == 0 {
			w.connect(lfd, l, host, true)
		}
	}
	// Seqpacket, and a listener whose backlog is full.
	sfd, s := w.listen(inspect.TypeSeqpacket, host, filepath.Join(w.dir, "seq.sock"), 4)
	w.connect(sfd, s, host, false)
	w.checks = append(w.checks, checkCase{path: s.path, bound: true})
	ffd, f := w.listen(inspect.TypeStream, host, filepath.Join(w.dir, "full.sock"), 0)
	w.connect(ffd, f, host, true)
	w.checks = append(w.checks, checkCase{path: f.path, bound: true})

	// Datagram sockets: a bound server with two connected senders, a
	// bound one connected to another (it refuses everyone else), an
	// unconnected abstract one, and an unnamed connected pair.
	dfd, d := w.sock(inspect.TypeDgram, host)
	w.bind(dfd, d, filepath.Join(w.dir, "dgram.sock"))
	d.listener = true
	for range 2 {
		cfd, c := w.sock(inspect.TypeDgram, host)
		if err := unix.Connect(cfd, &unix.SockaddrUnix{Name: d.path}); err != nil {
			t.Fatal(err)
		}
		// The kernel marks the receiver established too (unix_dgram_connect
		// sets both sk_state), though it has no peer: udsls shows it
		// unconnected, which is what it is to anyone else.
		c.state, c.peer = inspect.StateConnected, d.ino
		d.accepted = append(d.accepted, c.ino)
		d.clients = append(d.clients, c.ino)
	}
	tfd, tk := w.sock(inspect.TypeDgram, host)
	w.bind(tfd, tk, filepath.Join(w.dir, "taken.sock"))
	tk.listener = true
	ofd, other := w.sock(inspect.TypeDgram, host)
	w.bind(ofd, other, filepath.Join(w.dir, "other.sock"))
	other.listener = true
	if err := unix.Connect(tfd, &unix.SockaddrUnix{Name: other.path}); err != nil {
		t.Fatal(err)
	}
	tk.state, tk.peer = inspect.StateConnected, other.ino
	other.accepted = append(other.accepted, tk.ino)
	other.clients = append(other.clients, tk.ino)
	w.checks = append(w.checks, checkCase{path: d.path, bound: true}, checkCase{path: tk.path, bound: true}, checkCase{path: other.path, bound: true})
	afd, ab := w.sock(inspect.TypeDgram, host)
	w.bind(afd, ab, fmt.Sprintf("@udsls-oracle-dgram-%d", w.self))
	ab.listener = true
	w.checks = append(w.checks, checkCase{path: ab.path, bound: true})
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	w.adopt(pair[0], inspect.TypeDgram, "", inspect.StateConnected)
	w.adopt(pair[1], inspect.TypeDgram, "", inspect.StateConnected)
	w.socks[testutil.FDInode(t, pair[0])].peer = testutil.FDInode(t, pair[1])
	w.socks[testutil.FDInode(t, pair[1])].peer = testutil.FDInode(t, pair[0])

	// Bound and not listening, by a file and by an abstract name: held,
	// refusing every connect, and not stale.
	bfd, b := w.sock(inspect.TypeStream, host)
	w.bind(bfd, b, filepath.Join(w.dir, "bound.sock"))
	w.checks = append(w.checks, checkCase{path: b.path, bound: true})
	bafd, ba := w.sock(inspect.TypeStream, host)
	w.bind(bafd, ba, fmt.Sprintf("@udsls-oracle-bound-%d", w.self))
	w.checks = append(w.checks, checkCase{path: ba.path, bound: true})
	// A stale file, and a name nothing holds.
	stale := filepath.Join(w.dir, "stale.sock")
	sfd2, _ := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err := unix.Bind(sfd2, &unix.SockaddrUnix{Name: stale}); err != nil {
		t.Fatal(err)
	}
	unix.Close(sfd2)
	w.checks = append(w.checks, checkCase{path: stale}, checkCase{path: fmt.Sprintf("@udsls-oracle-nobody-%d", w.self)})

	// A 110-byte path, bound through its directory's descriptor.
	long := filepath.Join(w.dir, strings.Repeat("L", max(1, 110-len(w.dir)-len("/.sock")))+".sock")
	dirfd, err := unix.Open(w.dir, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	w.fds = append(w.fds, dirfd)
	via := fmt.Sprintf("/proc/self/fd/%d/%s", dirfd, filepath.Base(long))
	lfd, ll := w.listen(inspect.TypeStream, host, via, 4)
	ll.path = via // the kernel keeps the name as given
	w.connect(lfd, ll, host, false)
	w.checks = append(w.checks, checkCase{path: long, bound: true, via: via})

	// A replaced file: the old listener keeps serving its clients while
	// a new one is bound at the path, with one and two clients.
	repl := filepath.Join(w.dir, "replaced.sock")
	ofd2, old := w.listen(inspect.TypeStream, host, repl, 4)
	w.connect(ofd2, old, host, false)
	if err := os.Remove(repl); err != nil {
		t.Fatal(err)
	}
	nfd, nw := w.listen(inspect.TypeStream, host, repl, 4)
	w.connect(nfd, nw, host, false)
	w.connect(nfd, nw, host, false)
	old.ambiguous, nw.ambiguous, old.replaced = true, true, true
	w.socks[old.accepted[0]].replaced = true
	w.checks = append(w.checks, checkCase{path: repl, bound: true})

	// Who may connect: a socket file's write bit, every directory's
	// search bit, for nobody as for root.
	for d, mode := range map[string]uint32{"open": 0o755, "locked": 0o700, "trav": 0o711} {
		dir := filepath.Join(w.dir, d)
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, fmode := range map[string]uint32{"pub.sock": 0o666, "priv.sock": 0o600} {
			lfd, l := w.listen(inspect.TypeStream, host, filepath.Join(dir, name), 4)
			w.connect(lfd, l, host, false)
			if err := os.Chmod(l.path, os.FileMode(fmode)); err != nil {
				t.Fatal(err)
			}
			w.checks = append(w.checks, checkCase{path: l.path, bound: true})
		}
		dead := filepath.Join(dir, "dead.sock")
		dfd, _ := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err := unix.Bind(dfd, &unix.SockaddrUnix{Name: dead}); err != nil {
			t.Fatal(err)
		}
		unix.Close(dfd)
		if err := os.Chmod(dead, 0o666); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(dir, os.FileMode(mode)); err != nil {
			t.Fatal(err)
		}
		w.checks = append(w.checks, checkCase{path: dead})
	}

	// Hostile names: a newline, an escape sequence, invalid UTF-8, a
	// space; and an abstract name with a NUL inside.
	for i, name := range []string{"new\nline.sock", "esc\x1b[31m.sock", "bad\xff.sock", "with space.sock"} {
		lfd, l := w.listen(inspect.TypeStream, host, filepath.Join(w.dir, name), 4)
		l.hostile = true
		for range i + 1 {
			w.connect(lfd, l, host, false)
		}
	}
	hfd, h := w.listen(inspect.TypeStream, host, fmt.Sprintf("@udsls-oracle-nul\x00-%d", w.self), 4)
	h.hostile = true
	w.connect(hfd, h, host, false)

	// Relative binds of one name in two directories.
	cwd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	var rel []*made
	for _, d := range []string{"rel-a", "rel-b"} {
		if err := os.Mkdir(filepath.Join(w.dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chdir(filepath.Join(w.dir, d)); err != nil {
			t.Fatal(err)
		}
		lfd, l := w.listen(inspect.TypeStream, host, "rel.sock", 4)
		w.connect(lfd, l, host, false)
		rel = append(rel, l)
	}
	if err := os.Chdir(cwd); err != nil {
		t.Fatal(err)
	}
	for _, l := range rel {
		l.ambiguous = true
	}

	// Dup'ed, at a high fd, and held by forked children too.
	high := int(min(lim.Cur, 1<<20)) - 64
	dupfd, dupm := w.listen(inspect.TypeStream, host, filepath.Join(w.dir, "shared.sock"), 4)
	w.connect(dupfd, dupm, host, false)
	if err := unix.Dup3(dupfd, high, unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	w.fds = append(w.fds, high)
	dupm.holders[[2]int{w.self, high}] = true
	for range 2 {
		// The child has it at fd 3 and at fd 1000 from its exec on, which
		// Start waits for (a shell's "exec 1000<&3" after it was started
		// left a moment when the snapshot saw fd 3 only). The entries
		// between are nil: closed in the child.
		cmd := exec.Command("sleep", "600")
		dup, err := unix.FcntlInt(uintptr(dupfd), unix.F_DUPFD_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		f := os.NewFile(uintptr(dup), "shared")
		cmd.ExtraFiles = make([]*os.File, 1000-3+1)
		cmd.ExtraFiles[0], cmd.ExtraFiles[1000-3] = f, f
		err = cmd.Start()
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		w.pids = append(w.pids, cmd.Process.Pid)
		dupm.holders[[2]int{cmd.Process.Pid, 3}] = true
		dupm.holders[[2]int{cmd.Process.Pid, 1000}] = true
	}

	// SCM_RIGHTS: one listener received back at a new fd, one left in
	// flight with its sender's fd closed, held by no process.
	sp, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	w.adopt(sp[0], inspect.TypeStream, "", inspect.StateConnected)
	w.adopt(sp[1], inspect.TypeStream, "", inspect.StateConnected)
	w.socks[testutil.FDInode(t, sp[0])].peer = testutil.FDInode(t, sp[1])
	w.socks[testutil.FDInode(t, sp[1])].peer = testutil.FDInode(t, sp[0])
	pfd, pm := w.listen(inspect.TypeStream, host, filepath.Join(w.dir, "passed.sock"), 4)
	ifd, im := w.listen(inspect.TypeStream, host, filepath.Join(w.dir, "inflight.sock"), 4)
	for _, fd := range []int{pfd, ifd} {
		if err := unix.Sendmsg(sp[0], []byte{0}, unix.UnixRights(fd), nil, 0); err != nil {
			t.Fatal(err)
		}
	}
	buf, oob := make([]byte, 1), make([]byte, unix.CmsgSpace(4))
	_, oobn, _, _, err := unix.Recvmsg(sp[1], buf, oob, unix.MSG_CMSG_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	cms, _ := unix.ParseSocketControlMessage(oob[:oobn])
	got, err := unix.ParseUnixRights(&cms[0])
	if err != nil {
		t.Fatal(err)
	}
	w.fds = append(w.fds, got[0])
	pm.holders[[2]int{w.self, got[0]}] = true
	unix.Close(ifd)
	w.fds = slices.DeleteFunc(w.fds, func(fd int) bool { return fd == ifd })
	im.holders = map[[2]int]bool{}
	// One byte of the second message waits in sp[1]'s queue.
	w.socks[testutil.FDInode(t, sp[1])].state = inspect.StateConnected

	// Three network namespaces, one abstract name, 1, 2 and 3 clients;
	// the first also connects to a host listener by its file, and that
	// connection's accepted end lives in the client's namespace.
	cross, cm := w.listen(inspect.TypeStream, host, filepath.Join(w.dir, "cross.sock"), 4)
	shared := fmt.Sprintf("@udsls-oracle-shared-%d", w.self)
	for k := 1; k <= 3; k++ {
		// Born in the namespace, before its exec, which Start waits for:
		// unshare(1) enters it after it has been started, and a wait for
		// that was bounded by a guess of how loaded the machine is.
		cmd := exec.Command("sleep", "600")
		cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		pid := cmd.Process.Pid
		ino := nsIno(t, fmt.Sprintf("/proc/%d/ns/net", pid))
		if ino == w.hostNetns {
			t.Fatal("a process cloned with CLONE_NEWNET is in the host's network namespace")
		}
		w.nss = append(w.nss, nsProc{pid, ino})
		w.pids = append(w.pids, pid)
		err := platform.InNetns(platform.Options{ProcRoot: "/proc", Netns: strconv.Itoa(pid)}, func() error {
			lfd, l := w.listen(inspect.TypeStream, ino, shared, 8)
			for range k {
				w.connect(lfd, l, ino, false)
			}
			if k == 1 {
				w.connect(cross, cm, ino, false)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}

}

// adopt records a socket made outside w.sock.
func (w *world) adopt(fd int, typ inspect.Type, path string, st inspect.State) *made {
	w.fds = append(w.fds, fd)
	m := &made{ino: testutil.FDInode(w.t, fd), path: path, typ: typ, state: st, netns: w.hostNetns, holders: map[[2]int]bool{{w.self, fd}: true}}
	w.socks[m.ino] = m
	return m
}

// adoptServe records what udsls --serve says it made.
func (w *world) adoptServe(m *testserver.Manifest) {
	byIno := map[uint64]*made{}
	var listener *made
	for _, s := range m.Sockets {
		if s.Inode == 0 {
			continue // the stale file, or a connection not yet accepted
		}
		x := &made{ino: s.Inode, path: s.Path, typ: s.Type, state: s.State, netns: w.hostNetns, peer: s.PeerInode,
			holders: map[[2]int]bool{{s.PID, s.FD}: true}, listener: s.State == inspect.StateListening, root: fmt.Sprintf("/proc/%d/root", s.PID),
			hostile: s.Role == testserver.RoleHostile || strings.ContainsAny(s.Path, "\n\x1b ")}
		if s.Type == inspect.TypeDgram && s.Path != "" {
			x.listener = true
		}
		switch s.Role {
		case testserver.RoleEchoStream, testserver.RoleSetListener:
			listener = x
		case testserver.RoleAccepted, testserver.RoleSetAccepted:
			if listener != nil {
				listener.accepted = append(listener.accepted, x.ino)
				listener.clients = append(listener.clients, x.peer)
			}
		}
		byIno[x.ino] = x
		w.socks[x.ino] = x
	}
	// The rest of what it made is its own business: compare it with ss,
	// but only count connections where the manifest says whose they are.
	for _, x := range byIno {
		if x.listener && len(x.accepted) == 0 {
			x.unjudged = true
		}
	}
}

// ssRow is one line of ss -xapHe.
type ssRow struct {
	typ     string
	state   string
	recvQ   uint64
	sendQ   uint64
	path    string
	ino     uint64
	peer    uint64
	holders map[[2]int]string // pid, fd -> command
	netns   uint64
	icons   []uint64
}

var (
	ssLine  = regexp.MustCompile(`^(u_str|u_dgr|u_seq)\s+(\S+)\s+(\d+)\s+(\d+)\s+(.+?)\s+(\d+)\s+\*\s+(\d+)\s*(users:\(\(.*\)\))?\s*(<->.*)?$`)
	ssUser  = regexp.MustCompile(`\("((?:[^"\\]|\\.)*)",pid=(\d+),fd=(\d+)\)`)
	ssPeers = regexp.MustCompile(`peers:((?:\s+\d+)*)`)
)

// ssIn runs ss inside the network namespace of pid (0: ours). Lines a
// raw newline in a name broke are skipped: hostile names are checked
// against the test's own knowledge instead.
func (w *world) ssIn(t *testing.T, ss, nsenter string, pid int) map[uint64]ssRow {
	t.Helper()
	cmd := exec.Command(ss, "-xapHe")
	netns := w.hostNetns
	if pid != 0 {
		cmd = exec.Command(nsenter, "--net=/proc/"+strconv.Itoa(pid)+"/ns/net", ss, "-xapHe")
		netns = nsIno(t, fmt.Sprintf("/proc/%d/ns/net", pid))
	}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v: %v", cmd.Args, err)
	}
	rows := map[uint64]ssRow{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		m := ssLine.FindStringSubmatch(strings.TrimRight(sc.Text(), " "))
		if m == nil {
			continue
		}
		r := ssRow{typ: m[1], state: m[2], path: m[5], netns: netns, holders: map[[2]int]string{}}
		r.recvQ, _ = strconv.ParseUint(m[3], 10, 64)
		r.sendQ, _ = strconv.ParseUint(m[4], 10, 64)
		r.ino, _ = strconv.ParseUint(m[6], 10, 64)
		r.peer, _ = strconv.ParseUint(m[7], 10, 64)
		for _, u := range ssUser.FindAllStringSubmatch(m[8], -1) {
			p, _ := strconv.Atoi(u[2])
			fd, _ := strconv.Atoi(u[3])
			r.holders[[2]int{p, fd}] = u[1]
		}
		if pm := ssPeers.FindStringSubmatch(m[9]); pm != nil {
			for _, f := range strings.Fields(pm[1]) {
				v, _ := strconv.ParseUint(f, 10, 64)
				r.icons = append(r.icons, v)
			}
		}
		if r.path == "*" {
			r.path = ""
		}
		rows[r.ino] = r
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("%v: %v", cmd.Args, err)
	}
	return rows
}

// list runs udsls in this process with -o json.
func (w *world) list(t *testing.T, args ...string) []render.SocketJSON {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), append(args, "-o", "json"), &stdout, &stderr); code != exitOK {
		t.Fatalf("udsls %v: exit %d: %s", args, code, stderr.String())
	}
	var doc render.ListingJSON
	if err := json.Unmarshal(stdout.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Sockets
}

// view is what one listing reads.
type view struct {
	least  int // sockets of the world in it, at least
	netns  []uint64
	all    bool
	procfs bool
}

var ssStates = map[string]inspect.State{"LISTEN": inspect.StateListening, "ESTAB": inspect.StateConnected, "UNCONN": inspect.StateUnconnected, "SYN-SENT": inspect.StateConnecting}
var ssTypes = map[string]inspect.Type{"u_str": inspect.TypeStream, "u_dgr": inspect.TypeDgram, "u_seq": inspect.TypeSeqpacket}

func jsonPath(s *render.SocketJSON) string {
	if s.PathBytes != nil {
		return string(s.PathBytes)
	}
	return s.Path
}

// compare requires the listing to agree with ss on every socket a process
// of the world holds (ss shows no other), and with the makers' knowledge.
func (w *world) compare(t *testing.T, got []render.SocketJSON, ss map[uint64]ssRow, v view) {
	ours := map[int]bool{}
	for _, p := range w.pids {
		ours[p] = true
	}
	mine := func(hs map[[2]int]bool) bool {
		for h := range hs {
			if ours[h[0]] {
				return true
			}
		}
		return false
	}
	byIno := map[uint64]*render.SocketJSON{}
	mismatches := 0
	kinds := map[string]int{} // reported of each kind, at most 8
	bad := func(format string, args ...any) {
		t.Helper()
		mismatches++
		if kinds[format]++; kinds[format] <= 8 {
			t.Errorf(format, args...)
		}
	}
	for i := range got {
		s := &got[i]
		if s.Inode == 0 {
			bad("a row with inode 0: %q %s %s", jsonPath(s), s.Type, s.State)
			continue
		}
		byIno[uint64(s.Inode)] = s
	}
	inView := func(ns uint64) bool { return slices.Contains(v.netns, ns) }

	// Against ss: every socket of the world's processes, both ways.
	compared := 0
	for ino, r := range ss {
		hs := map[[2]int]bool{}
		for h := range r.holders {
			hs[h] = true
		}
		m := w.socks[ino]
		if !mine(hs) && m == nil {
			continue
		}
		if m != nil && m.hostile {
			continue // its line may be broken; checked below
		}
		s := byIno[ino]
		if s == nil {
			bad("inode %d (%q, %s %s, netns %d) is in ss, not in the listing", ino, r.path, r.typ, r.state, r.netns)
			continue
		}
		compared++
		if p := jsonPath(s); p != r.path {
			bad("inode %d: path %q, ss %q", ino, p, r.path)
		}
		if s.Type != ssTypes[r.typ] {
			bad("inode %d %q: type %s, ss %s", ino, r.path, s.Type, r.typ)
		}
		want, ok := ssStates[r.state]
		if !v.procfs && s.Type == inspect.TypeDgram && s.PeerInode == 0 && want == inspect.StateConnected {
			// ss prints the kernel's sk_state, established on a datagram receiver once
			// someone connected to it; with no peer of its own udsls says unconnected.
			want = inspect.StateUnconnected
		}
		if !ok || s.State != want {
			bad("inode %d %q: state %s, ss %s", ino, r.path, s.State, r.state)
		}
		gotH := map[[2]int]string{}
		for _, p := range s.Processes {
			gotH[[2]int{p.PID, p.FD}] = p.Command
		}
		if fmt.Sprint(gotH) != fmt.Sprint(r.holders) {
			bad("inode %d %q: holders %v, ss %v", ino, r.path, gotH, r.holders)
		}
		if s.Netns == nil || *s.Netns != r.netns {
			bad("inode %d %q: netns %v, ss read it in %d", ino, r.path, s.Netns, r.netns)
		}
		if v.procfs {
			if s.Peer != nil || s.RecvQueue != nil || s.SendQueue != nil || s.Pending != nil || s.Backlog != nil {
				bad("inode %d %q: procfs cannot know peer or queues, yet the listing gives them", ino, r.path)
			}
			continue
		}
		if uint64(s.PeerInode) != r.peer {
			bad("inode %d %q: peer %d, ss %d", ino, r.path, s.PeerInode, r.peer)
		}
		if s.State == inspect.StateListening {
			if s.Pending == nil || s.Backlog == nil || uint64(*s.Pending) != r.recvQ || uint64(*s.Backlog) != r.sendQ {
				bad("inode %d %q: pending/backlog %v/%v, ss %d/%d", ino, r.path, s.Pending, s.Backlog, r.recvQ, r.sendQ)
			}
		} else if s.RecvQueue == nil || s.SendQueue == nil || uint64(*s.RecvQueue) != r.recvQ || uint64(*s.SendQueue) != r.sendQ {
			bad("inode %d %q: queues %v/%v, ss %d/%d", ino, r.path, s.RecvQueue, s.SendQueue, r.recvQ, r.sendQ)
		}
	}
	for ino, s := range byIno {
		m := w.socks[ino]
		hs := map[[2]int]bool{}
		for _, p := range s.Processes {
			hs[[2]int{p.PID, p.FD}] = true
		}
		if (m != nil && !m.hostile || m == nil && mine(hs)) && ss[ino].ino == 0 {
			bad("inode %d (%q) is in the listing, not in ss", ino, jsonPath(s))
		}
	}

	// Against the makers: what ss cannot say or cannot print.
	known := 0
	for ino, m := range w.socks {
		s := byIno[ino]
		if !inView(m.netns) {
			if s != nil {
				bad("inode %d %q of netns %d listed in a view of %v", ino, m.path, m.netns, v.netns)
			}
			continue
		}
		if s == nil {
			bad("inode %d %q (%s %s, netns %d) made, not listed", ino, m.path, m.typ, m.state, m.netns)
			continue
		}
		known++
		// procfs prints an abstract name's NULs as "@".
		if p := jsonPath(s); p != m.path && !(v.procfs && strings.Contains(m.path, "\x00")) {
			bad("inode %d: path %q, made %q", ino, p, m.path)
		}
		state := m.state
		if v.procfs && m.typ == inspect.TypeDgram && len(m.clients) > 0 {
			// /proc/net/unix shows no peers: a receiver others connected to reads as
			// the kernel marks it, connected (README).
			state = inspect.StateConnected
		}
		if s.Type != m.typ || s.State != state {
			bad("inode %d %q: %s %s, made %s %s", ino, m.path, s.Type, s.State, m.typ, state)
		}
		if s.Abstract != strings.HasPrefix(m.path, "@") || s.Container != nil {
			bad("inode %d %q: abstract %v, container %v", ino, m.path, s.Abstract, s.Container)
		}
		for _, p := range s.Processes {
			if p.UID == nil || *p.UID != 0 || p.User != "root" || p.Command == "" {
				bad("inode %d %q: holder %+v, every holder runs as root", ino, m.path, p)
			}
		}
		w.compareFile(s, m, v, bad)
		if s.Peer != nil {
			pm := w.socks[uint64(s.Peer.Inode)]
			switch {
			case uint64(s.Peer.Inode) != uint64(s.PeerInode):
				bad("inode %d %q: peer %d, peer_inode %d", ino, m.path, s.Peer.Inode, s.PeerInode)
			// Peer paths have no bytes companion: invalid UTF-8 is compared
			// as JSON carries it.
			case pm != nil && s.Peer.Path != strings.ToValidUTF8(pm.path, "\uFFFD") && !strings.Contains(pm.path, "\x00"):
				bad("inode %d %q: peer path %q, made %q", ino, m.path, s.Peer.Path, pm.path)
			case pm != nil:
				ph := map[[2]int]bool{}
				for _, p := range s.Peer.Processes {
					ph[[2]int{p.PID, p.FD}] = true
				}
				if fmt.Sprint(ph) != fmt.Sprint(pm.holders) {
					bad("inode %d %q: peer holders %v, made %v", ino, m.path, ph, pm.holders)
				}
			}
		}
		hs := map[[2]int]bool{}
		for _, p := range s.Processes {
			hs[[2]int{p.PID, p.FD}] = true
		}
		if fmt.Sprint(hs) != fmt.Sprint(m.holders) {
			bad("inode %d %q: holders %v, made %v", ino, m.path, hs, m.holders)
		}
		if s.UID == nil && !v.procfs || s.UID != nil && *s.UID != 0 {
			bad("inode %d %q: uid %v, made by root", ino, m.path, s.UID)
		}
		if !v.procfs && m.peer != 0 && uint64(s.PeerInode) != m.peer {
			bad("inode %d %q: peer %d, made %d", ino, m.path, s.PeerInode, m.peer)
		}
		if !m.listener || m.unjudged {
			continue
		}
		// Connections: the accepted ends (or senders) the view reads.
		want := 0
		for _, a := range m.accepted {
			if inView(w.socks[a].netns) {
				want++
			}
		}
		unknown := v.procfs && (m.ambiguous || m.typ == inspect.TypeDgram)
		switch {
		case unknown && s.Connections != nil:
			bad("inode %d %q: connections %d through procfs, which cannot know them; want null", ino, m.path, *s.Connections)
		case !unknown && (s.Connections == nil || *s.Connections != want):
			bad("inode %d %q: connections %v, made %d in this view", ino, m.path, fmtInt(s.Connections), want)
		}
		if v.procfs {
			continue
		}
		var wantC []uint64
		for _, c := range m.clients {
			if cs := w.socks[c]; cs != nil && inView(cs.netns) || m.typ != inspect.TypeDgram && w.acceptedIn(m, c, v) {
				wantC = append(wantC, c)
			}
		}
		var gotC []uint64
		for _, c := range s.Clients {
			gotC = append(gotC, uint64(c.Inode))
		}
		slices.Sort(wantC)
		slices.Sort(gotC)
		wantC = slices.Compact(wantC)
		if !slices.Equal(wantC, gotC) {
			bad("inode %d %q: clients %v, made %v", ino, m.path, gotC, wantC)
		}
	}
	if mismatches > 0 {
		t.Errorf("%d mismatches in all, by kind: %v", mismatches, kinds)
	}
	t.Logf("%d sockets compared with ss, %d with the makers' knowledge, %d listed", compared, known, len(got))
	if compared < v.least || known < v.least {
		t.Errorf("compared %d with ss and %d with the makers: the world is not in this view", compared, known)
	}
}

// compareFile requires file and file_status to say what lstat says of
// the path, in the mount namespace of the socket's maker.
func (w *world) compareFile(s *render.SocketJSON, m *made, v view, bad func(string, ...any)) {
	switch {
	case m.path == "" || m.path[0] == '@':
		if s.File != nil || s.FileStatus != nil {
			bad("inode %d %q: file %+v, status %v for a socket without a file", m.ino, m.path, s.File, s.FileStatus)
		}
		return
	case !filepath.IsAbs(m.path):
		if s.FileStatus == nil || *s.FileStatus != inspect.FileRelative {
			bad("inode %d %q: file_status %v, want relative (no holder's cwd leads to it)", m.ino, m.path, s.FileStatus)
		}
		return
	case strings.HasPrefix(m.path, "/proc/"):
		return // a name through one process's fds: another's view differs
	}
	var st unix.Stat_t
	if err := unix.Lstat(m.root+m.path, &st); err != nil {
		bad("inode %d %q: lstat: %v", m.ino, m.path, err)
		return
	}
	want := render.FileJSON{Mode: fmt.Sprintf("%04o", st.Mode&0o7777), UID: st.Uid, GID: st.Gid, Owner: "root", Group: "root"}
	status := inspect.FileOK
	if m.replaced {
		if v.procfs {
			return // procfs has no bound identity: README says replaced is not judged there
		}
		status = inspect.FileReplaced
	}
	if s.FileStatus == nil || *s.FileStatus != status || s.File == nil || !reflect.DeepEqual(*s.File, want) {
		bad("inode %d %q: file %+v, status %v; lstat says %+v, %s", m.ino, m.path, s.File, s.FileStatus, want, status)
	}
}

// acceptedIn says whether client c of listener m is seen through an
// accepted end in the view, or waits in the listener's queue.
func (w *world) acceptedIn(m *made, c uint64, v view) bool {
	for _, a := range m.accepted {
		if as := w.socks[a]; as != nil && as.peer == c {
			return slices.Contains(v.netns, as.netns)
		}
	}
	return true // pending: the listener's own queue names it
}

func fmtInt(p *int) string {
	if p == nil {
		return "null"
	}
	return strconv.Itoa(*p)
}

// checkVerdicts requires each --check verdict to be what a real client
// of the same user gets: up exactly when a connect (and, for datagrams, a
// send) of some type succeeds; denied exactly when one is refused for
// permission; stale or missing only when nothing is bound. As root udsls
// runs in this process; as nobody, the built binary under setpriv, and
// the real connects come from a thread that dropped to nobody.
func (w *world) checkVerdicts(t *testing.T, nobody bool) {
	var paths []string
	for _, c := range w.checks {
		paths = append(paths, c.path)
	}
	args := append([]string{"--check", "--timeout", "200ms", "-o", "json"}, paths...)
	var stdout, stderr bytes.Buffer
	if nobody {
		setpriv := testenv.NeedTool(t, "setpriv", "util-linux")
		cmd := exec.Command(setpriv, append([]string{"--reuid=65534", "--regid=65534", "--clear-groups", buildUdsls(t)}, args...)...)
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		cmd.Run() // exit 1: some are unhealthy
	} else {
		run(context.Background(), args, &stdout, &stderr)
	}
	var doc render.ChecksJSON
	if err := json.Unmarshal(stdout.Bytes(), &doc); err != nil {
		t.Fatalf("%v: %s %s", err, stdout.String(), stderr.String())
	}
	if len(doc.Checks) != len(w.checks) {
		t.Fatalf("%d verdicts for %d paths", len(doc.Checks), len(w.checks))
	}
	for i, c := range w.checks {
		got := doc.Checks[i]
		errs := realConnects(t, orStr(c.via, c.path), nobody)
		reached, denied := false, false
		for _, err := range errs {
			reached = reached || err == nil
			denied = denied || err == unix.EACCES
		}
		switch {
		case got.Healthy != reached:
			t.Errorf("--check %q: %s (%s); a real client: reached %v (%v)", c.path, got.Verdict, got.Reason, reached, errs)
		case denied != (got.Verdict == inspect.VerdictDenied):
			t.Errorf("--check %q: %s (%s); a real client: %v", c.path, got.Verdict, got.Reason, errs)
		case c.bound && (got.Verdict == inspect.VerdictStale || got.Verdict == inspect.VerdictMissing):
			t.Errorf("--check %q: %s (%s), but a live socket is bound there", c.path, got.Verdict, got.Reason)
		case !c.bound && !denied && got.Verdict != inspect.VerdictStale && got.Verdict != inspect.VerdictMissing:
			t.Errorf("--check %q: %s (%s), but nothing is bound there", c.path, got.Verdict, got.Reason)
		}
		t.Logf("--check %q: %s: %s (real connects: %v)", c.path, got.Verdict, got.Reason, errs)
	}
}

// realConnects connects to name with each socket type, and sends on a
// connected datagram socket, as root or from a thread that dropped to
// nobody: credentials are per thread in Linux, and this thread is never
// handed back (the goroutine exits locked, which ends the thread).
func realConnects(t *testing.T, name string, nobody bool) []error {
	var errs []error
	var failed error
	done := make(chan struct{})
	var connect func()
	connect = func() {
		defer close(done)
		runtime.LockOSThread()
		// Go never ends the main thread: turned nobody it would stay so,
		// and /proc/self with it, for every later test. Hold it, and
		// connect from another thread.
		if nobody && unix.Gettid() == unix.Getpid() {
			done = make(chan struct{})
			go connect()
			<-done
			runtime.UnlockOSThread()
			return
		}
		if nobody {
			for _, c := range [][4]uintptr{{unix.SYS_SETGROUPS, 0, 0, 0}, {unix.SYS_SETRESGID, 65534, 65534, 65534}, {unix.SYS_SETRESUID, 65534, 65534, 65534}} {
				if _, _, e := unix.RawSyscall(c[0], c[1], c[2], c[3]); e != 0 {
					failed = e
					return
				}
			}
		} else {
			defer runtime.UnlockOSThread()
		}
		for _, typ := range []int{unix.SOCK_STREAM, unix.SOCK_SEQPACKET, unix.SOCK_DGRAM} {
			fd, err := unix.Socket(unix.AF_UNIX, typ|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
			if err != nil {
				failed = err
				return
			}
			err = unix.Connect(fd, &unix.SockaddrUnix{Name: name})
			if err == nil && typ == unix.SOCK_DGRAM {
				_, err = unix.Write(fd, []byte("x"))
			}
			unix.Close(fd)
			errs = append(errs, err)
		}
	}
	outer := done
	go connect()
	<-outer
	if failed != nil {
		t.Fatal(failed)
	}
	return errs
}

func orStr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
