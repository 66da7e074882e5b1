package inspect

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
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
	full := listenRaw(t, p("full.sock"), 1)
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
		reach Reach
		typ   Type
	}{
		{p("stream.sock"), ReachUp, TypeStream},
		{p("seq.sock"), ReachUp, TypeSeqpacket},
		{p("dgram.sock"), ReachUp, TypeDgram},
		{p("link.sock"), ReachUp, TypeStream},
		{p("stale.sock"), ReachRefused, 0},
		{p("regular"), ReachRefused, 0},
		{p("missing.sock"), ReachMissing, 0},
		{p("regular/below"), ReachMissing, 0},
		{p("full.sock"), ReachTimeout, TypeStream},
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

func listenRaw(t *testing.T, path string, backlog int) int {
	t.Helper()
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(fd, backlog); err != nil {
		t.Fatal(err)
	}
	return fd
}
