package linux

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/udsls/udsls/internal/testutil"
	"github.com/udsls/udsls/platform/testenv"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/udsls/udsls/inspect"
)

// liveHelperEnv makes the test binary act as a helper process instead of
// running tests; TestMain dispatches on its value.
const liveHelperEnv = "UDSLS_PROCFS_TEST_HELPER"

func TestMain(m *testing.M) {
	switch h := os.Getenv(liveHelperEnv); h {
	case "":
		os.Exit(m.Run())
	case "bind-relative":
		helperBindRelative()
	case "snapshot":
		helperSnapshot()
	case "netns-serve":
		helperNetnsServe()
	case "snapshot-all-netns":
		helperSnapshotAllNetns()
	default:
		fmt.Fprintf(os.Stderr, "unknown %s %q\n", liveHelperEnv, h)
		os.Exit(2)
	}
}

// helperBindRelative binds a datagram socket to "rel.sock" in its working
// directory, prints its fd and inode, and holds it until stdin closes.
func helperBindRelative() {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM, 0)
	if err == nil {
		err = unix.Bind(fd, &unix.SockaddrUnix{Name: "rel.sock"})
	}
	var st unix.Stat_t
	if err == nil {
		err = unix.Fstat(fd, &st)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bind-relative:", err)
		os.Exit(1)
	}
	fmt.Printf("%d %d\n", fd, st.Ino)
	io.Copy(io.Discard, os.Stdin)
	os.Exit(0)
}

// helperResult is what helperSnapshot reports.
type helperResult struct {
	Warnings []string
	Own      int // owners naming the helper's own pid
}

// helperSnapshot takes a snapshot while holding a socketpair and reports
// it as JSON.
func helperSnapshot() {
	if _, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0); err != nil {
		fmt.Fprintln(os.Stderr, "snapshot:", err)
		os.Exit(1)
	}
	snap, err := (&Source{}).Snapshot(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, "snapshot:", err)
		os.Exit(1)
	}
	r := helperResult{Warnings: snap.WarningsFor(true)}
	for _, o := range snap.Owners {
		if o.PID == os.Getpid() {
			r.Own++
		}
	}
	json.NewEncoder(os.Stdout).Encode(r)
	os.Exit(0)
}

// liveFD is the fd behind a socket; File() would give a dup.
func liveFD(t *testing.T, c syscall.Conn) int {
	t.Helper()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	fd := -1
	if err := rc.Control(func(f uintptr) { fd = int(f) }); err != nil {
		t.Fatal(err)
	}
	return fd
}

func liveInode(t *testing.T, fd int) inspect.SocketID {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		t.Fatal(err)
	}
	return inspect.SocketID(st.Ino)
}

func liveListen(t *testing.T, network, name string) *net.UnixListener {
	t.Helper()
	l, err := net.ListenUnix(network, &net.UnixAddr{Name: name, Net: network})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// liveSocket is a socket the test made, with every process holding it.
type liveSocket struct {
	sock   inspect.Socket
	owners []inspect.Owner
}

func TestLiveProcfs(t *testing.T) {
	dir := t.TempDir()
	pid := os.Getpid()
	var want []liveSocket
	ours := func(c syscall.Conn, s inspect.Socket) {
		fd := liveFD(t, c)
		s.ID = liveInode(t, fd)
		want = append(want, liveSocket{s, []inspect.Owner{{ID: s.ID, PID: pid, FD: fd}}})
	}

	streamPath := filepath.Join(dir, "stream.sock")
	ours(liveListen(t, "unix", streamPath), named(0, stream, listening, streamPath))
	// Never accepted: the server end waits with inode 0 and no holder.
	client, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: streamPath, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	ours(client, unnamed(0, stream, connected))

	dgramPath := filepath.Join(dir, "dgram.sock")
	dg, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: dgramPath, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dg.Close() })
	ours(dg, named(0, dgram, unconnected, dgramPath))

	seqPath := filepath.Join(dir, "seq.sock")
	ours(liveListen(t, "unixpacket", seqPath), named(0, seqpacket, listening, seqPath))

	abstractName := "@udsls-test-" + rand.Text()
	ours(liveListen(t, "unix", abstractName), abstract(0, stream, listening, abstractName))

	oddPath := filepath.Join(dir, "a b\nc\x1b[0m.sock")
	ours(liveListen(t, "unix", oddPath), named(0, stream, listening, oddPath))

	// A socketpair whose first end a sleep(1) holds too, at fd 3.
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	shared := os.NewFile(uintptr(pair[0]), "pair0")
	t.Cleanup(func() { shared.Close(); unix.Close(pair[1]) })
	sleep := exec.Command("sleep", "60")
	sleep.ExtraFiles = []*os.File{shared}
	if err := sleep.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sleep.Process.Kill(); sleep.Wait() })
	for i, fd := range pair {
		id := liveInode(t, fd)
		owners := []inspect.Owner{{ID: id, PID: pid, FD: fd}}
		if i == 0 {
			owners = append(owners, inspect.Owner{ID: id, PID: sleep.Process.Pid, FD: 3})
		}
		want = append(want, liveSocket{unnamed(id, stream, connected), owners})
	}

	want = append(want, startRelativeBind(t))

	snap, err := (&Source{ProcRoot: "/proc"}).Snapshot(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if snap.Backend != "procfs" {
		t.Errorf("Backend = %q, want procfs", snap.Backend)
	}
	byID := map[inspect.SocketID]inspect.Socket{}
	for _, s := range snap.Sockets {
		byID[s.ID] = s
	}
	owners := map[inspect.SocketID][]inspect.Owner{}
	for _, o := range snap.Owners {
		owners[o.ID] = append(owners[o.ID], o)
	}
	self := selfNetns(t)
	for _, w := range want {
		w.sock.Netns, w.sock.Known = self, w.sock.Known|inspect.KnownNetns
		got, ok := byID[w.sock.ID]
		if !ok {
			t.Errorf("socket %q (%d) missing", w.sock.Path, w.sock.ID)
			continue
		}
		if diff := cmp.Diff(w.sock, got); diff != "" {
			t.Errorf("socket %q mismatch (-want +got):\n%s", w.sock.Path, diff)
		}
		if diff := cmp.Diff(w.owners, owners[w.sock.ID], sortOwners); diff != "" {
			t.Errorf("owners of socket %q mismatch (-want +got):\n%s", w.sock.Path, diff)
		}
	}
	embryo := named(0, stream, connecting, streamPath)
	embryo.Netns, embryo.Known = self, inspect.KnownNetns
	found := false
	for _, s := range snap.Sockets {
		found = found || cmp.Equal(embryo, s)
	}
	if !found {
		t.Errorf("no socket %+v for the connection waiting to be accepted", embryo)
	}

	t.Run("ss", func(t *testing.T) {
		testenv.NeedTool(t, "ss", "iproute2")
		out, err := exec.CommandContext(t.Context(), "ss", "-xap").Output()
		if err != nil {
			t.Fatal(err)
		}
		listed := ssInodes(string(out))
		var fromSS, fromSnap []inspect.SocketID
		for _, w := range want {
			if listed[w.sock.ID] {
				fromSS = append(fromSS, w.sock.ID)
			}
			if _, ok := byID[w.sock.ID]; ok {
				fromSnap = append(fromSnap, w.sock.ID)
			}
		}
		if diff := cmp.Diff(fromSS, fromSnap); diff != "" {
			t.Errorf("test sockets ss lists and the snapshot has differ (-ss +snapshot):\n%s", diff)
		}
	})
}

// startRelativeBind has a helper process bind "rel.sock" in a directory of
// its own, since a bind(2) path is relative to the working directory, which
// the test process shares with tests running in parallel.
func startRelativeBind(t *testing.T) liveSocket {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), os.Args[0])
	cmd.Env = append(os.Environ(), liveHelperEnv+"=bind-relative")
	cmd.Dir = t.TempDir()
	cmd.Stderr = os.Stderr
	line, _, err := testutil.StartChild(t, cmd)
	var fd int
	var ino uint64
	if err == nil {
		_, err = fmt.Sscan(line, &fd, &ino)
	}
	if err != nil {
		t.Fatalf("bind-relative helper said %q: %v", line, err)
	}
	id := inspect.SocketID(ino)
	return liveSocket{
		named(id, dgram, unconnected, "rel.sock"),
		[]inspect.Owner{{ID: id, PID: cmd.Process.Pid, FD: fd}},
	}
}

// ssInodes reads the inode of each socket in `ss -xa` output. Names may
// hold spaces and newlines, so a record runs to the next line starting with
// a netid, and its inode is the first number after the four fixed columns
// and the name's first word ("*" when unnamed).
func ssInodes(out string) map[inspect.SocketID]bool {
	var records []string
	for _, line := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(line, "u_"):
			records = append(records, line)
		case len(records) > 0:
			records[len(records)-1] += "\n" + line
		}
	}
	ids := map[inspect.SocketID]bool{}
	for _, r := range records {
		f := strings.Fields(r)
		for i := 5; i < len(f); i++ {
			if n, err := strconv.ParseUint(f[i], 10, 64); err == nil {
				ids[inspect.SocketID(n)] = true
				break
			}
		}
	}
	return ids
}

// TestLiveProcfsUnprivileged runs a snapshot as an unprivileged user, who
// may read its own fds but not those of root's processes, this test's
// included.
func TestLiveProcfsUnprivileged(t *testing.T) {
	testenv.NeedRoot(t, "needs root to run the helper as another user")
	// The helper must be able to execute a copy of this binary.
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(dir, "helper")
	exe, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, exe, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), bin)
	cmd.Env = append(os.Environ(), liveHelperEnv+"=snapshot")
	cmd.Dir = dir
	cmd.Stderr = os.Stderr
	const nobody = 65534
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody, Groups: []uint32{}}}
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	var got helperResult
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("helper said %q: %v", out, err)
	}
	if got.Own != 2 {
		t.Errorf("helper found %d owners of its own, want its socketpair's 2", got.Own)
	}
	re := regexp.MustCompile(`^([0-9]+) process(es)? unreadable \(permission denied\); run as root for all owners$`)
	if len(got.Warnings) != 1 || !re.MatchString(got.Warnings[0]) {
		t.Fatalf("warnings %q, want one matching %s", got.Warnings, re)
	}
	if n, _ := strconv.Atoi(re.FindStringSubmatch(got.Warnings[0])[1]); n < 1 {
		t.Errorf("warning %q counts no process, want at least this test's", got.Warnings[0])
	}
}

func BenchmarkScanFDs(b *testing.B) {
	// Enough sockets that the walk's cost is in the fds, not the pids.
	for range 500 {
		pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { unix.Close(pair[0]); unix.Close(pair[1]) })
	}
	ctx := context.Background()
	b.ReportAllocs()
	var n int
	for b.Loop() {
		scan, err := scanFDs(ctx, "/proc")
		if err != nil {
			b.Fatal(err)
		}
		n = len(scan.owners)
	}
	b.ReportMetric(float64(n), "sockets/op")
}
