//go:build linux && (386 || amd64 || arm || arm64 || loong64 || mips64le || mipsle || ppc64le || riscv64)

package bpf

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/udsls/udsls/inspect"
	"github.com/udsls/udsls/internal/testutil"
	"github.com/udsls/udsls/platform/testenv"
	"golang.org/x/sys/unix"
)

// helperEnv makes the test binary a helper process instead of running the
// tests: the other end of a socket, or a process holding a counter.
const helperEnv = "UDSLS_TRAFFIC_HELPER"

func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "":
		os.Exit(m.Run())
	case "peer":
		peer()
	case "open":
		holdCounter()
	}
	fmt.Fprintf(os.Stderr, "unknown %s=%q\n", helperEnv, os.Getenv(helperEnv))
	os.Exit(2)
}

// needTraffic skips, or fails under UDSLS_REQUIRE_BPF=1, where the counter
// cannot be opened.
func needTraffic(t *testing.T) {
	t.Helper()
	testutil.NeedBPF(t, "the traffic counter", OpenTraffic)
}

// peer is a helper process holding one end of a connection: the
// descriptor 3 it inherits, or a socket it connects (UDSLS_SOCK
// "connect:TYPE:PATH") or binds and sends from without connecting
// ("sendto:OWNPATH:PATH"). It prints its socket's inode, sends the
// messages of the sizes UDSLS_SEND lists, receives those UDSLS_RECV lists,
// prints "done", and holds the socket until its stdin closes.
func peer() {
	fail := func(err error) {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fd, to := 3, unix.Sockaddr(nil)
	switch f := strings.SplitN(os.Getenv("UDSLS_SOCK"), ":", 3); f[0] {
	case "fd3":
	case "connect":
		typ, _ := strconv.Atoi(f[1])
		s, err := unix.Socket(unix.AF_UNIX, typ, 0)
		if err != nil {
			fail(err)
		}
		if err := unix.Connect(s, &unix.SockaddrUnix{Name: f[2]}); err != nil {
			fail(err)
		}
		fd = s
	case "sendto":
		own, dst, _ := strings.Cut(f[1]+":"+f[2], ":")
		s, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM, 0)
		if err != nil {
			fail(err)
		}
		if err := unix.Bind(s, &unix.SockaddrUnix{Name: own}); err != nil {
			fail(err)
		}
		fd, to = s, &unix.SockaddrUnix{Name: dst}
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		fail(err)
	}
	fmt.Println(st.Ino)
	if err := sendAll(fd, to, sizes(os.Getenv("UDSLS_SEND"))); err != nil {
		fail(err)
	}
	if err := recvAll(fd, sizes(os.Getenv("UDSLS_RECV")), false); err != nil {
		fail(err)
	}
	fmt.Println("done")
	io.Copy(io.Discard, os.Stdin)
	os.Exit(0)
}

// holdCounter is a helper process that opens a counter, prints "ready"
// or the error, and holds it until stdin closes or a signal kills it.
func holdCounter() {
	c, err := OpenTraffic()
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("ready")
	io.Copy(io.Discard, os.Stdin)
	c.Close()
	os.Exit(0)
}

func sizes(s string) []int {
	var ns []int
	for f := range strings.SplitSeq(s, ",") {
		if n, err := strconv.Atoi(f); err == nil {
			ns = append(ns, n)
		}
	}
	return ns
}

func sum(ns []int) uint64 {
	var s uint64
	for _, n := range ns {
		s += uint64(n)
	}
	return s
}

// sendAll sends one message of each size, to to when not nil; a stream
// takes them as one run of bytes.
func sendAll(fd int, to unix.Sockaddr, ns []int) error {
	for _, n := range ns {
		buf := make([]byte, n)
		for len(buf) > 0 {
			k, err := unix.SendmsgN(fd, buf, nil, to, 0)
			if err != nil {
				return fmt.Errorf("send %d bytes: %w", n, err)
			}
			buf = buf[k:]
		}
	}
	return nil
}

// recvAll receives messages of the sizes ns, or as many bytes from a
// stream. With peek it peeks at each before reading it, which must not
// count.
func recvAll(fd int, ns []int, peek bool) error {
	typ, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE)
	if err != nil {
		return err
	}
	if typ == unix.SOCK_STREAM {
		ns = []int{int(sum(ns))}
	}
	buf := make([]byte, 1<<20)
	for _, n := range ns {
		for got := 0; got < n; {
			if peek {
				if _, _, err := unix.Recvfrom(fd, buf[:1+n-got], unix.MSG_PEEK); err != nil {
					return fmt.Errorf("peek: %w", err)
				}
			}
			k, _, err := unix.Recvfrom(fd, buf[:n-got], 0)
			if err != nil {
				return fmt.Errorf("receive %d bytes: %w", n, err)
			}
			if typ != unix.SOCK_STREAM && k != n {
				return fmt.Errorf("received a message of %d bytes, want %d", k, n)
			}
			got += k
		}
	}
	return nil
}

// startPeer starts the peer helper with env and, if fd >= 0, its end of a
// pair as descriptor 3; it returns the peer's socket inode, and a func
// that waits for its "done".
func startPeer(t *testing.T, env []string, fd int) (uint64, func()) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), append(env, helperEnv+"=peer")...)
	if fd >= 0 {
		f := os.NewFile(uintptr(fd), "peer end")
		defer f.Close()
		cmd.ExtraFiles = []*os.File{f}
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		if t.Failed() {
			// It may be stuck sending to this process.
			cmd.Process.Kill()
		}
		if err := cmd.Wait(); err != nil && !t.Failed() {
			t.Errorf("peer: %v", err)
		}
	})
	lines := bufio.NewScanner(out)
	line := func() string {
		if !lines.Scan() {
			t.Fatalf("peer ended early: %v", lines.Err())
		}
		if strings.HasPrefix(lines.Text(), "error:") {
			t.Fatalf("peer: %s", lines.Text())
		}
		return lines.Text()
	}
	ino, err := strconv.ParseUint(line(), 10, 64)
	if err != nil {
		t.Fatalf("peer's inode: %v", err)
	}
	return ino, func() {
		if l := line(); l != "done" {
			t.Fatalf("peer said %q, want done", l)
		}
	}
}

// TestTrafficTwoProcesses exchanges known bytes between this process and
// a peer process over each kind of socket, and finds both ends counted
// exactly, both ways: received bytes are those read, not those peeked at,
// and a datagram sent to a bound socket counts for the socket that reads
// it, though the sender has no peer.
func TestTrafficTwoProcesses(t *testing.T) {
	needTraffic(t)
	// What the peer sends first, then what this process sends back.
	peerSends, mySends := map[int][]int{
		unix.SOCK_STREAM:    {100000, 1, 7},
		unix.SOCK_SEQPACKET: {1, 200, 3000, 64},
		unix.SOCK_DGRAM:     {1, 200, 3000, 64, 2048},
	}, map[int][]int{
		unix.SOCK_STREAM:    {1, 65536, 3},
		unix.SOCK_SEQPACKET: {10, 20},
		unix.SOCK_DGRAM:     {10, 20, 30},
	}
	names := map[int]string{unix.SOCK_STREAM: "stream", unix.SOCK_SEQPACKET: "seqpacket", unix.SOCK_DGRAM: "dgram"}

	c, err := OpenTraffic()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	type exchange struct {
		name     string
		mine     int // this process's socket
		peerIno  uint64
		quiet    []uint64 // sockets that must not be counted (listeners)
		typ      int
		to       unix.Sockaddr
		peerDone func()
	}
	var exs []exchange
	dir := t.TempDir()
	for _, typ := range []int{unix.SOCK_STREAM, unix.SOCK_SEQPACKET, unix.SOCK_DGRAM} {
		env := []string{
			"UDSLS_SEND=" + join(peerSends[typ]),
			"UDSLS_RECV=" + join(mySends[typ]),
		}
		// A socket pair, one end in each process.
		fds, err := unix.Socketpair(unix.AF_UNIX, typ|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { unix.Close(fds[0]) })
		given := testutil.FDInode(t, fds[1])
		pino, done := startPeer(t, append(env, "UDSLS_SOCK=fd3"), fds[1])
		if pino != given {
			t.Fatalf("peer has inode %d, gave it %d", pino, given)
		}
		exs = append(exs, exchange{name: names[typ] + " pair", mine: fds[0], peerIno: pino, typ: typ, peerDone: done})

		path := filepath.Join(dir, names[typ])
		l, err := unix.Socket(unix.AF_UNIX, typ|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { unix.Close(l) })
		if err := unix.Bind(l, &unix.SockaddrUnix{Name: path}); err != nil {
			t.Fatal(err)
		}
		if typ == unix.SOCK_DGRAM {
			// A bound socket the peer sends to without connecting, and
			// that answers to the peer's own address.
			peerPath := path + ".peer"
			pino, done := startPeer(t, append(env, "UDSLS_SOCK=sendto:"+peerPath+":"+path), -1)
			exs = append(exs, exchange{name: "dgram sendto", mine: l, peerIno: pino, typ: typ,
				to: &unix.SockaddrUnix{Name: peerPath}, peerDone: done})
			continue
		}
		// An accepted connection.
		if err := unix.Listen(l, 1); err != nil {
			t.Fatal(err)
		}
		pino, done = startPeer(t, append(env, fmt.Sprintf("UDSLS_SOCK=connect:%d:%s", typ, path)), -1)
		a, _, err := unix.Accept4(l, unix.SOCK_CLOEXEC)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { unix.Close(a) })
		exs = append(exs, exchange{name: names[typ] + " accepted", mine: a, peerIno: pino, typ: typ,
			quiet: []uint64{testutil.FDInode(t, l)}, peerDone: done})
	}
	for _, ex := range exs {
		if err := recvAll(ex.mine, peerSends[ex.typ], true); err != nil {
			t.Fatalf("%s: %v", ex.name, err)
		}
		if err := sendAll(ex.mine, ex.to, mySends[ex.typ]); err != nil {
			t.Fatalf("%s: %v", ex.name, err)
		}
		ex.peerDone()
	}

	counts, err := c.Counts()
	if err != nil {
		t.Fatal(err)
	}
	for _, ex := range exs {
		mine, theirs := sum(mySends[ex.typ]), sum(peerSends[ex.typ])
		if got, want := counts[testutil.FDInode(t, ex.mine)], (inspect.Traffic{SentBytes: mine, ReceivedBytes: theirs}); got != want {
			t.Errorf("%s: this end counted %+v, want %+v", ex.name, got, want)
		}
		if got, want := counts[ex.peerIno], (inspect.Traffic{SentBytes: theirs, ReceivedBytes: mine}); got != want {
			t.Errorf("%s: the peer's end counted %+v, want %+v", ex.name, got, want)
		}
		for _, q := range ex.quiet {
			if got, ok := counts[q]; ok {
				t.Errorf("%s: the listener counted %+v", ex.name, got)
			}
		}
	}
}

func join(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}

// TestTrafficForgetsClosedSockets counts a pair, closes it, and finds
// Counts no longer reporting it nor the map holding it: on a busy machine
// closed sockets would fill the map.
func TestTrafficForgetsClosedSockets(t *testing.T) {
	needTraffic(t)
	c, err := OpenTraffic()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	ino := testutil.FDInode(t, fds[0])
	if err := sendAll(fds[0], nil, []int{5}); err != nil {
		t.Fatal(err)
	}
	counts, err := c.Counts()
	if err != nil {
		t.Fatal(err)
	}
	if got := counts[ino]; got != (inspect.Traffic{SentBytes: 5}) {
		t.Fatalf("open socket counted %+v, want 5 bytes sent", got)
	}
	unix.Close(fds[0])
	unix.Close(fds[1])
	c.mu.Lock()
	err = c.sweep()
	c.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	if counts, err = c.Counts(); err != nil {
		t.Fatal(err)
	}
	if got, ok := counts[ino]; ok {
		t.Errorf("closed socket still counted: %+v", got)
	}
	var v trafficCounts
	if err := c.objs.UdslsBytes.Lookup(ino, &v); !errors.Is(err, ebpf.ErrKeyNotExist) {
		t.Errorf("closed socket still in the map: %+v, %v", v, err)
	}
}

// TestTrafficStopsAfterClose closes a counter, finds its programs gone
// and Counts refusing, and a new counter counting from zero on the same
// sockets.
func TestTrafficStopsAfterClose(t *testing.T) {
	needTraffic(t)
	before := testutil.LoadedBPF(t, trafficProg)
	c, err := OpenTraffic()
	if err != nil {
		t.Fatal(err)
	}
	if got := testutil.Programs(testutil.HeldBy(t, testutil.NewBPF(t, trafficProg, before), os.Getpid())); len(got) != len(TrafficPrograms) {
		t.Fatalf("this process holds new %v, want %d new programs named %v", got, len(TrafficPrograms), TrafficPrograms)
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fds[0]); unix.Close(fds[1]) })
	exchange := func(n int) {
		t.Helper()
		if err := sendAll(fds[0], nil, []int{n}); err != nil {
			t.Fatal(err)
		}
		if err := recvAll(fds[1], []int{n}, false); err != nil {
			t.Fatal(err)
		}
	}
	exchange(1000)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if counts, err := c.Counts(); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Counts after Close: %v, %v; want os.ErrClosed", counts, err)
	}
	testutil.NoBPFLeft(t, trafficProg, before)
	exchange(300)

	c2, err := OpenTraffic()
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	exchange(7)
	counts, err := c2.Counts()
	if err != nil {
		t.Fatal(err)
	}
	if got := counts[testutil.FDInode(t, fds[0])]; got != (inspect.Traffic{SentBytes: 7}) {
		t.Errorf("sender counted %+v by a new counter, want only the 7 bytes sent since", got)
	}
	if got := counts[testutil.FDInode(t, fds[1])]; got != (inspect.Traffic{ReceivedBytes: 7}) {
		t.Errorf("receiver counted %+v by a new counter, want only the 7 bytes received since", got)
	}
}

// TestTrafficGoneWithProcess kills a process holding a counter with
// SIGINT and with SIGTERM, which it does not catch, and finds none of its
// programs left: nothing is pinned, the kernel drops them with the
// process's descriptors.
func TestTrafficGoneWithProcess(t *testing.T) {
	needTraffic(t)
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			before := testutil.LoadedBPF(t, trafficProg)
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), helperEnv+"=open")
			line, _, err := testutil.StartChild(t, cmd)
			if line != "ready\n" {
				t.Fatalf("helper said %q, %v", line, err)
			}
			if got := testutil.Programs(testutil.HeldBy(t, testutil.NewBPF(t, trafficProg, before), cmd.Process.Pid)); len(got) != len(TrafficPrograms) {
				t.Fatalf("the helper's counter: bpftool lists new programs %v, want %d", got, len(TrafficPrograms))
			}
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			err = cmd.Wait()
			if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != sig {
				t.Fatalf("helper ended with %v, want killed by %v", err, sig)
			}
			testutil.NoBPFLeft(t, trafficProg, before)
		})
	}
}

// TestTrafficNonRoot opens a counter as nobody, which gets one line
// saying what it lacks.
func TestTrafficNonRoot(t *testing.T) {
	testenv.NeedRoot(t, "switching to nobody needs root")
	setpriv := testenv.NeedTool(t, "setpriv", "util-linux")
	// The test binary sits in a directory only root may enter.
	dir, err := os.MkdirTemp("", "udsls-traffic-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	bin := filepath.Join(dir, "bpf.test")
	self, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, self, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", bin, "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"=open")
	cmd.Stdin = strings.NewReader("")
	out, err := cmd.Output()
	if err == nil {
		t.Fatalf("nobody opened a counter: %q", out)
	}
	want := "error: BPF unavailable: counting traffic needs CAP_BPF and CAP_PERFMON, or CAP_SYS_ADMIN (run as root)\n"
	if string(out) != want {
		t.Errorf("nobody got %q, want %q", out, want)
	}
}

// TestTrafficUserNamespace opens a counter as root of a user namespace of
// its own, whose capabilities cannot load BPF, and gets one line saying so
// rather than the kernel's bare "operation not permitted".
func TestTrafficUserNamespace(t *testing.T) {
	testenv.NeedRoot(t, "a user namespace mapping root needs root")
	unshare := testenv.NeedTool(t, "unshare", "util-linux")
	cmd := exec.Command(unshare, "--user", "--map-root-user", os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"=open")
	cmd.Stdin = strings.NewReader("")
	out, err := cmd.Output()
	if err == nil {
		t.Fatalf("a user namespace opened a counter: %q", out)
	}
	want := "error: BPF unavailable: counting traffic needs the machine's own capabilities; those of a user namespace of its own do not load BPF\n"
	if string(out) != want {
		t.Errorf("got %q, want %q", out, want)
	}
}

// TestDecodeTraffic decodes whole records and rejects a cut one.
func TestDecodeTraffic(t *testing.T) {
	var data []byte
	for _, r := range [][3]uint64{{10, 1, 2}, {1 << 40, 0, 1 << 33}} {
		for _, v := range r {
			data = binary.NativeEndian.AppendUint64(data, v)
		}
	}
	got, err := decodeTraffic(data)
	want := map[uint64]inspect.Traffic{10: {SentBytes: 1, ReceivedBytes: 2}, 1 << 40: {ReceivedBytes: 1 << 33}}
	if err != nil || !maps.Equal(got, want) {
		t.Errorf("got %v, %v; want %v", got, err, want)
	}
	if got, err := decodeTraffic(data[:40]); err == nil {
		t.Errorf("a cut record: got %v, want an error", got)
	}
}

// trafficProg matches the names of the counter's programs.
func trafficProg(name string) bool { return slices.Contains(TrafficPrograms, name) }

// BenchmarkTrafficCounts is one read of the counts with 10k sockets that
// moved a byte: the iterator's walk of every descriptor on the machine, and
// the sweep of the map.
func BenchmarkTrafficCounts(b *testing.B) {
	c, err := OpenTraffic()
	if err != nil {
		b.Skipf("the traffic counter does not load: %v", err)
	}
	defer c.Close()
	for range 5000 {
		fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			b.Fatal(err)
		}
		defer unix.Close(fds[0])
		defer unix.Close(fds[1])
		if err := sendAll(fds[0], nil, []int{1}); err != nil {
			b.Fatal(err)
		}
		if err := recvAll(fds[1], []int{1}, false); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		counts, err := c.Counts()
		if err != nil {
			b.Fatal(err)
		}
		if len(counts) < 10000 {
			b.Fatalf("%d sockets counted, want 10000", len(counts))
		}
	}
}
