package linux

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/udsls/udsls/inspect"
)

var captureSockDiag = flag.Bool("capture-sockdiag", false, "record "+captureDir+"/scenario.{bin,json} from the running kernel (needs root)")

// TestCaptureSockDiag records the dump of buildScenario's sockets for the
// decoder tests. It runs the scenario in a new network namespace, entered
// by this goroutine's locked thread alone, so that the dump holds nothing
// but the scenario's sockets: the kernel lists the sockets of the netns the
// netlink socket was created in.
func TestCaptureSockDiag(t *testing.T) {
	if !*captureSockDiag {
		t.Skip("records captures only with -capture-sockdiag")
	}
	// buildScenario changes directory.
	dir, err := filepath.Abs(captureDir)
	if err != nil {
		t.Fatal(err)
	}
	// The thread stays in the new netns; leaving it locked makes the
	// runtime end it with this goroutine.
	runtime.LockOSThread()
	if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
		t.Fatalf("unshare network namespace: %v", err)
	}
	roles := buildScenario(t, "udsls-capture")
	var dump []byte
	err = dumpUnixRaw(context.Background(), func(b []byte) (bool, error) {
		dump = append(dump, b...)
		_, done, err := decodeUnixDiag(nil, b)
		return done, err
	})
	if err != nil {
		t.Fatal(err)
	}
	var uts unix.Utsname
	if err := unix.Uname(&uts); err != nil {
		t.Fatal(err)
	}
	m := captureManifest{Kernel: unix.ByteSliceToString(uts.Release[:]), Arch: runtime.GOARCH}
	for _, r := range roles {
		m.Sockets = append(m.Sockets, manifestOf(&r.want, r.name, r.anySendQueue))
	}
	js, err := json.MarshalIndent(m, "", "\t")
	if err != nil {
		t.Fatal(err)
	}
	base := filepath.Join(dir, "scenario")
	if err := os.WriteFile(base+".bin", dump, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(base+".json", append(js, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestMkdev(t *testing.T) {
	for _, d := range []struct{ major, minor uint32 }{{0, 0}, {8, 1}, {0, 25}, {259, 3}, {0xfff, 0xfffff}, {0x123, 0x45678}} {
		if got, want := mkdev(d.major, d.minor), unix.Mkdev(d.major, d.minor); got != want {
			t.Errorf("mkdev(%d, %d) = %#x, want %#x", d.major, d.minor, got, want)
		}
	}
}

func TestErrnoError(t *testing.T) {
	tests := []struct {
		err         error
		unavailable bool
	}{
		{unix.EPROTONOSUPPORT, true},
		{unix.EAFNOSUPPORT, true},
		{unix.EACCES, true},
		{unix.EPERM, true},
		{unix.ENOENT, true},
		{unix.EOPNOTSUPP, true},
		{unix.EINVAL, false},
		{unix.ENOBUFS, false},
	}
	for _, tt := range tests {
		t.Run(tt.err.Error(), func(t *testing.T) {
			err := errnoError("socket", tt.err)
			if !errors.Is(err, tt.err) {
				t.Errorf("%v does not wrap %v", err, tt.err)
			}
			if got := errors.Is(err, ErrNetlinkUnavailable); got != tt.unavailable {
				t.Errorf("%v: unavailable %v, want %v", err, got, tt.unavailable)
			}
		})
	}
	if err := errnoError("socket", nil); err != nil {
		t.Errorf("errnoError(nil) = %v", err)
	}
}

// manifestOf describes a socket the capture made, for its manifest.
func manifestOf(s *inspect.Socket, role string, anySendQueue bool) manifestSocket {
	m := manifestSocket{
		Role: role, ID: uint64(s.ID), Path: []byte(s.Path), Abstract: s.Abstract,
		Type: uint8(s.Type), State: uint8(s.State), Peer: uint64(s.Peer), RecvQueue: s.RecvQueue,
		Dev: s.Bound.Dev, Ino: s.Bound.Ino, UID: s.UID,
	}
	if !anySendQueue {
		m.SendQueue = &s.SendQueue
	}
	for _, id := range s.Icons {
		m.Icons = append(m.Icons, uint64(id))
	}
	return m
}
