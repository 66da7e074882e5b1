package sys

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/udsls/udsls/internal/testutil"

	"golang.org/x/sys/unix"

	"github.com/udsls/udsls/inspect"
)

func TestProbe(t *testing.T) {
	dir := t.TempDir()
	p := func(name string) string { return filepath.Join(dir, name) }

	stream, err := net.Listen("unix", p("stream.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Close()
	seq, err := net.Listen("unixpacket", p("seq.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer seq.Close()
	dgram, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: p("dgram.sock"), Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer dgram.Close()
	stale, err := net.Listen("unix", p("stale.sock"))
	if err != nil {
		t.Fatal(err)
	}
	stale.(*net.UnixListener).SetUnlinkOnClose(false)
	stale.Close()
	if err := os.WriteFile(p("regular"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(p("stream.sock"), p("link.sock")); err != nil {
		t.Fatal(err)
	}

	// A listener with backlog 1 that never accepts: once its queue is
	// full, a connect must give up after the timeout instead of hanging.
	full := testutil.ListenRaw(t, p("full.sock"), 1)
	var fillers []int
	for {
		fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK, 0)
		if err != nil {
			t.Fatal(err)
		}
		fillers = append(fillers, fd)
		if err := unix.Connect(fd, &unix.SockaddrUnix{Name: p("full.sock")}); err != nil {
			break
		}
	}
	defer func() {
		for _, fd := range fillers {
			unix.Close(fd)
		}
		unix.Close(full)
	}()

	tests := []struct {
		path  string
		reach inspect.Reach
		typ   inspect.Type
	}{
		{p("stream.sock"), inspect.ReachUp, inspect.TypeStream},
		{p("seq.sock"), inspect.ReachUp, inspect.TypeSeqpacket},
		{p("dgram.sock"), inspect.ReachUp, inspect.TypeDgram},
		{p("link.sock"), inspect.ReachUp, inspect.TypeStream},
		{p("stale.sock"), inspect.ReachRefused, 0},
		{p("regular"), inspect.ReachRefused, 0},
		{p("missing.sock"), inspect.ReachMissing, 0},
		{p("regular/below"), inspect.ReachMissing, 0},
		{p("full.sock"), inspect.ReachTimeout, inspect.TypeStream},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.path), func(t *testing.T) {
			got := Probe(context.Background(), tt.path, 50*time.Millisecond)
			if got.Reach != tt.reach || got.Type != tt.typ {
				t.Errorf("Probe(%s) = %v/%v (%v), want %v/%v", tt.path, got.Reach, got.Type, got.Err, tt.reach, tt.typ)
			}
		})
	}
}

// TestProbeHeldButRefusing: a socket that is bound and alive but takes no
// connection is neither up nor stale: a stream socket bound and not
// listening, and a datagram socket connected to another peer, to which
// every client's connect and sendto fail with EPERM.
func TestProbeHeldButRefusing(t *testing.T) {
	dir := t.TempDir()
	bound := filepath.Join(dir, "bound.sock")
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: bound}); err != nil {
		t.Fatal(err)
	}
	taken := filepath.Join(dir, "taken.sock")
	other := filepath.Join(dir, "other.sock")
	tk, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: taken, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer tk.Close()
	ot, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: other, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer ot.Close()
	raw, _ := tk.SyscallConn()
	var cerr error
	raw.Control(func(fd uintptr) { cerr = unix.Connect(int(fd), &unix.SockaddrUnix{Name: other}) })
	if cerr != nil {
		t.Fatal(cerr)
	}
	// The oracle: what a client gets.
	c, _ := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	defer unix.Close(c)
	if err := unix.Sendto(c, []byte("x"), 0, &unix.SockaddrUnix{Name: taken}); err != unix.EPERM {
		t.Fatalf("sendto a datagram socket connected elsewhere: %v, want EPERM", err)
	}

	for _, tt := range []struct {
		path  string
		reach inspect.Reach
		typ   inspect.Type
	}{
		{bound, inspect.ReachNotListening, inspect.TypeStream},
		{taken, inspect.ReachBusy, inspect.TypeDgram},
		{other, inspect.ReachUp, inspect.TypeDgram},
	} {
		if got := Probe(context.Background(), tt.path, time.Second); got.Reach != tt.reach || got.Type != tt.typ {
			t.Errorf("Probe(%s) = %v/%v (%v), want %v/%v", filepath.Base(tt.path), got.Reach, got.Type, got.Err, tt.reach, tt.typ)
		}
	}
}

// TestProbeLongPath: a listener at a path longer than a socket address
// (108 bytes and more, up to past PATH_MAX) is reached as a client
// reaches it, through a shorter name for the same file.
func TestProbeLongPath(t *testing.T) {
	dir := t.TempDir()
	// Past PATH_MAX only a directory at a time: mkdirat below each.
	deep := dir
	at, err := unix.Open(dir, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	for len(deep) < 4200 {
		name := strings.Repeat("d", 200)
		if err := unix.Mkdirat(at, name, 0o755); err != nil {
			t.Fatal(err)
		}
		next, err := unix.Openat(at, name, unix.O_PATH|unix.O_CLOEXEC, 0)
		unix.Close(at)
		if err != nil {
			t.Fatal(err)
		}
		at, deep = next, filepath.Join(deep, name)
	}
	unix.Close(at)
	short := filepath.Join(dir, strings.Repeat("s", 120-len(dir))+".sock")
	long := filepath.Join(deep, "x.sock")
	for _, p := range []string{short, long} {
		if len(p) < 108 {
			t.Fatalf("%d bytes is short", len(p))
		}
		// bind through the parent directory's descriptor, as a server must.
		d, err := openPath(filepath.Dir(p))
		if err != nil {
			t.Fatal(err)
		}
		fd := testutil.ListenRaw(t, "/proc/self/fd/"+strconv.Itoa(d)+"/"+filepath.Base(p), 4)
		unix.Close(d)
		defer unix.Close(fd)
		if got := Probe(context.Background(), p, time.Second); got.Reach != inspect.ReachUp || got.Type != inspect.TypeStream {
			t.Errorf("Probe(%d-byte path) = %v/%v (%v), want up/stream", len(p), got.Reach, got.Type, got.Err)
		}
		if got := Probe(context.Background(), p+".missing", time.Second); got.Reach != inspect.ReachMissing {
			t.Errorf("Probe(%d-byte missing path) = %v (%v), want missing", len(p)+8, got.Reach, got.Err)
		}
	}
}
