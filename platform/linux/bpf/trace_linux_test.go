//go:build linux && (amd64 || arm64)

package bpf

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/udsls/udsls/platform/testenv"
)

// startTracer skips (or fails, under UDSLS_REQUIRE_BPF=1) unless the
// tracer loads here.
func startTracer(t *testing.T, ringSize uint32) *Tracer {
	t.Helper()
	testenv.NeedRoot(t, "loading BPF needs CAP_BPF and CAP_PERFMON")
	tr, err := traceConnects(ringSize)
	if err != nil {
		testenv.Skipf(t, testenv.BPF, "the connect tracer does not load: %v", err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

// connectTo connects a new socket of type typ to sa and closes it.
func connectTo(t *testing.T, typ int, sa *unix.SockaddrUnix) error {
	t.Helper()
	fd, err := unix.Socket(unix.AF_UNIX, typ|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	return unix.Connect(fd, sa)
}

// nextOurs reads events until one of this process to name comes.
func nextOurs(t *testing.T, tr *Tracer, name string) Connect {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := tr.Read(deadline)
		if err != nil {
			t.Fatalf("waiting for the connect to %q: %v", name, err)
		}
		if c.PID == os.Getpid() && c.Name == name {
			return c
		}
	}
}

// TestTraceConnects sees this process's own connects: to a listener
// (with the listener's pid), to a missing path, to an abstract name with a
// NUL inside, and of a datagram socket (with the server socket's inode).
func TestTraceConnects(t *testing.T) {
	tr := startTracer(t, defaultRingSize)
	dir := t.TempDir()
	stream := filepath.Join(dir, "s.sock")
	l, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(l)
	if err := unix.Bind(l, &unix.SockaddrUnix{Name: stream}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(l, 8); err != nil {
		t.Fatal(err)
	}
	dgram := filepath.Join(dir, "d.sock")
	d, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(d)
	if err := unix.Bind(d, &unix.SockaddrUnix{Name: dgram}); err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(d, &st); err != nil {
		t.Fatal(err)
	}

	if err := connectTo(t, unix.SOCK_STREAM, &unix.SockaddrUnix{Name: stream}); err != nil {
		t.Fatal(err)
	}
	c := nextOurs(t, tr, stream)
	if c.Err != 0 || c.Abstract || c.Type != unix.SOCK_STREAM || c.PeerPID != os.Getpid() || c.UID != uint32(os.Getuid()) || c.Command == "" {
		t.Errorf("connect to a listener: got %+v", c)
	}
	missing := filepath.Join(dir, "missing")
	if err := connectTo(t, unix.SOCK_STREAM, &unix.SockaddrUnix{Name: missing}); !errors.Is(err, unix.ENOENT) {
		t.Fatalf("connect to a missing path: %v", err)
	}
	if c := nextOurs(t, tr, missing); c.Err != syscall.ENOENT || c.PeerPID != 0 {
		t.Errorf("connect to a missing path: got %+v", c)
	}
	abstract := "udsls-trace-test\x00nul\xff"
	if err := connectTo(t, unix.SOCK_SEQPACKET, &unix.SockaddrUnix{Name: "@" + abstract}); !errors.Is(err, unix.ECONNREFUSED) {
		t.Fatalf("connect to a missing abstract name: %v", err)
	}
	if c := nextOurs(t, tr, abstract); !c.Abstract || c.Err != syscall.ECONNREFUSED || c.Type != unix.SOCK_SEQPACKET {
		t.Errorf("connect to an abstract name: got %+v", c)
	}
	if err := connectTo(t, unix.SOCK_DGRAM, &unix.SockaddrUnix{Name: dgram}); err != nil {
		t.Fatal(err)
	}
	if c := nextOurs(t, tr, dgram); c.Err != 0 || c.Type != unix.SOCK_DGRAM || c.PeerInode != st.Ino {
		t.Errorf("connect of a datagram socket: got %+v, want peer inode %d", c, st.Ino)
	}
}

// TestTraceLost overflows a one-page ring buffer that nobody reads: the
// connects that found it full are counted.
func TestTraceLost(t *testing.T) {
	tr := startTracer(t, uint32(os.Getpagesize()))
	sa := &unix.SockaddrUnix{Name: filepath.Join(t.TempDir(), "missing")}
	const n = 200 // a page holds 24 events
	for range n {
		connectTo(t, unix.SOCK_STREAM, sa)
	}
	lost, err := tr.Lost()
	if err != nil {
		t.Fatal(err)
	}
	read := 0
	for {
		if _, err := tr.Read(time.Now()); err != nil {
			break
		}
		read++
	}
	if lost == 0 || read == 0 || uint64(read)+lost < n {
		t.Errorf("%d connects into a one-page ring: %d read, %d lost; want some of each, %d in all at least", n, read, lost, n)
	}
}

// TestTraceArmsRunningThreads attaches the tracer again and again while a
// thread of this process sits blocked in read(2) across each attach, and
// makes one connect the moment it is woken: every one is seen. A kernel
// that marked running threads for the syscall tracepoints some time after
// the attach returned would miss some (the delay --trace was once thought
// to suffer from).
func TestTraceArmsRunningThreads(t *testing.T) {
	tr := startTracer(t, defaultRingSize)
	sa := &unix.SockaddrUnix{Name: filepath.Join(t.TempDir(), "missing")}
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(p[1]) })
	connected := make(chan error)
	go func() {
		// One thread throughout, blocked in the kernel between connects.
		runtime.LockOSThread()
		defer unix.Close(p[0])
		var b [1]byte
		for {
			if n, err := unix.Read(p[0], b[:]); n != 1 {
				connected <- fmt.Errorf("read: %d, %v", n, err)
				return
			}
			fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				connected <- err
				return
			}
			unix.Connect(fd, sa)
			unix.Close(fd)
			connected <- nil
		}
	}()
	// Each detach lets the kernel unmark every thread (unless another
	// tracer of sys_enter runs meanwhile).
	const cycles = 300
	missed := 0
	for range cycles {
		if err := tr.Detach(); err != nil {
			t.Fatal(err)
		}
		if err := tr.attach(); err != nil {
			t.Fatal(err)
		}
		if _, err := unix.Write(p[1], []byte{1}); err != nil {
			t.Fatal(err)
		}
		if err := <-connected; err != nil {
			t.Fatal(err)
		}
		// The event is in the ring by now, if it was made at all.
		seen := false
		for !seen {
			c, err := tr.Read(time.Now())
			if errors.Is(err, ErrTimeout) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			seen = c.PID == os.Getpid() && c.Name == sa.Name
		}
		if !seen {
			missed++
		}
	}
	if missed > 0 {
		t.Errorf("%d of %d connects made right after an attach, by a thread blocked across it, not seen", missed, cycles)
	}
}
