package linux

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"github.com/udsls/udsls/platform/testenv"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/udsls/udsls/inspect"
)

// Live tests: real sockets on the running kernel, compared with what the
// syscalls that made them say (fstat, lstat, getsockname).

func newSocket(t testing.TB, typ int) int {
	t.Helper()
	fd, err := unix.Socket(unix.AF_UNIX, typ|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return fd
}

func bindSocket(t testing.TB, typ int, name string) int {
	t.Helper()
	fd := newSocket(t, typ)
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: name}); err != nil {
		t.Fatalf("bind %q: %v", name, err)
	}
	return fd
}

func listenSocket(t testing.TB, typ int, name string, backlog int) int {
	t.Helper()
	fd := bindSocket(t, typ, name)
	if err := unix.Listen(fd, backlog); err != nil {
		t.Fatal(err)
	}
	return fd
}

func connectSocket(t testing.TB, typ int, name string) int {
	t.Helper()
	fd := newSocket(t, typ)
	if err := unix.Connect(fd, &unix.SockaddrUnix{Name: name}); err != nil {
		t.Fatalf("connect %q: %v", name, err)
	}
	return fd
}

func acceptSocket(t testing.TB, lfd int) int {
	t.Helper()
	fd, _, err := unix.Accept4(lfd, unix.SOCK_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return fd
}

func socketPair(t testing.TB, typ int) (int, int) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, typ|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fds[0]); unix.Close(fds[1]) })
	return fds[0], fds[1]
}

func writeBytes(t testing.TB, fd, n int) {
	t.Helper()
	if _, err := unix.Write(fd, make([]byte, n)); err != nil {
		t.Fatal(err)
	}
}

func inodeOf(t testing.TB, fd int) inspect.SocketID {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		t.Fatal(err)
	}
	return inspect.SocketID(st.Ino)
}

func fileIDOf(t testing.TB, path string) inspect.FileID {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		t.Fatal(err)
	}
	return inspect.FileID{Dev: st.Dev, Ino: st.Ino}
}

// role is one socket of the scenario and what sock_diag must say of it.
type role struct {
	name string
	want inspect.Socket
	// anySendQueue: the socket sent bytes not yet read, which the kernel
	// counts in skb truesize (sk_wmem_alloc), an allocator detail.
	anySendQueue bool
}

// buildScenario opens sockets of every kind in a new temporary working
// directory, bound by relative names so that no path of this machine ends
// up in a capture, and returns what each must look like. abstract prefixes
// the abstract names.
func buildScenario(t *testing.T, abstract string) []role {
	t.Chdir(t.TempDir())
	uid := uint32(os.Geteuid())
	var roles []role
	add := func(name string, s inspect.Socket, anySendQueue bool) {
		s.Known, s.UID = allKnown, uid
		roles = append(roles, role{name, s, anySendQueue})
	}

	// A listener with backlog 5 and three connections nobody accepted.
	// Each client's peer is a server end with no inode yet, which
	// sock_diag reports as peer 0 and does not list.
	lis := listenSocket(t, unix.SOCK_STREAM, "srv.sock", 5)
	var icons []inspect.SocketID
	for i := range 3 {
		c := connectSocket(t, unix.SOCK_STREAM, "srv.sock")
		icons = append(icons, inodeOf(t, c))
		add("pending client "+strconv.Itoa(i), inspect.Socket{ID: inodeOf(t, c), Type: inspect.TypeStream, State: inspect.StateConnected}, false)
	}
	add("listener with pending", inspect.Socket{
		ID: inodeOf(t, lis), Path: "srv.sock", Type: inspect.TypeStream, State: inspect.StateListening,
		RecvQueue: 3, SendQueue: 5, Bound: fileIDOf(t, "srv.sock"), Icons: icons,
	}, false)

	// An accepted connection with 1000 unread bytes on the server end,
	// which shares the listener's name and bound file.
	acc := listenSocket(t, unix.SOCK_STREAM, "acc.sock", 1)
	cl := connectSocket(t, unix.SOCK_STREAM, "acc.sock")
	srv := acceptSocket(t, acc)
	writeBytes(t, cl, 1000)
	accFile := fileIDOf(t, "acc.sock")
	add("idle listener", inspect.Socket{ID: inodeOf(t, acc), Path: "acc.sock", Type: inspect.TypeStream, State: inspect.StateListening, SendQueue: 1, Bound: accFile}, false)
	add("accepted", inspect.Socket{ID: inodeOf(t, srv), Path: "acc.sock", Type: inspect.TypeStream, State: inspect.StateConnected, Peer: inodeOf(t, cl), RecvQueue: 1000, Bound: accFile}, false)
	add("sending client", inspect.Socket{ID: inodeOf(t, cl), Type: inspect.TypeStream, State: inspect.StateConnected, Peer: inodeOf(t, srv)}, true)

	sp1, sp2 := socketPair(t, unix.SOCK_STREAM)
	add("stream pair 1", inspect.Socket{ID: inodeOf(t, sp1), Type: inspect.TypeStream, State: inspect.StateConnected, Peer: inodeOf(t, sp2)}, false)
	add("stream pair 2", inspect.Socket{ID: inodeOf(t, sp2), Type: inspect.TypeStream, State: inspect.StateConnected, Peer: inodeOf(t, sp1)}, false)
	qp1, qp2 := socketPair(t, unix.SOCK_SEQPACKET)
	add("seqpacket pair 1", inspect.Socket{ID: inodeOf(t, qp1), Type: inspect.TypeSeqpacket, State: inspect.StateConnected, Peer: inodeOf(t, qp2)}, false)
	add("seqpacket pair 2", inspect.Socket{ID: inodeOf(t, qp2), Type: inspect.TypeSeqpacket, State: inspect.StateConnected, Peer: inodeOf(t, qp1)}, false)

	dp1, dp2 := socketPair(t, unix.SOCK_DGRAM)
	add("datagram pair 1", inspect.Socket{ID: inodeOf(t, dp1), Type: inspect.TypeDgram, State: inspect.StateConnected, Peer: inodeOf(t, dp2)}, false)
	add("datagram pair 2", inspect.Socket{ID: inodeOf(t, dp2), Type: inspect.TypeDgram, State: inspect.StateConnected, Peer: inodeOf(t, dp1)}, false)

	// A datagram receiver with a connected, unbound sender. The kernel
	// says ESTABLISHED though it has no peer: unix_dgram_connect sets
	// TCP_ESTABLISHED on both sockets (seen on 6.18; older kernels set
	// neither); with no peer it is unconnected. A datagram socket's
	// receive queue is the length of the first datagram.
	dg := bindSocket(t, unix.SOCK_DGRAM, "dg.sock")
	snd := connectSocket(t, unix.SOCK_DGRAM, "dg.sock")
	writeBytes(t, snd, 100)
	writeBytes(t, snd, 7)
	add("datagram receiver", inspect.Socket{ID: inodeOf(t, dg), Path: "dg.sock", Type: inspect.TypeDgram, State: inspect.StateUnconnected, RecvQueue: 100, Bound: fileIDOf(t, "dg.sock")}, false)
	add("datagram sender", inspect.Socket{ID: inodeOf(t, snd), Type: inspect.TypeDgram, State: inspect.StateConnected, Peer: inodeOf(t, dg)}, true)

	const odd = "new\nline\x1b[31m\xff.sock"
	weird := bindSocket(t, unix.SOCK_DGRAM, odd)
	add("odd bytes in path", inspect.Socket{ID: inodeOf(t, weird), Path: odd, Type: inspect.TypeDgram, State: inspect.StateUnconnected, Bound: fileIDOf(t, odd)}, false)

	name := "@" + abstract + "\x00nul"
	ab := listenSocket(t, unix.SOCK_SEQPACKET, name, 2)
	add("abstract with NUL", inspect.Socket{ID: inodeOf(t, ab), Path: name, Abstract: true, Type: inspect.TypeSeqpacket, State: inspect.StateListening, SendQueue: 2}, false)

	auto := bindSocket(t, unix.SOCK_DGRAM, "")
	sa, err := unix.Getsockname(auto)
	if err != nil {
		t.Fatal(err)
	}
	add("autobound", inspect.Socket{ID: inodeOf(t, auto), Path: sa.(*unix.SockaddrUnix).Name, Abstract: true, Type: inspect.TypeDgram, State: inspect.StateUnconnected}, false)

	unbound := newSocket(t, unix.SOCK_STREAM)
	add("unbound", inspect.Socket{ID: inodeOf(t, unbound), Type: inspect.TypeStream, State: inspect.StateUnconnected}, false)
	return roles
}

func dumpByID(t testing.TB) map[inspect.SocketID]inspect.Socket {
	t.Helper()
	socks, err := DumpUnix(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	m := make(map[inspect.SocketID]inspect.Socket, len(socks))
	for _, s := range socks {
		if _, dup := m[s.ID]; dup {
			t.Errorf("socket %d listed twice", s.ID)
		}
		m[s.ID] = s
	}
	return m
}

func TestLiveSockDiag(t *testing.T) {
	roles := buildScenario(t, fmt.Sprintf("udsls-test-%d", os.Getpid()))
	got := dumpByID(t)
	for _, r := range roles {
		t.Run(r.name, func(t *testing.T) {
			g, ok := got[r.want.ID]
			if !ok {
				t.Fatalf("socket %d not in the dump", r.want.ID)
			}
			if r.anySendQueue {
				if g.SendQueue == 0 {
					t.Errorf("send queue 0 with bytes unread by the peer")
				}
				r.want.SendQueue = g.SendQueue
			}
			if diff := cmp.Diff(r.want, g); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestLiveSourcesAgree reads the scenario's sockets through both sources.
// /proc/net/unix shows each NUL of an abstract name as '@'; everything else
// the two share must agree exactly, holders included.
func TestLiveSourcesAgree(t *testing.T) {
	roles := buildScenario(t, fmt.Sprintf("udsls-test-%d", os.Getpid()))
	snap := func(src SocketSource, backend string) (map[inspect.SocketID]inspect.Socket, map[inspect.SocketID][]inspect.Owner) {
		t.Helper()
		s, err := (&Source{Sockets: src}).Snapshot(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if s.Backend != backend {
			t.Errorf("Backend = %q, want %q", s.Backend, backend)
		}
		socks := map[inspect.SocketID]inspect.Socket{}
		for _, x := range s.Sockets {
			socks[x.ID] = x
		}
		owners := map[inspect.SocketID][]inspect.Owner{}
		for _, o := range s.Owners {
			owners[o.ID] = append(owners[o.ID], o)
		}
		return socks, owners
	}
	diag, diagOwners := snap(SocketsNetlink, "netlink")
	proc, procOwners := snap(SocketsProcfs, "procfs")
	// shared is what both sources tell of a socket.
	type shared struct {
		ID       inspect.SocketID
		Path     string
		Abstract bool
		Type     inspect.Type
		State    inspect.State
		Owners   []inspect.Owner
	}
	for _, r := range roles {
		t.Run(r.name, func(t *testing.T) {
			d, p := diag[r.want.ID], proc[r.want.ID]
			want := shared{d.ID, d.Path, d.Abstract, d.Type, d.State, diagOwners[d.ID]}
			if d.Abstract {
				want.Path = strings.ReplaceAll(d.Path, "\x00", "@")
			}
			got := shared{p.ID, p.Path, p.Abstract, p.Type, p.State, procOwners[p.ID]}
			// /proc/net/unix shows the kernel's ESTABLISHED of a datagram
			// socket connected to, with no peer to correct it by; netlink
			// shows the peer is none.
			if d.Type == inspect.TypeDgram && d.State == inspect.StateUnconnected && d.Peer == 0 && p.State == inspect.StateConnected {
				got.State = d.State
			}
			if want.ID != r.want.ID || len(want.Owners) == 0 {
				t.Fatalf("netlink snapshot: socket %d missing or without holder: %+v", r.want.ID, want)
			}
			if diff := cmp.Diff(want, got, sortOwners); diff != "" {
				t.Errorf("(-netlink +procfs):\n%s", diff)
			}
		})
	}
}

func TestSourceFallback(t *testing.T) {
	// A kernel with sock_diag cannot refuse it on demand, so the refusal
	// is injected; the procfs read it falls back to is real.
	refused := func(context.Context) ([]inspect.Socket, error) {
		return nil, errnoError("socket", unix.EPROTONOSUPPORT)
	}
	a, _ := socketPair(t, unix.SOCK_STREAM)
	snap, err := (&Source{Sockets: SocketsAuto, dumpUnix: refused}).Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if snap.Backend != "procfs" {
		t.Errorf("Backend = %q, want procfs", snap.Backend)
	}
	want := "netlink sock_diag unavailable: socket: protocol not supported; read /proc/net/unix instead: " +
		"peers, queues, backlog, bound-file identity, socket uid and names with newlines are unknown"
	if len(snap.Warnings) == 0 || snap.Warnings[0] != want {
		t.Errorf("warnings %q, want first %q", snap.Warnings, want)
	}
	if !slices.ContainsFunc(snap.Sockets, func(s inspect.Socket) bool { return s.ID == inodeOf(t, a) }) {
		t.Errorf("fallback snapshot lacks socket %d", inodeOf(t, a))
	}

	_, err = (&Source{Sockets: SocketsNetlink, dumpUnix: refused}).Snapshot(context.Background())
	if !errors.Is(err, ErrNetlinkUnavailable) || !errors.Is(err, unix.EPROTONOSUPPORT) {
		t.Errorf("forced netlink, refused: err = %v, want ErrNetlinkUnavailable and EPROTONOSUPPORT", err)
	}
	if _, err := (&Source{Sockets: 7}).Snapshot(context.Background()); err == nil || err.Error() != "unknown socket source 7" {
		t.Errorf("unknown source: err = %v", err)
	}
}

// TestLiveSockDiagCrossProcess hands the client end of a connection to
// another process and checks that the two ends still name each other.
func TestLiveSockDiagCrossProcess(t *testing.T) {
	sleep := testenv.NeedTool(t, "sleep", "coreutils")
	path := filepath.Join(t.TempDir(), "x.sock")
	lis := listenSocket(t, unix.SOCK_STREAM, path, 1)
	cfd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Connect(cfd, &unix.SockaddrUnix{Name: path}); err != nil {
		unix.Close(cfd)
		t.Fatal(err)
	}
	client := inodeOf(t, cfd)
	srv := inodeOf(t, acceptSocket(t, lis))

	f := os.NewFile(uintptr(cfd), "client")
	cmd := exec.Command(sleep, "3600")
	cmd.ExtraFiles = []*os.File{f} // fd 3 in the child
	err = cmd.Start()
	f.Close() // from here on only the child holds the client
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	link, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/3", cmd.Process.Pid))
	if want := fmt.Sprintf("socket:[%d]", client); err != nil || link != want {
		t.Fatalf("child fd 3 is %q (%v), want %q", link, err, want)
	}

	got := dumpByID(t)
	if p := got[client].Peer; p != srv {
		t.Errorf("client %d (pid %d) has peer %d, want the accepted end %d", client, cmd.Process.Pid, p, srv)
	}
	if p := got[srv].Peer; p != client {
		t.Errorf("accepted end %d has peer %d, want client %d (pid %d)", srv, p, client, cmd.Process.Pid)
	}
}

// TestLiveSockDiagUID makes a socket owned by another user without a
// second process: socket(2) stamps the socket with the calling thread's
// fsuid, which setfsuid changes for one locked thread only.
func TestLiveSockDiagUID(t *testing.T) {
	testenv.NeedRoot(t, "needs CAP_SETUID to create a socket as another user; run as root")
	const nobody = 65534
	fd := func() int {
		runtime.LockOSThread()
		prev, _ := unix.SetfsuidRetUid(nobody)
		fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		unix.SetfsuidRetUid(prev)
		// SetfsuidRetUid(-1) changes nothing and returns the current fsuid.
		if cur, _ := unix.SetfsuidRetUid(-1); cur == prev {
			runtime.UnlockOSThread() // else the thread dies with the goroutine
		}
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { unix.Close(fd) })
		return fd
	}()
	id := inodeOf(t, fd)
	s := dumpByID(t)[id]
	if !s.Known.Has(inspect.KnownUID) || s.UID != nobody {
		t.Errorf("socket %d: uid %d (known %v), want %d", id, s.UID, s.Known.Has(inspect.KnownUID), nobody)
	}
}

func TestLiveSockDiagCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := DumpUnix(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

// openPairs opens n/2 socketpairs, raising RLIMIT_NOFILE if it must.
func openPairs(b *testing.B, n int) {
	b.Helper()
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		b.Fatal(err)
	}
	if need := uint64(n + 256); lim.Cur < need {
		lim.Cur, lim.Max = need, max(lim.Max, need)
		if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
			b.Skipf("%d sockets need RLIMIT_NOFILE %d: %v", n, need, err)
		}
	}
	for range n / 2 {
		socketPair(b, unix.SOCK_STREAM)
	}
}

// benchSockets is the size of the live benchmarks, which read every socket
// of the network namespace: run them under `unshare -n` (as root) so that
// the host's own sockets do not count.
const benchSockets = 10000

func BenchmarkLiveDumpUnix10k(b *testing.B) {
	openPairs(b, benchSockets)
	b.ReportAllocs()
	for b.Loop() {
		socks, err := DumpUnix(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		if len(socks) < benchSockets {
			b.Fatalf("dumped %d sockets, want at least %d", len(socks), benchSockets)
		}
	}
}

// BenchmarkLiveProcNetUnix10k is the fallback source on the same sockets,
// for comparison: read and parse /proc/net/unix.
func BenchmarkLiveProcNetUnix10k(b *testing.B) {
	openPairs(b, benchSockets)
	b.ReportAllocs()
	for b.Loop() {
		socks, err := readProcNetUnix(context.Background(), "/proc")
		if err != nil {
			b.Fatal(err)
		}
		if len(socks) < benchSockets {
			b.Fatalf("parsed %d sockets, want at least %d", len(socks), benchSockets)
		}
	}
}

// TestDumpUnixSharesNames: a listener's accepted connections carry its
// name, and DumpUnix's second dump names every socket again; each name is
// held once, not once a socket and dump (3.2 MB of copies of 1.5 MB of
// names at 50k sockets), and a file and an abstract name keep their form.
func TestDumpUnixSharesNames(t *testing.T) {
	file := filepath.Join(t.TempDir(), "names.sock")
	abstract := fmt.Sprintf("@udsls-test-names-%d", os.Getpid())
	for kind, name := range map[string]string{"file": file, "abstract": abstract} {
		t.Run(kind, func(t *testing.T) {
			lfd := listenSocket(t, unix.SOCK_STREAM, strings.Replace(name, "@", "\x00", 1), 4)
			connectSocket(t, unix.SOCK_STREAM, strings.Replace(name, "@", "\x00", 1))
			afd := acceptSocket(t, lfd)
			socks, err := DumpUnix(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			by := map[inspect.SocketID]inspect.Socket{}
			for _, s := range socks {
				by[s.ID] = s
			}
			l, a := by[inodeOf(t, lfd)], by[inodeOf(t, afd)]
			if l.Path != name || a.Path != name || l.Abstract != (name[0] == '@') {
				t.Fatalf("listener %q (abstract %v), accepted %q; want both %q", l.Path, l.Abstract, a.Path, name)
			}
			if unsafe.StringData(l.Path) != unsafe.StringData(a.Path) {
				t.Errorf("the listener and its accepted connection each hold a copy of %q", name)
			}
		})
	}
}

// TestReadUnixInUse: this kernel tells how many AF_UNIX sockets the
// namespace has, so DumpUnix decodes its first dump as it comes.
func TestReadUnixInUse(t *testing.T) {
	socketPair(t, unix.SOCK_STREAM)
	socketPair(t, unix.SOCK_DGRAM)
	n, ok := readUnixInUse()
	if !ok || n < 4 {
		t.Fatalf("readUnixInUse = %d, %v; want at least our 4 sockets", n, ok)
	}
}
