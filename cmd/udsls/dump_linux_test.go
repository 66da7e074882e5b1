//go:build linux

package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/udsls/udsls/internal/testutil"
	"github.com/udsls/udsls/platform/linux/bpf"
	"github.com/udsls/udsls/platform/testenv"
)

// needDump skips (or fails, under UDSLS_REQUIRE_BPF=1) unless the dump
// program loads here.
func needDump(t *testing.T) {
	t.Helper()
	testutil.NeedBPF(t, "the dump program", func() (*bpf.Dumper, error) {
		return bpf.StartDump(bpf.DumpTarget{Inodes: []uint64{1}})
	})
}

// dumpRun is a running `udsls --dump`.
type dumpRun struct {
	cmd    *exec.Cmd
	stdout bytes.Buffer
	mu     sync.Mutex
	stderr bytes.Buffer
	done   chan struct{}
}

// startDump runs udsls with args and returns once it says it is dumping.
func startDump(t *testing.T, bin string, args ...string) *dumpRun {
	t.Helper()
	d := &dumpRun{cmd: exec.Command(bin, args...), done: make(chan struct{})}
	d.cmd.Stdout = &d.stdout
	errPipe, err := d.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		d.cmd.Process.Kill()
		<-d.done
	})
	ready := make(chan bool, 1)
	go func() {
		defer close(d.done)
		sc := bufio.NewScanner(errPipe)
		said := false
		for sc.Scan() {
			d.mu.Lock()
			d.stderr.WriteString(sc.Text() + "\n")
			d.mu.Unlock()
			if !said && strings.HasPrefix(sc.Text(), "udsls: dumping ") {
				said = true
				ready <- true
			}
		}
		if !said {
			ready <- false
		}
		d.cmd.Wait()
	}()
	if !<-ready {
		<-d.done
		t.Fatalf("udsls %q: never said it was dumping: exit %d, stderr %q", args, d.cmd.ProcessState.ExitCode(), d.stderr.String())
	}
	return d
}

// stop signals the dump and waits for it to end.
func (d *dumpRun) stop(t *testing.T, sig syscall.Signal) (code int, stdout, stderr string) {
	t.Helper()
	d.cmd.Process.Signal(sig)
	select {
	case <-d.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("udsls --dump did not end on %v", sig)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cmd.ProcessState.ExitCode(), d.stdout.String(), d.stderr.String()
}

// wait waits for a dump that ends by itself (--for).
func (d *dumpRun) wait(t *testing.T) (code int, stdout, stderr string) {
	t.Helper()
	<-d.done
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cmd.ProcessState.ExitCode(), d.stdout.String(), d.stderr.String()
}

func sock(t *testing.T, typ int) int {
	t.Helper()
	fd, err := unix.Socket(unix.AF_UNIX, typ, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return fd
}

// connectAccept connects a stream socket to the listener lis at name and
// accepts it: the client's end and the accepted one, both closed when the
// test ends.
func connectAccept(t *testing.T, lis int, name string) (client, server int) {
	t.Helper()
	client = sock(t, unix.SOCK_STREAM)
	must(t, unix.Connect(client, &unix.SockaddrUnix{Name: name}))
	server, _, err := unix.Accept(lis)
	must(t, err)
	t.Cleanup(func() { unix.Close(server) })
	return client, server
}

// onDyingThread runs fn on an OS thread of its own, which ends with it:
// never the main thread, which Go keeps, and whose name, uid or namespace
// are the process's for every later test.
func onDyingThread(fn func() error) error {
	res := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if unix.Gettid() == unix.Getpid() {
			// Held while fn runs on another thread.
			err := onDyingThread(fn)
			runtime.UnlockOSThread()
			res <- err
			return
		}
		res <- fn() // the goroutine ends locked, and its thread with it
	}()
	return <-res
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// sent is a message as the test sent it.
type sent struct {
	from, to uint64
	data     []byte
}

// pcapRecord is one record of a pcap file udsls wrote.
type pcapRecord struct {
	origLen          uint32
	hdrLen           int
	version, call    byte
	pid, len, tid    uint32
	inode, peer      uint64
	command          string
	payload, rawData []byte
}

// readPcap reads the file as any pcap reader would, checking the file
// header, and decodes udsls's header of each record.
func readPcap(t *testing.T, b []byte) []pcapRecord {
	t.Helper()
	le, be := binary.LittleEndian, binary.BigEndian
	if len(b) < 24 || le.Uint32(b) != 0xa1b23c4d || le.Uint16(b[4:]) != 2 || le.Uint16(b[6:]) != 4 || le.Uint32(b[20:]) != 147 {
		t.Fatalf("pcap file header: % x", b[:min(len(b), 24)])
	}
	snap := le.Uint32(b[16:])
	var recs []pcapRecord
	for b = b[24:]; len(b) > 0; {
		if len(b) < 16 {
			t.Fatalf("pcap: %d bytes after the last record", len(b))
		}
		incl := le.Uint32(b[8:])
		r := pcapRecord{origLen: le.Uint32(b[12:])}
		if incl > snap || int(incl) > len(b)-16 || incl < 48 || incl > r.origLen {
			t.Fatalf("pcap record: incl_len %d, orig_len %d, snaplen %d, %d bytes left", incl, r.origLen, snap, len(b)-16)
		}
		d := b[16 : 16+incl]
		r.rawData = d
		r.hdrLen = int(be.Uint16(d))
		r.version, r.call = d[2], d[3]
		r.pid, r.len, r.tid = be.Uint32(d[4:]), be.Uint32(d[8:]), be.Uint32(d[12:])
		r.inode, r.peer = be.Uint64(d[16:]), be.Uint64(d[24:])
		r.command = strings.TrimRight(string(d[32:48]), "\x00")
		r.payload = d[r.hdrLen:]
		recs = append(recs, r)
		b = b[16+incl:]
	}
	return recs
}

var tcpdumpHex = regexp.MustCompile(`^\s+0x([0-9a-f]{4}):\s+((?:[0-9a-f]{2,4} ?)+)`)

// tcpdumpPackets reads file with tcpdump -r -xx and returns each
// packet's bytes as it prints them in hex.
func tcpdumpPackets(t *testing.T, file string) [][]byte {
	t.Helper()
	tcpdump := testenv.NeedTool(t, "tcpdump", "tcpdump")
	out, err := exec.Command(tcpdump, "-r", file, "-xx", "-nn").Output()
	if err != nil {
		t.Fatalf("tcpdump -r: %v", err)
	}
	var pkts [][]byte
	for _, line := range strings.Split(string(out), "\n") {
		m := tcpdumpHex.FindStringSubmatch(line)
		switch {
		case line == "":
		case m == nil:
			pkts = append(pkts, nil) // the line that starts a packet
		case len(pkts) == 0:
			t.Fatalf("tcpdump: hex before a packet: %q", line)
		default:
			// tcpdump prints an unknown link type's packet twice, once
			// with text beside it: keep the last printing.
			if m[1] == "0000" {
				pkts[len(pkts)-1] = nil
			}
			h, err := hex.DecodeString(strings.ReplaceAll(strings.TrimSpace(m[2]), " ", ""))
			if err != nil {
				t.Fatalf("tcpdump line %q: %v", line, err)
			}
			pkts[len(pkts)-1] = append(pkts[len(pkts)-1], h...)
		}
	}
	return pkts
}

// The payloads: NUL bytes, invalid UTF-8, a terminal escape.
var dumpPayloads = [][]byte{
	[]byte("hello\x00world"),
	{0xff, 0xfe, 0x00, 0xc3, 0x28, 0x1b, '[', '3', '1', 'm'},
	[]byte("\x00"),
	bytes.Repeat([]byte("0123456789abcdef"), 10),
}

// TestDumpPcap dumps a stream listener with two connections and a
// datagram socket, sent to connected and by name, both ways, and reads
// the pcap back with its own reader and with tcpdump: every payload
// exactly, its sender's and receiver's inodes, pid and command. SIGTERM
// ends the dump, the file is complete, and no program stays loaded.
func TestDumpPcap(t *testing.T) {
	needDump(t)
	testenv.NeedTool(t, "tcpdump", "tcpdump")
	bin := buildUdsls(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "stream.sock")
	dpath := filepath.Join(dir, "dgram.sock")

	lis := sock(t, unix.SOCK_STREAM)
	must(t, unix.Bind(lis, &unix.SockaddrUnix{Name: path}))
	must(t, unix.Listen(lis, 8))
	// One connection made before the dump starts, one after.
	c1, a1 := connectAccept(t, lis, path)

	srv := sock(t, unix.SOCK_DGRAM)
	must(t, unix.Bind(srv, &unix.SockaddrUnix{Name: dpath}))

	pcapFile := filepath.Join(dir, "out.pcap")
	before := testutil.LoadedBPF(t, dumpProg)
	d := startDump(t, bin, "--dump", path, "-w", pcapFile)
	dd := startDump(t, bin, "--dump", dpath, "-w", pcapFile+".dgram", "--max-bytes", "64")
	if loaded := testutil.Programs(testutil.HeldBy(t, testutil.NewBPF(t, dumpProg, before), d.cmd.Process.Pid, dd.cmd.Process.Pid)); len(loaded) != 2 {
		t.Fatalf("bpftool lists %v as the two dumps' programs, want 2 of them", loaded)
	}

	c2, a2 := connectAccept(t, lis, path)
	// A socket of another listener is not dumped.
	other := sock(t, unix.SOCK_STREAM)
	must(t, unix.Bind(other, &unix.SockaddrUnix{Name: filepath.Join(dir, "other.sock")}))
	must(t, unix.Listen(other, 1))
	oc := sock(t, unix.SOCK_STREAM)
	must(t, unix.Connect(oc, &unix.SockaddrUnix{Name: filepath.Join(dir, "other.sock")}))
	if _, err := unix.Write(oc, []byte("not this")); err != nil {
		t.Fatal(err)
	}

	var want []sent
	send := func(fd int, how string, p []byte) {
		t.Helper()
		var err error
		switch how {
		case "write":
			_, err = unix.Write(fd, p)
		case "writev":
			_, err = unix.Writev(fd, [][]byte{p[:len(p)/2], p[len(p)/2:]})
		case "sendmsg":
			_, err = unix.SendmsgN(fd, p, nil, nil, 0)
		}
		if err != nil {
			t.Fatalf("%s: %v", how, err)
		}
	}
	conns := []struct{ client, server int }{{c1, a1}, {c2, a2}}
	for i, c := range conns {
		for j, p := range dumpPayloads {
			how := []string{"write", "writev", "sendmsg"}[(i+j)%3]
			ci, si := testutil.FDInode(t, c.client), testutil.FDInode(t, c.server)
			send(c.client, how, p)
			want = append(want, sent{ci, si, p})
			send(c.server, how, p)
			want = append(want, sent{si, ci, p})
		}
	}

	// Datagrams: sendto by name from an unbound socket, from a connected
	// one, and the server's replies. Each is cut at --max-bytes 64.
	dc := sock(t, unix.SOCK_DGRAM)
	conn := sock(t, unix.SOCK_DGRAM)
	cpath := filepath.Join(dir, "client.sock")
	must(t, unix.Bind(conn, &unix.SockaddrUnix{Name: cpath}))
	must(t, unix.Connect(conn, &unix.SockaddrUnix{Name: dpath}))
	var dwant []sent
	for _, p := range dumpPayloads {
		must(t, unix.Sendto(dc, p, 0, &unix.SockaddrUnix{Name: dpath}))
		dwant = append(dwant, sent{testutil.FDInode(t, dc), 0, p})
		send(conn, "write", p)
		dwant = append(dwant, sent{testutil.FDInode(t, conn), testutil.FDInode(t, srv), p})
		must(t, unix.Sendto(srv, p, 0, &unix.SockaddrUnix{Name: cpath}))
		dwant = append(dwant, sent{testutil.FDInode(t, srv), 0, p})
	}

	for _, x := range []struct {
		d    *dumpRun
		file string
		want []sent
		max  int
	}{{d, pcapFile, want, 4096}, {dd, pcapFile + ".dgram", dwant, 64}} {
		code, stdout, stderr := x.d.stop(t, syscall.SIGTERM)
		if code != 128+int(syscall.SIGTERM) || stdout != "" {
			t.Errorf("udsls --dump %s ended by SIGTERM: exit %d, stdout %q, stderr %q; want 143 and nothing on stdout", x.file, code, stdout, stderr)
		}
		b, err := os.ReadFile(x.file)
		if err != nil {
			t.Fatalf("the pcap file after SIGTERM: %v", err)
		}
		recs := readPcap(t, b)
		pkts := tcpdumpPackets(t, x.file)
		if len(recs) != len(x.want) || len(pkts) != len(x.want) {
			t.Fatalf("%s: %d records, tcpdump read %d; want %d\n%+v", x.file, len(recs), len(pkts), len(x.want), recs)
		}
		for i, w := range x.want {
			r := recs[i]
			kept := w.data[:min(len(w.data), x.max)]
			if r.hdrLen != 48 || r.version != 1 || r.pid != uint32(os.Getpid()) || r.len != uint32(len(w.data)) ||
				r.inode != w.from || r.peer != w.to || !bytes.Equal(r.payload, kept) || r.origLen != uint32(48+len(w.data)) ||
				!strings.HasPrefix(filepath.Base(os.Args[0]), r.command) || r.command == "" {
				t.Errorf("%s record %d: got %+v; want %d -> %d, pid %d, %q", x.file, i, r, w.from, w.to, os.Getpid(), w.data)
			}
			if !bytes.Equal(pkts[i], r.rawData) {
				t.Errorf("%s record %d: tcpdump read % x, want % x", x.file, i, pkts[i], r.rawData)
			}
		}
	}
	testutil.NoBPFLeft(t, dumpProg, before)
}

// dumpProg matches the names of the dump programs.
func dumpProg(name string) bool { return slices.Contains(bpf.DumpProgramNames, name) }

// TestDumpHexView: the terminal view of an abstract socket's messages,
// with --max-bytes cutting them, a command name and payload full of
// terminal escapes that reach the output only escaped, and --for ending
// the dump with exit 0 and nothing left loaded.
func TestDumpHexView(t *testing.T) {
	needDump(t)
	bin := buildUdsls(t)
	name := fmt.Sprintf("udsls-dump-test-%d", os.Getpid())
	lis := sock(t, unix.SOCK_STREAM)
	must(t, unix.Bind(lis, &unix.SockaddrUnix{Name: "@" + name}))
	must(t, unix.Listen(lis, 1))
	before := testutil.LoadedBPF(t, dumpProg)
	d := startDump(t, bin, "--dump", "@"+name, "--max-bytes", "20", "--for", "3s")

	c, a := connectAccept(t, lis, "@"+name)
	payload := []byte("\x1b]0;pwned\x07\x1b[2J\x00\xff\xfeline\nnext line that goes past twenty")
	// The command name the kernel reports is the sending thread's: give
	// this one a hostile name, and let the thread die with it. Not the
	// main thread, which Go never ends: its name is the process's, and ss
	// then split every line of this process's sockets in two, failing
	// TestOracle later in the run.
	must(t, onDyingThread(func() error {
		name, err := unix.BytePtrFromString("\x1b[31mevil\n")
		if err == nil {
			err = unix.Prctl(unix.PR_SET_NAME, uintptr(unsafe.Pointer(name)), 0, 0, 0)
		}
		if err == nil {
			_, err = unix.Write(c, payload)
		}
		return err
	}))
	code, stdout, stderr := d.wait(t)
	if code != exitOK {
		t.Fatalf("--for 3s: exit %d, stderr %q", code, stderr)
	}
	ci, ai := testutil.FDInode(t, c), testutil.FDInode(t, a)
	want := fmt.Sprintf(` pid %d (\x1b[31mevil\n) write %d -> %d, %d bytes (20 shown)
  0000  1b 5d 30 3b 70 77 6e 65  64 07 1b 5b 32 4a 00 ff  |.]0;pwned..[2J..|
  0010  fe 6c 69 6e                                       |.lin|
`, os.Getpid(), ci, ai, len(payload))
	if _, rest, ok := strings.Cut(stdout, " "); !ok || rest != want[1:] {
		t.Errorf("hex view:\n%s\nwant (after the time):\n%s", stdout, want)
	}
	if strings.ContainsAny(stdout, "\x1b\x07\x00") {
		t.Errorf("a control byte reached the terminal: %q", stdout)
	}
	if !strings.Contains(stderr, "udsls: 1 messages, 20 bytes captured\n") {
		t.Errorf("stderr %q: want the count of messages", stderr)
	}
	testutil.NoBPFLeft(t, dumpProg, before)
}

// TestDumpBadTarget: a target that names no socket, and a -w that would
// replace what is not a regular file, are one error line and exit 2,
// before anything is loaded.
func TestDumpBadTarget(t *testing.T) {
	testenv.NeedRoot(t, "--dump needs CAP_BPF and CAP_PERFMON before it looks at its target")
	bin := buildUdsls(t)
	dir := t.TempDir()
	stale := filepath.Join(dir, "stale.sock")
	fd := sock(t, unix.SOCK_STREAM)
	must(t, unix.Bind(fd, &unix.SockaddrUnix{Name: stale}))
	unix.Close(fd) // the file stays, bound to nothing
	plain := filepath.Join(dir, "plain")
	must(t, os.WriteFile(plain, nil, 0o644))
	live := filepath.Join(dir, "live.sock")
	listenAt(t, live, 0o755)
	link := filepath.Join(dir, "link.pcap")
	must(t, os.Symlink(plain, link))
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--dump", filepath.Join(dir, "missing")}, `udsls: error: --dump ` + filepath.Join(dir, "missing") + `: no such file or directory`},
		{[]string{"--dump", plain}, `udsls: error: --dump ` + plain + `: not a socket`},
		{[]string{"--dump", stale}, `udsls: error: --dump ` + stale + `: no socket is bound to it (a stale socket file?)`},
		{[]string{"--dump", "@udsls-no-such-name\x1b[0m"}, `udsls: error: --dump: no socket is bound to the abstract name @udsls-no-such-name\x1b[0m`},
		{[]string{"--dump", "999999999999"}, `udsls: error: --dump: no Unix domain socket has inode 999999999999`},
		{[]string{"--dump", live, "-w", link}, `udsls: error: -w "` + link + `": is a symbolic link; udsls replaces only a regular file, so give the file it points to`},
		{[]string{"--dump", live, "-w", "/dev/null"}, `udsls: error: -w "/dev/null": is a character device, not a regular file; udsls replaces only a regular file`},
		{[]string{"--dump", live, "--max-bytes", "-1"}, `udsls: error: invalid --max-bytes -1: want 0 to 1048576`},
		{[]string{"--dump", live, "-o", "json"}, `udsls: error: -o json is not available for --dump (-w FILE writes pcap)`},
	} {
		code, stdout, stderr := runCmd(t, exec.Command(bin, c.args...))
		first, _, _ := strings.Cut(stderr, "\n")
		if code != exitError || stdout != "" || first != c.want {
			t.Errorf("udsls %q: exit %d, stdout %q, stderr %q; want exit 2 and %q", c.args, code, stdout, stderr, c.want)
		}
	}
	if b, err := os.ReadFile(plain); err != nil || len(b) != 0 {
		t.Errorf("the file behind the refused symlink: %q, %v", b, err)
	}
}

// TestDumpUnprivileged: without the capabilities, one line naming them.
func TestDumpUnprivileged(t *testing.T) {
	testenv.NeedRoot(t, "setpriv to nobody")
	bin := buildUdsls(t)
	code, stdout, stderr := asNobody(t, bin, "--dump", "@x")
	if code != exitError || stdout != "" || stderr != "udsls: error: --dump needs root, or CAP_BPF and CAP_PERFMON: missing CAP_BPF and CAP_PERFMON\n" {
		t.Errorf("as nobody: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

// TestDumpLost: a reader that falls behind (stopped) while a flood fills
// the ring buffer loses messages, and says how many; the messages it
// kept are whole.
func TestDumpLost(t *testing.T) {
	needDump(t)
	bin := buildUdsls(t)
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_DGRAM, 0)
	must(t, err)
	defer unix.Close(fds[0])
	defer unix.Close(fds[1])
	pcapFile := filepath.Join(t.TempDir(), "lost.pcap")
	d := startDump(t, bin, "--dump", strconv.FormatUint(testutil.FDInode(t, fds[0]), 10), "-w", pcapFile, "--max-bytes", "65536")
	must(t, d.cmd.Process.Signal(syscall.SIGSTOP))
	// 16 MiB of ring buffer holds fewer than 300 messages of 64 KiB.
	msg := bytes.Repeat([]byte{0xa5}, 60000)
	const n = 600
	for range n {
		if _, err := unix.Write(fds[0], msg); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, len(msg))
		if _, err := unix.Read(fds[1], buf); err != nil {
			t.Fatal(err)
		}
	}
	must(t, d.cmd.Process.Signal(syscall.SIGCONT))
	code, _, stderr := d.stop(t, syscall.SIGINT)
	b, err := os.ReadFile(pcapFile)
	must(t, err)
	recs := readPcap(t, b)
	m := regexp.MustCompile(`udsls: warning: (\d+) messages were lost: the ring buffer was full`).FindStringSubmatch(stderr)
	if code != 128+int(syscall.SIGINT) || m == nil {
		t.Fatalf("exit %d, stderr %q; want 130 and a warning of lost messages", code, stderr)
	}
	if lost, _ := strconv.Atoi(m[1]); lost+len(recs) != n || len(recs) == 0 {
		t.Errorf("%d lost and %d in the file, want %d in all, some kept", lost, len(recs), n)
	}
	for i, r := range recs {
		if !bytes.Equal(r.payload, msg) {
			t.Fatalf("record %d: %d bytes, not the message", i, len(r.payload))
		}
	}
}

// TestDumpInodeOneConnection: by inode, an accepted connection is dumped
// alone, though it carries its listener's name; by the listener's inode,
// every connection is.
func TestDumpInodeOneConnection(t *testing.T) {
	needDump(t)
	bin := buildUdsls(t)
	path := filepath.Join(t.TempDir(), "l.sock")
	lis := sock(t, unix.SOCK_STREAM)
	must(t, unix.Bind(lis, &unix.SockaddrUnix{Name: path}))
	must(t, unix.Listen(lis, 8))
	var clients, accepted []int
	for range 2 {
		c, a := connectAccept(t, lis, path)
		clients, accepted = append(clients, c), append(accepted, a)
	}
	for _, c := range []struct {
		target uint64
		want   int
	}{{testutil.FDInode(t, accepted[0]), 2}, {testutil.FDInode(t, lis), 4}} {
		d := startDump(t, bin, "--dump", strconv.FormatUint(c.target, 10))
		for i := range 2 {
			_, err := unix.Write(clients[i], []byte("ping"))
			must(t, err)
			_, err = unix.Write(accepted[i], []byte("pong"))
			must(t, err)
		}
		code, stdout, stderr := d.stop(t, syscall.SIGINT)
		if got := strings.Count(stdout, " bytes\n"); code != 130 || got != c.want {
			t.Errorf("--dump %d: exit %d, %d messages, want %d:\n%s%s", c.target, code, got, c.want, stdout, stderr)
		}
		if c.want == 2 && strings.Contains(stdout, strconv.FormatUint(testutil.FDInode(t, clients[1]), 10)) {
			t.Errorf("--dump %d: the other connection is dumped:\n%s", c.target, stdout)
		}
	}
}

// TestDumpSendfile: bytes sent from no user buffer (sendfile) are a
// message of their length whose bytes are not shown, not silence.
func TestDumpSendfile(t *testing.T) {
	needDump(t)
	bin := buildUdsls(t)
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	must(t, err)
	defer unix.Close(fds[0])
	defer unix.Close(fds[1])
	f, err := os.CreateTemp(t.TempDir(), "data")
	must(t, err)
	defer f.Close()
	_, err = f.WriteString("sent by sendfile")
	must(t, err)
	d := startDump(t, bin, "--dump", strconv.FormatUint(testutil.FDInode(t, fds[0]), 10))
	var off int64
	n, err := unix.Sendfile(fds[0], int(f.Fd()), &off, 16)
	if err != nil || n != 16 {
		t.Fatalf("sendfile: %d, %v", n, err)
	}
	_, stdout, stderr := d.stop(t, syscall.SIGINT)
	want := fmt.Sprintf(" pid %d (%s) other %d -> %d, 16 bytes (0 shown)\n", os.Getpid(), filepath.Base(os.Args[0])[:min(15, len(filepath.Base(os.Args[0])))], testutil.FDInode(t, fds[0]), testutil.FDInode(t, fds[1]))
	if _, rest, _ := strings.Cut(stdout, " "); rest != want[1:] {
		t.Errorf("sendfile: got %q, want %q (stderr %q)", stdout, want, stderr)
	}
}
