package linux

import (
	"context"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/udsls/udsls/inspect"
	"github.com/udsls/udsls/platform/testenv"
	"golang.org/x/sys/unix"
)

// TestScanFDsLongPath: a descriptor whose target's path is longer than
// PATH_MAX fails readlink with ENAMETOOLONG. It is no socket, whose link is
// "socket:[N]"; the walk used to give up on the process there and missed
// every socket it held at a higher fd, a way to hide a holder.
func TestScanFDsLongPath(t *testing.T) {
	dir, err := unix.Open(t.TempDir(), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	name := strings.Repeat("d", 200)
	for range 25 { // 25 × 201 bytes: past PATH_MAX (4096)
		if err := unix.Mkdirat(dir, name, 0o700); err != nil {
			t.Fatal(err)
		}
		next, err := unix.Openat(dir, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		unix.Close(dir)
		if err != nil {
			t.Fatal(err)
		}
		dir = next
	}
	t.Cleanup(func() { unix.Close(dir) })
	if _, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(dir)); err == nil {
		testenv.Skipf(t, testenv.Root, "readlink of the deep directory did not fail")
	}
	low, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	// Only above the directory: the walk reads fds in order.
	sock, err := unix.FcntlInt(uintptr(low), unix.F_DUPFD_CLOEXEC, dir+1)
	unix.Close(low)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(sock) })
	var st syscall.Stat_t
	if err := syscall.Fstat(sock, &st); err != nil {
		t.Fatal(err)
	}

	scan, err := scanFDs(context.Background(), "/proc")
	if err != nil {
		t.Fatal(err)
	}
	want := inspect.Owner{ID: inspect.SocketID(st.Ino), PID: os.Getpid(), FD: sock}
	for _, o := range scan.owners {
		if o == want {
			return
		}
	}
	t.Errorf("owner %+v not found; failed %d (%v)", want, scan.failed, scan.err)
}
