package testserver

import (
	"bufio"
	"bytes"
	"errors"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/udsls/udsls/platform/testenv"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/udsls/udsls/inspect"
)

// inqIoctl asks for the bytes in a receive queue.
const inqIoctl = unix.SIOCINQ

// osRows lists the sockets only Linux has, in the order Start opens them.
func osRows[T any](row func(Role, string, inspect.Type) T) []T {
	return []T{
		row(RoleAbstract, "@", inspect.TypeStream),
		row(RoleSeqpacket, "seqpacket.sock", inspect.TypeSeqpacket),
	}
}

// procSocket is a line of /proc/net/unix.
type procSocket struct {
	Path  string
	Type  inspect.Type
	State inspect.State
}

// readProcNetUnix reads /proc/net/unix by inode with a parser of its own,
// so that the manifest is checked against the kernel and not against the
// udsls backend. The kernel writes names raw, so a newline in a path
// continues the record on the next line.
func readProcNetUnix(t *testing.T) map[uint64]procSocket {
	t.Helper()
	data, err := os.ReadFile("/proc/net/unix")
	if err != nil {
		t.Fatal(err)
	}
	cut := func(s string) (string, string) {
		s = strings.TrimLeft(s, " ")
		tok, rest, _ := strings.Cut(s, " ")
		return tok, rest
	}
	socks := map[uint64]procSocket{}
	var last uint64
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	for _, line := range lines[1:] {
		var f [7]string
		rest := line
		for i := range f {
			f[i], rest = cut(rest)
		}
		if len(f[0]) != 17 || !strings.HasSuffix(f[0], ":") {
			s := socks[last]
			s.Path += "\n" + line
			socks[last] = s
			continue
		}
		flags, err1 := strconv.ParseUint(f[3], 16, 32)
		typ, err2 := strconv.ParseUint(f[4], 16, 8)
		st, err3 := strconv.ParseUint(f[5], 16, 8)
		ino, err4 := strconv.ParseUint(f[6], 10, 64)
		if err := errors.Join(err1, err2, err3, err4); err != nil {
			t.Fatalf("/proc/net/unix line %q: %v", line, err)
		}
		state := inspect.State(st)
		if flags&(1<<16) != 0 { // __SO_ACCEPTCON
			state = inspect.StateListening
		}
		last = ino
		socks[ino] = procSocket{Path: rest, Type: inspect.Type(typ), State: state}
	}
	return socks
}

func TestProcNetUnix(t *testing.T) {
	m := start(t, Config{Count: 5}).Manifest()
	procs := readProcNetUnix(t)
	for _, s := range m.Sockets {
		if s.Role == RoleStale {
			for ino, p := range procs {
				if p.Path == s.Path {
					t.Errorf("stale path %q has a live socket, inode %d", s.Path, ino)
				}
			}
			continue
		}
		got, ok := procs[s.Inode]
		if !ok {
			t.Errorf("%s: inode %d is not in /proc/net/unix", s.Role, s.Inode)
			continue
		}
		want := procSocket{Path: s.Path, Type: s.Type, State: s.State}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s inode %d (-want +got):\n%s", s.Role, s.Inode, diff)
		}
	}
}

func TestFDLinks(t *testing.T) {
	m := start(t, Config{Count: 2}).Manifest()
	for _, s := range m.Sockets {
		if s.Role == RoleStale {
			continue
		}
		got, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(s.FD))
		if want := "socket:[" + strconv.FormatUint(s.Inode, 10) + "]"; err != nil || got != want {
			t.Errorf("%s: fd %d links to %q (%v), want %q", s.Role, s.FD, got, err, want)
		}
	}
}

// TestSS checks peers and queues with ss, which reads them from sock_diag.
func TestSS(t *testing.T) {
	testenv.NeedTool(t, "ss", "iproute2")
	m := start(t, Config{Count: 2}).Manifest()
	out, err := exec.Command("ss", "-xaH").Output()
	if err != nil {
		t.Fatalf("ss -xaH: %v", err)
	}
	type ssSocket struct{ RecvQ, Peer uint64 }
	got := map[uint64]ssSocket{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		// Netid State Recv-Q Send-Q Local-Address Inode Peer-Address
		// Peer-Inode; the local address may hold spaces, so count the
		// inodes from the right.
		f := strings.Fields(sc.Text())
		if len(f) < 8 {
			continue
		}
		recvq, err1 := strconv.ParseUint(f[2], 10, 64)
		ino, err2 := strconv.ParseUint(f[len(f)-3], 10, 64)
		peer, err3 := strconv.ParseUint(f[len(f)-1], 10, 64)
		if err1 == nil && err2 == nil && err3 == nil {
			got[ino] = ssSocket{recvq, peer}
		}
	}
	for _, s := range m.Sockets {
		// ss prints the hostile name's newline raw, cutting its line.
		if s.Role == RoleStale || s.Role == RoleHostile {
			continue
		}
		g, ok := got[s.Inode]
		if !ok {
			t.Errorf("%s: inode %d not in ss output", s.Role, s.Inode)
			continue
		}
		if want := (ssSocket{uint64(s.Queued), s.PeerInode}); g != want {
			t.Errorf("%s inode %d: ss says queue %d peer %d, manifest %d %d", s.Role, s.Inode, g.RecvQ, g.Peer, want.RecvQ, want.Peer)
		}
	}
}

func TestSeqpacketEcho(t *testing.T) {
	m := start(t, Config{}).Manifest()
	c, err := net.Dial("unixpacket", only(t, m, RoleSeqpacket).Path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	msgs := []string{"a", "bc", "def"}
	for _, msg := range msgs {
		if _, err := c.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
	}
	// Each read returns one message: the boundaries survive the echo.
	for _, msg := range msgs {
		buf := make([]byte, 16)
		n, err := c.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		if string(buf[:n]) != msg {
			t.Errorf("read %q, want %q", buf[:n], msg)
		}
	}
}

func TestAbstractDial(t *testing.T) {
	m := start(t, Config{}).Manifest()
	s := only(t, m, RoleAbstract)
	c, err := net.Dial("unix", s.Path)
	if err != nil {
		t.Fatalf("dial %q: %v", s.Path, err)
	}
	c.Close()
}

func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

func TestCloseReleasesDescriptors(t *testing.T) {
	// The first use of net opens the poller's descriptors for good.
	start(t, Config{})
	before := openFDs(t)
	s, err := Start(Config{Count: 50})
	if err != nil {
		t.Fatal(err)
	}
	if during := openFDs(t); during < before+150 {
		t.Errorf("%d descriptors open while serving 50 sets, want at least %d", during, before+150)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if after := openFDs(t); after != before {
		t.Errorf("%d descriptors open after Close, %d before Start", after, before)
	}
}

func setNoFile(t *testing.T, cur uint64) {
	t.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	old := lim
	if lim.Max < cur {
		t.Fatalf("hard RLIMIT_NOFILE %d is below %d", lim.Max, cur)
	}
	lim.Cur = cur
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
			t.Errorf("restoring RLIMIT_NOFILE: %v", err)
		}
	})
}

// TestDescriptorsRunOut fills the descriptor table so that Start runs out
// half way, and checks the error and that nothing is left behind.
func TestDescriptorsRunOut(t *testing.T) {
	start(t, Config{}) // open the poller's descriptors
	const limit = 2000
	setNoFile(t, limit)
	for range limit - 60 - openFDs(t) {
		f, err := os.Open(os.DevNull)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
	}
	dir := filepath.Join(t.TempDir(), "serve")
	before := openFDs(t)
	_, err := Start(Config{Dir: dir, Count: 100})
	if err == nil {
		t.Fatal("Start succeeded with no descriptors left")
	}
	if !errors.Is(err, syscall.EMFILE) || !strings.Contains(err.Error(), "RLIMIT_NOFILE is 2000") {
		t.Errorf("error %q, want EMFILE naming the limit", err)
	}
	if after := openFDs(t); after != before {
		t.Errorf("%d descriptors open after the failed Start, %d before", after, before)
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("failed Start left %q: %v", dir, err)
	}
}

// TestCountBeyondKernel asks for more descriptors than fs.nr_open allows
// anyone, root included.
func TestCountBeyondKernel(t *testing.T) {
	data, err := os.ReadFile("/proc/sys/fs/nr_open")
	if err != nil {
		t.Fatal(err)
	}
	nrOpen, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "serve")
	_, err = Start(Config{Dir: dir, Count: nrOpen})
	if err == nil || !strings.Contains(err.Error(), "raising it failed") {
		t.Errorf("Start with Count %d: %v, want a failure to raise RLIMIT_NOFILE", nrOpen, err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("failed Start left %q: %v", dir, err)
	}
}

// TestLargeCount opens as many sets as the hard descriptor limit allows, up
// to the 100k that scale tests use.
func TestLargeCount(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: thousands of sets take seconds")
	}
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	count := min(100_000, (int(min(lim.Max, 1<<30))-openFDs(t)-64)/3)
	t.Logf("%d sets under a hard RLIMIT_NOFILE of %d", count, lim.Max)
	s := start(t, Config{Count: count})
	if got, want := len(s.Manifest().Sockets), len(start(t, Config{}).Manifest().Sockets)+3*count; got != want {
		t.Errorf("%d sockets, want %d", got, want)
	}
}
