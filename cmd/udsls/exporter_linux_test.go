package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/udsls/udsls/internal/testutil"
	"github.com/udsls/udsls/platform/linux/bpf"
)

// exporterProc is a running `udsls --metrics-listen`.
type exporterProc struct {
	cmd  *exec.Cmd
	url  string
	done chan error
}

// startExporter runs the real binary on a free loopback port and returns
// once it serves.
func startExporter(t *testing.T, args ...string) *exporterProc {
	t.Helper()
	cmd := exec.Command(buildUdsls(t), append([]string{"--metrics-listen", "127.0.0.1:0"}, args...)...)
	errPipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	x := &exporterProc{cmd: cmd, done: make(chan error, 1)}
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-x.done
	})
	lines := bufio.NewScanner(errPipe)
	if !lines.Scan() {
		go func() { x.done <- cmd.Wait() }()
		t.Fatalf("exporter said nothing: %v", <-x.done)
	}
	m := regexp.MustCompile(`^udsls: serving metrics on (http://127\.0\.0\.1:\d+)/metrics$`).FindStringSubmatch(lines.Text())
	go func() {
		for lines.Scan() {
			t.Logf("exporter: %s", lines.Text())
		}
		x.done <- cmd.Wait()
	}()
	if m == nil {
		t.Fatalf("first line %q does not say where it serves", lines.Text())
	}
	x.url = m[1]
	return x
}

// TestExporterLive scrapes the real binary while listeners come and go:
// every scrape is valid for promtool and tells of the sockets as they are.
func TestExporterLive(t *testing.T) {
	dir := t.TempDir()
	stale := filepath.Join(dir, "stale")
	if err := os.Mkdir(stale, 0o755); err != nil {
		t.Fatal(err)
	}
	staleSocket(t, filepath.Join(stale, "old.sock"))
	up := filepath.Join(dir, "up.sock")
	upL := testutil.Listen(t, "unix", up)
	defer upL.Close()
	x := startExporter(t, "--metrics-min-interval", "0", "--metrics-stale", stale,
		"--metrics-check", up, "--metrics-check", filepath.Join(dir, "missing.sock"), dir+"/*")

	series := func() map[string]float64 {
		t.Helper()
		return parseProm(t, get(t, x.url+"/metrics")) // promtool-checked
	}
	backlog := func(p string) string {
		ino := netnsInode(t)
		return fmt.Sprintf("udsls_listener_backlog{container=\"\",netns=%q,path=%q}", ino, p)
	}
	s := series()
	for k, want := range map[string]float64{
		backlog(up):                         4096,
		`udsls_check_up{path="` + up + `"}`: 1,
		`udsls_check_up{path="` + filepath.Join(dir, "missing.sock") + `"}`: 0,
		`udsls_stale_socket_files{directory="` + stale + `"}`:               1,
	} {
		if got, ok := s[k]; !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", k, got, ok, want)
		}
	}
	if countPrefix(s, `udsls_build_info{goversion="go`) != 1 {
		t.Error("no udsls_build_info")
	}
	if _, ok := s["udsls_scrape_duration_seconds{}"]; !ok {
		t.Error("no udsls_scrape_duration_seconds")
	}
	if n := countPrefix(s, "udsls_listener_backlog{"); n != 1 {
		t.Errorf("%d listeners shown; the pattern %s/* selects one", n, dir)
	}

	// A listener that comes is in the next scrape; one that goes is not.
	later := filepath.Join(dir, "later.sock")
	laterL := testutil.Listen(t, "unix", later)
	if _, ok := series()[backlog(later)]; !ok {
		t.Errorf("a new listener is not in the next scrape")
	}
	laterL.Close()
	upL.Close()
	s = series()
	if _, ok := s[backlog(later)]; ok {
		t.Errorf("a closed listener is still in the next scrape")
	}
	if s[`udsls_check_up{path="`+up+`"}`] != 0 {
		t.Errorf("a closed listener's check is still up")
	}
	if got := s["udsls_scrape_snapshots_total{}"]; got != 3 {
		t.Errorf("udsls_scrape_snapshots_total = %v after 3 scrapes with --metrics-min-interval 0", got)
	}
	if got := get(t, x.url+"/healthz"); got != "ok\n" {
		t.Errorf("/healthz = %q", got)
	}

	// SIGTERM is how a service manager stops it: a clean exit.
	x.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-x.done:
		x.done <- err // for the cleanup
		if err != nil {
			t.Errorf("after SIGTERM: %v, want exit status 0", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no exit 10s after SIGTERM")
	}
	if c, err := net.Dial("tcp", strings.TrimPrefix(x.url, "http://")); err == nil {
		c.Close()
		t.Error("the port still takes connections after exit")
	}
}

// TestExporterBurst: concurrent scrapers of the real binary share one
// snapshot within --metrics-min-interval.
func TestExporterBurst(t *testing.T) {
	x := startExporter(t, "--metrics-min-interval", "1h")
	done := make(chan string)
	for range 20 {
		go func() { done <- get(t, x.url+"/metrics") }()
	}
	for range 20 {
		<-done
	}
	if got := parseProm(t, get(t, x.url+"/metrics"))["udsls_scrape_snapshots_total{}"]; got != 1 {
		t.Errorf("21 scrapes within --metrics-min-interval took %v snapshots, want 1", got)
	}
}

// TestExporterPortTaken: an address that cannot be served is a usage-level
// failure, exit 2 and one line, before anything is served.
func TestExporterPortTaken(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	code, stdout, stderr := runUdsls("--metrics-listen", l.Addr().String())
	if code != exitError || stdout != "" || !failedRun.MatchString(stderr) || !strings.Contains(stderr, "address already in use") {
		t.Errorf("exit %d, stdout %q, stderr %q; want 2, nothing, one error line naming the cause", code, stdout, stderr)
	}
}

func countPrefix(m map[string]float64, prefix string) int {
	n := 0
	for k := range m {
		if strings.HasPrefix(k, prefix) {
			n++
		}
	}
	return n
}

func netnsInode(t *testing.T) string {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat("/proc/self/ns/net", &st); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprint(st.Ino)
}

// TestExporterClosesIdleConnections: a client that keeps its connection
// open after a request is let go after metricsIdleTimeout, so that idle
// connections cannot pile up until the snapshots run out of descriptors;
// and the exporter still ends with 0 on its signal.
func TestExporterClosesIdleConnections(t *testing.T) {
	old := metricsIdleTimeout
	metricsIdleTimeout = 200 * time.Millisecond
	t.Cleanup(func() { metricsIdleTimeout = old })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"--metrics-listen", "127.0.0.1:0"}, io.Discard, pw)
		pw.Close()
	}()
	lines := bufio.NewScanner(pr)
	if !lines.Scan() {
		t.Fatal("the exporter said nothing")
	}
	m := regexp.MustCompile(`^udsls: serving metrics on http://(127\.0\.0\.1:\d+)/metrics$`).FindStringSubmatch(lines.Text())
	go io.Copy(io.Discard, pr)
	if m == nil {
		t.Fatalf("first line %q does not say where it serves", lines.Text())
	}
	conn, err := net.Dial("tcp", m[1])
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Close {
		t.Fatalf("status %d, close %v: want a kept-alive 200", resp.StatusCode, resp.Close)
	}
	// Far longer than the idle timeout: a server that never closes it is
	// caught by this deadline.
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	if n, err := br.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("idle connection: read %d bytes, %v; want it closed by the exporter (EOF)", n, err)
	}
	cancel()
	if code := <-done; code != exitOK {
		t.Errorf("exit %d after its context ended, want 0", code)
	}
}

// TestExporterKeepsFDIterator: the exporter loads the BPF fd iterator once
// and keeps it from scrape to scrape (loading it, kernel BTF included,
// was a seventh of a scrape's CPU at 10k sockets), as --watch does.
func TestExporterKeepsFDIterator(t *testing.T) {
	testutil.NeedBPF(t, "the fd iterator", bpf.OpenFDIter)
	x := startExporter(t, "--metrics-min-interval", "0", "--fd-source", "bpf")
	held := func() []string {
		t.Helper()
		var ids []string
		dir := fmt.Sprintf("/proc/%d/fd", x.cmd.Process.Pid)
		fds, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, fd := range fds {
			if link, _ := os.Readlink(filepath.Join(dir, fd.Name())); link != "anon_inode:bpf-prog" {
				continue
			}
			info, _ := os.ReadFile(fmt.Sprintf("/proc/%d/fdinfo/%s", x.cmd.Process.Pid, fd.Name()))
			if m := regexp.MustCompile(`(?m)^prog_id:\s*(\d+)$`).FindSubmatch(info); m != nil {
				ids = append(ids, string(m[1]))
			}
		}
		return ids
	}
	get(t, x.url+"/metrics")
	first := held()
	get(t, x.url+"/metrics")
	if second := held(); len(first) != 1 || !slices.Equal(first, second) {
		t.Errorf("BPF programs held after the first scrape %v, after the second %v; want the one iterator, kept", first, second)
	}
}

// TestExporterSharesFDIterator: with --metrics-stale the listing and the
// stale search read the one iterator the exporter keeps loaded; each
// loaded its own, kernel memory and BTF held twice for the exporter's
// life. Nothing stays loaded once it stops.
func TestExporterSharesFDIterator(t *testing.T) {
	testutil.NeedBPF(t, "the fd iterator", bpf.OpenFDIter)
	before := testutil.LoadedBPF(t, testutil.Ours)
	x := startExporter(t, "--metrics-min-interval", "0", "--fd-source", "bpf", "--metrics-stale", t.TempDir())
	pid := x.cmd.Process.Pid
	get(t, x.url+"/metrics")
	first := testutil.Programs(testutil.HeldBPF(t, pid))
	get(t, x.url+"/metrics")
	if second := testutil.Programs(testutil.HeldBPF(t, pid)); len(first) != 1 || !slices.Equal(first, second) {
		t.Errorf("BPF programs the exporter holds after the first scrape %v, after the second %v; want one iterator for the listing and --metrics-stale, kept", first, second)
	}
	if err := x.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err := <-x.done
	x.done <- err // for the cleanup's
	if err != nil {
		t.Errorf("exporter stopped by SIGTERM: %v; want exit 0", err)
	}
	testutil.NoBPFLeft(t, testutil.Ours, before)
}
