package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/udsls/udsls/inspect"
	"github.com/udsls/udsls/inspect/render"
	"github.com/udsls/udsls/internal/testutil"
	"github.com/udsls/udsls/platform/testserver"
)

// watchLine is a line of udsls --watch -o json, as README documents it,
// with each socket's members kept raw to check that "traffic" is there.
type watchLine struct {
	Time     string            `json:"time"`
	Sockets  []json.RawMessage `json:"sockets"`
	Warnings []string          `json:"warnings"`
}

// runWatchJSON runs a watch of the server's sockets and decodes every line.
func runWatchJSON(t *testing.T, dir string, args ...string) []watchLine {
	t.Helper()
	var out, errOut bytes.Buffer
	args = append([]string{"--watch", "-a", "-o", "json", "--interval", "50ms", "--for", "300ms", dir + "/*"}, args...)
	if code := run(context.Background(), args, &out, &errOut); code != exitOK {
		t.Fatalf("udsls %s: exit %d: %s", strings.Join(args, " "), code, errOut.String())
	}
	var lines []watchLine
	sc := bufio.NewScanner(&out)
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var l watchLine
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&l); err != nil {
			t.Fatalf("line %d: %v: %s", len(lines)+1, err, sc.Bytes())
		}
		if _, err := time.Parse(time.RFC3339, l.Time); err != nil {
			t.Errorf("line %d: time: %v", len(lines)+1, err)
		}
		if l.Warnings == nil {
			t.Errorf("line %d: warnings is not an array", len(lines)+1)
		}
		lines = append(lines, l)
	}
	if len(lines) == 0 {
		t.Fatalf("no lines; stderr: %s", errOut.String())
	}
	return lines
}

// socketsOf decodes a line's sockets into the listing's schema, requiring
// each to carry "traffic".
func socketsOf(t *testing.T, l watchLine) map[inspect.SocketID]render.SocketJSON {
	t.Helper()
	out := map[inspect.SocketID]render.SocketJSON{}
	for _, raw := range l.Sockets {
		var members map[string]json.RawMessage
		if err := json.Unmarshal(raw, &members); err != nil {
			t.Fatal(err)
		}
		if _, ok := members["traffic"]; !ok {
			t.Errorf("socket without traffic: %s", raw)
		}
		var s render.SocketJSON
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&s); err != nil {
			t.Fatal(err)
		}
		out[s.Inode] = s
	}
	return out
}

func startServer(t *testing.T, count int) testserver.Manifest {
	t.Helper()
	srv, err := testserver.Start(testserver.Config{Dir: t.TempDir(), Count: count})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv.Manifest()
}

// TestWatchJSONLines: every line is one document of the listing's sockets,
// each with traffic null when nothing counts it, and --for ends with 0.
func TestWatchJSONLines(t *testing.T) {
	openTraffic = func() (trafficCounter, error) { return nil, errors.New("no counter in this test") }
	t.Cleanup(func() { openTraffic = defaultOpenTraffic })
	m := startServer(t, 2)
	for i, l := range runWatchJSON(t, m.Dir) {
		got := socketsOf(t, l)
		for _, want := range m.Sockets {
			if want.Inode == 0 || want.Role == testserver.RolePending || want.Abstract || want.Path == "" {
				continue
			}
			s, ok := got[inspect.SocketID(want.Inode)]
			switch {
			case !ok:
				t.Errorf("line %d: %s %q (inode %d) missing", i+1, want.Role, want.Path, want.Inode)
			case s.Path != want.Path || s.Type != want.Type || s.State != want.State:
				t.Errorf("line %d: %s: got %q %v %v, want %q %v %v", i+1, want.Role, s.Path, s.Type, s.State, want.Path, want.Type, want.State)
			case s.Traffic != nil:
				t.Errorf("line %d: %s: traffic %+v, want null", i+1, want.Role, *s.Traffic)
			}
		}
	}
}

// fakeTraffic counts what a test says, and fails when told to.
type fakeTraffic struct {
	counts map[uint64]inspect.Traffic
	fail   error
	closed int
}

func (f *fakeTraffic) Counts() (map[uint64]inspect.Traffic, error) { return f.counts, f.fail }
func (f *fakeTraffic) Close() error                                { f.closed++; return nil }

// TestWatchTraffic: a socket's traffic is the counter's for its inode, a
// listener's the sum over its accepted connections; a counter that fails
// leaves traffic null, and the counter is closed when the watch ends.
func TestWatchTraffic(t *testing.T) {
	m := startServer(t, 2)
	var listener, client uint64
	var accepted []uint64
	for _, s := range m.Sockets {
		switch s.Role {
		case testserver.RoleEchoStream:
			listener = s.Inode
		case testserver.RoleAccepted:
			accepted = append(accepted, s.Inode)
		case testserver.RoleClient:
			client = s.Inode
		}
	}
	if listener == 0 || len(accepted) != 1 || client == 0 {
		t.Fatalf("manifest: echo-stream %d, accepted %v, client %d", listener, accepted, client)
	}
	fake := &fakeTraffic{counts: map[uint64]inspect.Traffic{
		accepted[0]: {SentBytes: 7, ReceivedBytes: 70},
		client:      {SentBytes: 70, ReceivedBytes: 7},
		1 << 50:     {SentBytes: 1}, // a socket gone since: counted nowhere
	}}
	openTraffic = func() (trafficCounter, error) { return fake, nil }
	t.Cleanup(func() { openTraffic = defaultOpenTraffic })
	want := map[uint64]render.TrafficJSON{listener: {SentBytes: 7, ReceivedBytes: 70}, accepted[0]: {SentBytes: 7, ReceivedBytes: 70}, client: {SentBytes: 70, ReceivedBytes: 7}}
	for i, l := range runWatchJSON(t, m.Dir) {
		got := socketsOf(t, l)
		for _, s := range m.Sockets {
			g, ok := got[inspect.SocketID(s.Inode)]
			if !ok || s.Inode == 0 {
				continue
			}
			w := want[s.Inode] // zero: counted, nothing moved
			if g.Traffic == nil || *g.Traffic != w {
				t.Errorf("line %d: %s: traffic %+v, want %+v", i+1, s.Role, g.Traffic, w)
			}
		}
	}
	if fake.closed != 1 {
		t.Errorf("counter closed %d times, want 1", fake.closed)
	}

	fake = &fakeTraffic{fail: errors.New("map gone")}
	for i, l := range runWatchJSON(t, m.Dir) {
		for _, s := range socketsOf(t, l) {
			if s.Traffic != nil {
				t.Errorf("line %d: traffic %+v from a failed counter", i+1, *s.Traffic)
			}
		}
		if !slices.Contains(l.Warnings, "traffic is no longer counted: map gone") {
			t.Errorf("line %d: warnings %q do not say why traffic is null", i+1, l.Warnings)
		}
	}
	if fake.closed != 1 {
		t.Errorf("failed counter closed %d times, want 1", fake.closed)
	}
}

// TestWatchTable: without -o json, each refresh is a line with its time and
// the listing's table.
func TestWatchTable(t *testing.T) {
	m := startServer(t, 0)
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"--watch", "--interval", "50ms", "--for", "200ms", m.Dir + "/*"}, &out, &errOut); code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	blocks := strings.Split(strings.TrimSuffix(out.String(), "\n\n"), "\n\n")
	for i, b := range blocks {
		lines := strings.Split(b, "\n")
		stamp, ok := strings.CutPrefix(lines[0], "# ")
		if !ok || len(lines) < 3 || !strings.HasPrefix(lines[1], "PATH ") {
			t.Fatalf("refresh %d is not a time and a table:\n%s", i+1, b)
		}
		if _, err := time.Parse(time.RFC3339, strings.Fields(stamp)[0]); err != nil {
			t.Errorf("refresh %d: %v", i+1, err)
		}
		if !strings.Contains(b, m.Dir+"/echo.sock") {
			t.Errorf("refresh %d does not show echo.sock:\n%s", i+1, b)
		}
	}
}

// TestWatchKeepsIteratorLoaded: a watch loads the fd iterator once and
// runs it at every refresh (the same program stays loaded across
// refreshes, where a listing would load one each time), and unloads it
// when interrupted.
func TestWatchKeepsIteratorLoaded(t *testing.T) {
	needBPF(t)
	bin := buildUdsls(t)
	m := startServer(t, 0)
	before := testutil.LoadedBPF(t, testutil.Ours)
	cmd := exec.Command(bin, "--watch", "-o", "json", "--fd-source", "bpf", "--interval", "20ms", m.Dir+"/*")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	lines := bufio.NewScanner(out)
	lines.Buffer(nil, 16<<20)
	// ours is what the watch holds loaded once it has made n more lines.
	ours := func(n int) []string {
		for range n {
			if !lines.Scan() {
				t.Fatalf("the watch ended: %v", lines.Err())
			}
		}
		return testutil.HeldBy(t, testutil.NewBPF(t, testutil.Ours, before), cmd.Process.Pid)
	}
	first := ours(2)
	if len(first) == 0 {
		t.Fatalf("no iterator loaded while the watch runs")
	}
	// Another test binary may load its own meanwhile; the watch's stays.
	kept := slices.DeleteFunc(ours(5), func(id string) bool { return !slices.Contains(first, id) })
	if len(kept) == 0 {
		t.Errorf("no program stayed loaded over 5 refreshes: %v, then others", first)
	}
	cmd.Process.Signal(syscall.SIGINT)
	go io.Copy(io.Discard, out)
	if err := cmd.Wait(); err == nil || cmd.ProcessState.ExitCode() != 130 {
		t.Errorf("interrupted watch: %v, want exit 130", err)
	}
	testutil.NoBPFLeft(t, testutil.Ours, before)
}
