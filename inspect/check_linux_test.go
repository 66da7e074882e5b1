package inspect

import (
	"context"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/udsls/udsls/internal/testutil"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

// checkView is the part of a result the verdict tests compare.
type checkView struct {
	Verdict    Verdict
	Detail     string
	Type       Type
	Target     string
	Mismatches []Mismatch
}

func viewOf(r CheckResult) checkView {
	return checkView{r.Verdict, r.Detail, r.Type, r.Target, r.Mismatches}
}

func TestCheckVerdicts(t *testing.T) {
	dir := t.TempDir()
	p := func(name string) string { return filepath.Join(dir, name) }

	testutil.Listen(t, "unix", p("stream.sock"))
	testutil.Listen(t, "unixpacket", p("seq.sock"))
	dg, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: p("dgram.sock"), Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer dg.Close()
	stale := testutil.Listen(t, "unix", p("stale.sock"))
	stale.(*net.UnixListener).SetUnlinkOnClose(false)
	stale.Close()
	if err := os.WriteFile(p("regular"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(p("dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mkfifo(p("fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("stream.sock", p("link.sock")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(p("gone.sock"), p("dangling.sock")); err != nil {
		t.Fatal(err)
	}
	testutil.FullListener(t, p("full.sock"))
	abstract := fmt.Sprintf("@udsls-check-test-%d-%d", os.Getpid(), time.Now().UnixNano())
	testutil.Listen(t, "unix", abstract)
	// Held, alive, and refusing every client: bound and not listening
	// (by a file and by an abstract name), and a datagram socket
	// connected to another.
	for _, name := range []string{p("bound.sock"), abstract + "-bound"} {
		fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { unix.Close(fd) })
		if err := unix.Bind(fd, &unix.SockaddrUnix{Name: name}); err != nil { // "@": abstract
			t.Fatal(err)
		}
	}
	taken, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: p("taken.sock"), Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	if raw, err := taken.SyscallConn(); err != nil {
		t.Fatal(err)
	} else if err := raw.Control(func(fd uintptr) {
		if err := unix.Connect(int(fd), &unix.SockaddrUnix{Name: p("dgram.sock")}); err != nil {
			t.Fatal(err)
		}
	}); err != nil {
		t.Fatal(err)
	}
	// Longer than a socket address: bound through the directory's
	// descriptor, reached by a client the same way.
	long := p(strings.Repeat("l", 110-len(dir)-len("/.sock")) + ".sock") // 110 bytes
	if d, err := unix.Open(dir, unix.O_PATH|unix.O_CLOEXEC, 0); err != nil {
		t.Fatal(err)
	} else {
		fd := testutil.ListenRaw(t, fmt.Sprintf("/proc/self/fd/%d/%s", d, filepath.Base(long)), 4)
		unix.Close(d)
		t.Cleanup(func() { unix.Close(fd) })
	}

	const timeout = 100 * time.Millisecond
	tests := []struct {
		name string
		path string
		want checkView
	}{
		{"stream listener", p("stream.sock"), checkView{Verdict: VerdictUp, Detail: "stream socket accepting connections", Type: TypeStream}},
		{"seqpacket listener", p("seq.sock"), checkView{Verdict: VerdictUp, Detail: "seqpacket socket accepting connections", Type: TypeSeqpacket}},
		{"dgram socket", p("dgram.sock"), checkView{Verdict: VerdictUp, Detail: "dgram socket bound and reachable", Type: TypeDgram}},
		{"symlink to a live socket", p("link.sock"), checkView{Verdict: VerdictUp, Detail: "stream socket accepting connections", Type: TypeStream, Target: p("stream.sock")}},
		{"abstract listener", abstract, checkView{Verdict: VerdictUp, Detail: "stream socket accepting connections", Type: TypeStream}},
		{"stale file", p("stale.sock"), checkView{Verdict: VerdictStale, Detail: "socket file exists but nothing is listening (connection refused)"}},
		{"missing", p("missing.sock"), checkView{Verdict: VerdictMissing, Detail: "no such file or directory"}},
		{"below a regular file", p("regular/x.sock"), checkView{Verdict: VerdictMissing, Detail: "a path component is not a directory"}},
		{"dangling symlink", p("dangling.sock"), checkView{Verdict: VerdictMissing, Detail: "symlink target does not exist", Target: p("gone.sock")}},
		{"abstract name nobody holds", abstract + "-none", checkView{Verdict: VerdictMissing, Detail: "nothing is bound to the abstract name (connection refused)"}},
		{"regular file", p("regular"), checkView{Verdict: VerdictNotSocket, Detail: "regular file"}},
		{"directory", p("dir"), checkView{Verdict: VerdictNotSocket, Detail: "directory"}},
		{"fifo", p("fifo"), checkView{Verdict: VerdictNotSocket, Detail: "named pipe (FIFO)"}},
		{"bound, not listening", p("bound.sock"), checkView{Verdict: VerdictRefused, Detail: "stream socket is bound but not listening (connection refused)", Type: TypeStream}},
		// An abstract name is looked up per type: every type is refused,
		// and only the listing shows it held (TestCheckAnnotate).
		{"abstract, bound, not listening", abstract + "-bound", checkView{Verdict: VerdictMissing, Detail: "nothing is bound to the abstract name (connection refused)"}},
		{"dgram connected elsewhere", p("taken.sock"), checkView{Verdict: VerdictRefused, Detail: "dgram socket is connected to another peer and takes datagrams from it alone (operation not permitted)", Type: TypeDgram}},
		{"path longer than a socket address", long, checkView{Verdict: VerdictUp, Detail: "stream socket accepting connections", Type: TypeStream}},
		{"full backlog", p("full.sock"), checkView{Verdict: VerdictTimeout, Detail: "listener's backlog is full: connect timed out after 100ms", Type: TypeStream}},
	}
	c := NewChecker(LiveResolver("/proc"))
	c.Timeout = timeout
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := c.Check(context.Background(), tt.path)
			if diff := cmp.Diff(tt.want, viewOf(got)); diff != "" {
				t.Errorf("Check(%q) (-want +got):\n%s", tt.path, diff)
			}
			if got.Healthy() != (tt.want.Verdict == VerdictUp) {
				t.Errorf("Healthy() = %v for verdict %s", got.Healthy(), got.Verdict)
			}
		})
	}
}

func TestCheckExpect(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "app.sock")
	testutil.Listen(t, "unix", sock)
	if err := os.Chmod(sock, 0o660); err != nil {
		t.Fatal(err)
	}
	stale := testutil.Listen(t, "unix", filepath.Join(dir, "stale.sock"))
	stale.(*net.UnixListener).SetUnlinkOnClose(false)
	stale.Close()
	abstract := fmt.Sprintf("@udsls-expect-test-%d-%d", os.Getpid(), time.Now().UnixNano())
	testutil.Listen(t, "unix", abstract)

	uid, gid := uint32(os.Geteuid()), uint32(os.Getegid())
	me, err := user.LookupId(strconv.Itoa(os.Geteuid()))
	if err != nil {
		t.Fatal(err)
	}
	myGroup, err := user.LookupGroupId(strconv.Itoa(os.Getegid()))
	if err != nil {
		t.Fatal(err)
	}
	// An id no account has, so that the reason shows the number.
	other := uint32(4242000)
	if _, err := user.LookupId(strconv.Itoa(int(other))); err == nil {
		t.Fatalf("uid %d exists; pick another", other)
	}
	mode := func(m uint32) *uint32 { return &m }

	tests := []struct {
		name    string
		path    string
		expect  Expect
		verdict Verdict
		want    []Mismatch
	}{
		{"all met", sock, Expect{Mode: mode(0o660), UID: &uid, GID: &gid, Type: TypeStream}, VerdictUp, nil},
		{"mode", sock, Expect{Mode: mode(0o600)}, VerdictMismatch, []Mismatch{{"mode", "0600", "0660"}}},
		{"setgid bit", sock, Expect{Mode: mode(0o2660)}, VerdictMismatch, []Mismatch{{"mode", "2660", "0660"}}},
		{"owner", sock, Expect{UID: &other}, VerdictMismatch, []Mismatch{{"owner", "4242000", me.Username}}},
		{"group", sock, Expect{GID: &other}, VerdictMismatch, []Mismatch{{"group", "4242000", myGroup.Name}}},
		{"type", sock, Expect{Type: TypeDgram}, VerdictMismatch, []Mismatch{{"type", "dgram", "stream"}}},
		{"several", sock, Expect{Mode: mode(0o666), Type: TypeSeqpacket}, VerdictMismatch, []Mismatch{{"mode", "0666", "0660"}, {"type", "seqpacket", "stream"}}},
		// A stale file stays stale; the failed expectations come along.
		{"stale and wrong mode", filepath.Join(dir, "stale.sock"), Expect{Mode: mode(0o777), Type: TypeDgram}, VerdictStale, []Mismatch{{"mode", "0777", OctalMode(fileMode(t, filepath.Join(dir, "stale.sock")))}}},
		{"abstract has no mode", abstract, Expect{Mode: mode(0o660)}, VerdictMismatch, []Mismatch{{"mode", "0660", "none (abstract name, no file)"}}},
		{"abstract type", abstract, Expect{Type: TypeStream}, VerdictUp, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewChecker(LiveResolver("/proc"))
			c.Expect = tt.expect
			got := c.Check(context.Background(), tt.path)
			if got.Verdict != tt.verdict {
				t.Errorf("verdict = %s (%s), want %s", got.Verdict, got.Reason(), tt.verdict)
			}
			if diff := cmp.Diff(tt.want, got.Mismatches); diff != "" {
				t.Errorf("mismatches (-want +got):\n%s", diff)
			}
			for _, m := range tt.want {
				if s := m.Field + " is " + m.Got + ", want " + m.Want; !strings.Contains(got.Reason(), s) {
					t.Errorf("Reason() = %q, want it to say %q", got.Reason(), s)
				}
			}
		})
	}
}

func fileMode(t *testing.T, path string) fs.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode()
}

// countingLstat wraps the real lstat, counting calls and calling hook
// after each one returned.
func countingLstat(c *Checker, hook func(n int64)) *atomic.Int64 {
	var n atomic.Int64
	real := c.Lstat
	c.Lstat = func(path string) (*FileInfo, error) {
		fi, err := real(path)
		hook(n.Add(1))
		return fi, err
	}
	return &n
}

func TestCheckWaitAppears(t *testing.T) {
	path := filepath.Join(t.TempDir(), "late.sock")
	c := NewChecker(LiveResolver("/proc"))
	checked := make(chan struct{})
	calls := countingLstat(c, func(n int64) {
		if n == 1 {
			close(checked)
		}
	})
	bound := make(chan net.Listener, 1)
	go func() {
		// Bind only once the first check has looked and found nothing.
		<-checked
		l, err := net.Listen("unix", path)
		if err != nil {
			t.Error(err)
		}
		bound <- l
	}()

	got := c.Wait(context.Background(), []string{path}, time.Minute)
	if l := <-bound; l != nil {
		defer l.Close()
	}
	want := checkView{Verdict: VerdictUp, Detail: "stream socket accepting connections", Type: TypeStream}
	if diff := cmp.Diff(want, viewOf(got[0])); diff != "" {
		t.Errorf("Wait (-want +got):\n%s", diff)
	}
	if calls.Load() < 2 {
		t.Errorf("lstat called %d times; the socket appeared only after the first check", calls.Load())
	}
}

func TestCheckWaitGivesUp(t *testing.T) {
	dir := t.TempDir()
	live := filepath.Join(dir, "live.sock")
	testutil.Listen(t, "unix", live)
	never := filepath.Join(dir, "never.sock")
	c := NewChecker(LiveResolver("/proc"))
	var neverCalls, liveCalls atomic.Int64
	real := c.Lstat
	c.Lstat = func(path string) (*FileInfo, error) {
		if path == live {
			liveCalls.Add(1)
		} else {
			neverCalls.Add(1)
		}
		return real(path)
	}

	got := c.Wait(context.Background(), []string{live, never}, 300*time.Millisecond)
	want := []checkView{
		{Verdict: VerdictUp, Detail: "stream socket accepting connections", Type: TypeStream},
		{Verdict: VerdictMissing, Detail: "no such file or directory"},
	}
	if diff := cmp.Diff(want, []checkView{viewOf(got[0]), viewOf(got[1])}); diff != "" {
		t.Errorf("Wait (-want +got):\n%s", diff)
	}
	if neverCalls.Load() < 2 {
		t.Errorf("missing path checked %d times, want retries", neverCalls.Load())
	}
	if liveCalls.Load() != 1 {
		t.Errorf("healthy path checked %d times, want 1: it is not probed again", liveCalls.Load())
	}
}

func TestCheckWaitCancelled(t *testing.T) {
	path := filepath.Join(t.TempDir(), "never.sock")
	c := NewChecker(LiveResolver("/proc"))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	countingLstat(c, func(n int64) {
		if n == 2 {
			cancel()
		}
	})
	// Without the cancel this would wait an hour.
	got := c.Wait(ctx, []string{path}, time.Hour)
	if got[0].Verdict != VerdictMissing {
		t.Errorf("verdict = %s (%s), want the last complete round's %s", got[0].Verdict, got[0].Reason(), VerdictMissing)
	}
}

func TestCheckAnnotate(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "app.sock")
	testutil.Listen(t, "unix", sock)
	link := filepath.Join(dir, "link.sock")
	if err := os.Symlink(sock, link); err != nil {
		t.Fatal(err)
	}
	full := filepath.Join(dir, "full.sock")
	testutil.FullListener(t, full)
	abstract := fmt.Sprintf("@udsls-annotate-test-%d-%d", os.Getpid(), time.Now().UnixNano())
	testutil.Listen(t, "unix", abstract)
	missing := filepath.Join(dir, "missing.sock")
	// Bound to an abstract name and not listening: refused on every
	// type, as if nothing were bound, yet held.
	idle := abstract + "-idle"
	ifd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(ifd)
	if err := unix.Bind(ifd, &unix.SockaddrUnix{Name: idle}); err != nil {
		t.Fatal(err)
	}

	r := LiveResolver("/proc")
	fileID := func(p string) FileID {
		fi, err := r.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		return fi.ID
	}
	me := os.Getpid()
	// The snapshot a netlink backend would give for these sockets (with
	// the bound file's identity) and a procfs one (path only).
	snap := &Snapshot{
		Sockets: []Socket{
			{ID: 1, Path: sock, Type: TypeStream, State: StateListening, Known: KnownBound | KnownQueues, Bound: fileID(sock), SendQueue: 4096},
			// An accepted connection carries the listener's name too.
			{ID: 2, Path: sock, Type: TypeStream, State: StateConnected, Known: KnownBound, Bound: fileID(sock), Peer: 3},
			{ID: 3, Type: TypeStream, State: StateConnected, Peer: 2},
			{ID: 4, Path: full, Type: TypeStream, State: StateListening, Known: KnownQueues, RecvQueue: 2, SendQueue: 1},
			{ID: 5, Path: abstract, Abstract: true, Type: TypeStream, State: StateListening},
			{ID: 6, Path: missing, Type: TypeStream, State: StateListening},
			{ID: 7, Path: idle, Abstract: true, Type: TypeStream, State: StateUnconnected},
		},
		Owners: []Owner{{ID: 1, PID: me, FD: 7}, {ID: 2, PID: me, FD: 8}, {ID: 4, PID: me, FD: 9}, {ID: 5, PID: me, FD: 10}, {ID: 6, PID: me, FD: 11}, {ID: 7, PID: me, FD: ifd}},
	}
	c := NewChecker(r)
	c.Timeout = 50 * time.Millisecond
	results := c.Wait(context.Background(), []string{sock, link, full, abstract, missing, idle}, 0)
	if !WantsListing(results) {
		t.Fatal("WantsListing = false with live sockets among the results")
	}
	c.Annotate(context.Background(), results, snap)

	self, err := r.Process(context.Background(), me)
	if err != nil {
		t.Fatal(err)
	}
	held := fmt.Sprintf("held by pid %d (%s)", me, self.Command)
	tests := []struct {
		name   string
		id     SocketID
		reason string
	}{
		{"by bound identity", 1, "stream socket accepting connections; " + held},
		{"through a symlink", 1, "stream socket accepting connections; " + held},
		{"by path, with queues", 4, "listener's backlog is full: connect timed out after 50ms (2 pending, backlog 1); " + held},
		{"abstract", 5, "stream socket accepting connections; " + held},
		// The listing knows a listener bound by that name: its file was deleted.
		{"missing file, live listener", 6, "no such file or directory; a listening socket bound to this path lives on, its file deleted (restart the server to recreate it); " + held},
		{"abstract, bound, not listening", 7, "stream socket is bound but not listening (connection refused); " + held},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := results[i]
			var id SocketID
			if got.Entry != nil {
				id = got.Entry.ID
			}
			if id != tt.id {
				t.Errorf("matched socket %d, want %d", id, tt.id)
			}
			if got.Reason() != tt.reason {
				t.Errorf("Reason() = %q, want %q", got.Reason(), tt.reason)
			}
		})
	}
}

func TestParseMode(t *testing.T) {
	tests := []struct {
		in      string
		want    uint32
		wantErr string
	}{
		{"0660", 0o660, ""},
		{"660", 0o660, ""},
		{"0o2770", 0o2770, ""},
		{"7777", 0o7777, ""},
		{"0", 0, ""},
		{"17777", 0, `mode "17777": larger than 07777`},
		{"0680", 0, `mode "0680": want octal digits such as 0660`},
		{"rw-rw----", 0, `mode "rw-rw----": want octal digits such as 0660`},
		{"", 0, `mode "": want octal digits such as 0660`},
		{"0o", 0, `mode "0o": want octal digits such as 0660`},
		{"+660", 0, `mode "+660": want octal digits such as 0660`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseMode(tt.in)
			var gotErr string
			if err != nil {
				gotErr = err.Error()
			}
			if got != tt.want || gotErr != tt.wantErr {
				t.Errorf("ParseMode(%q) = %#o, %q; want %#o, %q", tt.in, got, gotErr, tt.want, tt.wantErr)
			}
		})
	}
}
