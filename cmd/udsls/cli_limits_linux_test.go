//go:build linux

package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/udsls/udsls/internal/testutil"
	"github.com/udsls/udsls/platform/testenv"

	"github.com/google/go-cmp/cmp"

	"github.com/udsls/udsls/inspect"
)

// maxRSS bounds the peak resident memory of any run here, in KiB.
const maxRSS = 512 << 10

// limitsRun runs argv with env added and reports its peak RSS. The rusage
// of a child forked from this test would count this process's own peak
// (the kernel keeps the old memory's high-water mark across exec), so GNU
// time, a small process, forks it and reports.
func limitsRun(t *testing.T, env []string, argv ...string) (code int, stdout, stderr string) {
	t.Helper()
	timeBin := testenv.NeedTool(t, "/usr/bin/time", "time")
	report := filepath.Join(t.TempDir(), "rss")
	cmd := exec.Command(timeBin, append([]string{"-o", report, "-f", "%M"}, argv...)...)
	cmd.Env = append(os.Environ(), env...)
	start := time.Now()
	code, stdout, stderr = runCmd(t, cmd)
	took := time.Since(start).Round(time.Millisecond)
	data, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	// time writes "Command exited with non-zero status N" first then.
	lines := strings.Fields(string(data))
	rss, err := strconv.Atoi(lines[len(lines)-1])
	if err != nil {
		t.Fatalf("GNU time wrote %q", data)
	}
	shown := strings.Join(argv[:min(len(argv), 8)], " ")
	if len(argv) > 8 {
		shown += fmt.Sprintf(" ... (%d more)", len(argv)-8)
	}
	t.Logf("%s: exit %d in %v, peak RSS %d KiB", shown, code, took, rss)
	if rss > maxRSS {
		t.Errorf("%s: peak RSS %d KiB, want at most %d", shown, rss, maxRSS)
	}
	return code, stdout, stderr
}

func TestLimits(t *testing.T) {
	testenv.Heavy(t, "runs udsls under tight limits over thousands of sockets and processes, ~80s")
	bin := buildUdsls(t)

	t.Run("nofile", func(t *testing.T) {
		testenv.NeedTool(t, "prlimit", "util-linux")
		sleep := testenv.NeedTool(t, "sleep", "coreutils")
		// Enough processes for the fd walk to want a worker per CPU, and
		// many CPUs as GOMAXPROCS tells it.
		for range 1024 {
			cmd := exec.Command(sleep, "600")
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		}
		dir := t.TempDir()
		listenAt(t, filepath.Join(dir, "live.sock"), 0o755)
		testutil.StaleSocket(t, filepath.Join(dir, "dead.sock"), 1)
		pattern := filepath.Join(dir, "*")
		env := []string{"GOMAXPROCS=64"}

		code, want, errOut := limitsRun(t, env, bin, "-a", "-o", "json", pattern)
		if code != exitOK {
			t.Fatalf("without a limit: exit %d, stderr %q", code, errOut)
		}
		for _, n := range []int{16, 32} {
			limit := "--nofile=" + strconv.Itoa(n)
			code, got, errOut := limitsRun(t, env, "prlimit", limit, bin, "-a", "-o", "json", pattern)
			if code != exitOK || strings.Contains(errOut, "too many open files") {
				t.Errorf("%s: exit %d, stderr %q", limit, code, errOut)
			}
			if diff := cmp.Diff(holdersOf(t, want), holdersOf(t, got)); diff != "" {
				t.Errorf("%s: holders differ from a run without the limit (-want +got):\n%s", limit, diff)
			}
			code, out, errOut := limitsRun(t, env, "prlimit", limit, bin, "--check", filepath.Join(dir, "live.sock"))
			if code != exitOK || !strings.Contains(out, ": up: ") {
				t.Errorf("%s: --check: exit %d, %q, stderr %q", limit, code, out, errOut)
			}
			code, out, errOut = limitsRun(t, env, "prlimit", limit, bin, "--stale", dir, "-o", "json")
			if paths := decodeStale(t, []byte(out)).paths(); code != exitNo || !slices.Equal(paths, []string{filepath.Join(dir, "dead.sock")}) {
				t.Errorf("%s: --stale: exit %d, stale %q, stderr %q", limit, code, paths, errOut)
			}
		}
		// Below about 8 descriptors the runtime aborts before main, in a
		// dependency's package init (protobuf's detrand opens the binary,
		// and the poller then cannot get its own two): out of our hands.
		for _, n := range []int{10, 15} {
			for _, args := range [][]string{{"-a"}, {"--check", pattern}, {"--stale", dir, "--remove"}} {
				limit := "--nofile=" + strconv.Itoa(n)
				code, out, errOut := limitsRun(t, env, append([]string{"prlimit", limit, bin}, args...)...)
				want := fmt.Sprintf("udsls: error: only %d file descriptors allowed (RLIMIT_NOFILE); udsls needs at least 16\n", n)
				if code != exitError || out != "" || errOut != want {
					t.Errorf("%s %q: exit %d, stdout %q, stderr %q; want 2 and %q", limit, args, code, out, errOut, want)
				}
			}
		}
		if _, err := os.Lstat(filepath.Join(dir, "dead.sock")); err != nil {
			t.Errorf("a run refused for want of descriptors removed a file: %v", err)
		}
	})

	t.Run("many-sockets", func(t *testing.T) {
		const servers, sets = 4, 2500
		root := t.TempDir()
		var pids []string
		want := map[int]map[uint64]int{} // pid: inode: fd
		var stale []string
		for i := range servers {
			m := startServe(t, bin, filepath.Join(root, strconv.Itoa(i)), sets)
			pids = append(pids, strconv.Itoa(m.PID))
			want[m.PID] = map[uint64]int{}
			for _, s := range m.Sockets {
				switch {
				case s.Role == "stale":
					stale = append(stale, s.Path)
				case s.PID == m.PID && s.Inode != 0:
					want[m.PID][s.Inode] = s.FD
				}
			}
		}
		total := 0
		for _, w := range want {
			total += len(w)
		}
		t.Logf("%d servers hold %d sockets", servers, total)

		code, out, errOut := limitsRun(t, nil, bin, "-a", "-o", "json", "-p", strings.Join(pids, ","))
		if code != exitOK {
			t.Fatalf("exit %d, stderr %q", code, errOut)
		}
		got := map[int]map[uint64]int{}
		for _, s := range decodeListingJSON(t, out).Sockets {
			for _, p := range s.Processes {
				if want[p.PID] == nil {
					continue
				}
				if got[p.PID] == nil {
					got[p.PID] = map[uint64]int{}
				}
				got[p.PID][uint64(s.Inode)] = p.FD
			}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("sockets and fds of the servers (-manifest +listing):\n%s", diff)
		}

		code, out, errOut = limitsRun(t, nil, bin, "--stale", root, "-o", "json")
		if diff := cmp.Diff(sorted(stale), decodeStale(t, []byte(out)).paths()); code != exitNo || diff != "" {
			t.Errorf("--stale: exit %d, stderr %q; stale files (-want +got):\n%s", code, errOut, diff)
		}

		var checks []string
		for i := range servers {
			for j := range 50 {
				checks = append(checks, filepath.Join(root, strconv.Itoa(i), "set-"+strconv.Itoa(j)+".sock"))
			}
		}
		code, out, errOut = limitsRun(t, nil, append([]string{bin, "--check"}, checks...)...)
		if n := strings.Count(out, ": up: "); code != exitOK || n != len(checks) {
			t.Errorf("--check of %d listeners: exit %d, %d up, stderr %q", len(checks), code, n, errOut)
		}
	})

	t.Run("huge-procnet", func(t *testing.T) {
		root := t.TempDir()
		file := filepath.Join(root, "net", "unix")
		if err := os.Mkdir(filepath.Dir(file), 0o755); err != nil {
			t.Fatal(err)
		}
		data, paths := hugeProcNetUnix(10 << 20)
		if err := os.WriteFile(file, data, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("/proc/net/unix fixture: %d bytes, %d sockets", len(data), len(paths))

		procfs := []string{bin, "--proc-root", root, "--source", "procfs", "-a", "-o", "json"}
		code, out, errOut := limitsRun(t, nil, procfs...)
		if code != exitOK {
			t.Fatalf("exit %d, stderr %q", code, errOut)
		}
		// Only the names: decoding every field of 100 000 sockets takes
		// long under the race detector.
		var doc struct {
			Sockets []struct{ Path string }
		}
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, s := range doc.Sockets {
			got = append(got, s.Path)
		}
		slices.Sort(got)
		// cmp.Diff of 100 000 names takes seconds: only on a mismatch.
		if want := slices.Sorted(slices.Values(paths)); !slices.Equal(want, got) {
			t.Errorf("sockets (-fixture +listing):\n%s", cmp.Diff(want, got))
		}
		// The same file as a capture: as many sockets, in valid JSON.
		code, out, errOut = limitsRun(t, nil, bin, "--from", "procnet:"+file, "-a", "-o", "json")
		if n := strings.Count(out, `"inode": `); code != exitOK || !json.Valid([]byte(out)) || n != len(paths) {
			t.Errorf("--from: exit %d, %d sockets, want %d; stderr %q", code, n, len(paths), errOut)
		}
		code, out, errOut = limitsRun(t, nil, bin, "--proc-root", root, "--source", "procfs", "-a")
		if n := strings.Count(out, "\n"); code != exitOK || n != len(paths)+1 {
			t.Errorf("table: exit %d, %d lines, want %d; stderr %q", code, n, len(paths)+1, errOut)
		}

		// Malformed at 10 MB: one clipped error line, not the input echoed.
		// A bad line after a named socket would read as the rest of its
		// name (see ParseProcNetUnix), so the first record is the bad one.
		bad := bytes.Replace(data, []byte(": 00000002 "), []byte(": 0000000x "), 1)
		want := fmt.Sprintf("udsls: error: %s line 2: refcount \"0000000x\": want 8 hex digits\n", file)
		for _, data := range [][]byte{bad, bytes.Repeat([]byte("\x1b[2J"), 10<<20/4)} {
			if err := os.WriteFile(file, data, 0o644); err != nil {
				t.Fatal(err)
			}
			code, out, errOut := limitsRun(t, nil, bin, "--proc-root", root, "--source", "procfs")
			if code != exitError || out != "" || strings.Count(errOut, "\n") != 1 || len(errOut) > 1200 || !strings.HasPrefix(errOut, "udsls: error: ") {
				t.Errorf("malformed: exit %d, stdout %d bytes, stderr %d bytes %.200q", code, len(out), len(errOut), errOut)
			}
			requireSafeText(t, "error", errOut)
			if len(data) == len(bad) && errOut != want {
				t.Errorf("malformed: stderr %.200q, want %q", errOut, want)
			}
		}
	})
}

// holdersOf maps each listed socket's inode to its holders, "pid/fd".
func holdersOf(t *testing.T, out string) map[inspect.SocketID][]string {
	t.Helper()
	m := map[inspect.SocketID][]string{}
	for _, s := range decodeListingJSON(t, out).Sockets {
		var hs []string
		for _, p := range s.Processes {
			hs = append(hs, strconv.Itoa(p.PID)+"/"+strconv.Itoa(p.FD))
		}
		m[s.Inode] = hs
	}
	return m
}

// startServe runs `udsls --serve` until the test ends and returns its
// manifest.
func startServe(t *testing.T, bin, dir string, count int) *serveManifest {
	t.Helper()
	return serveWith(t, exec.Command(bin, "--serve", "-o", "json", "--count", strconv.Itoa(count), dir))
}

// serveWith runs cmd, a `udsls --serve -o json` (perhaps behind unshare or
// a shell), until the test ends, when it gets SIGTERM, and returns the
// manifest it prints.
func serveWith(t *testing.T, cmd *exec.Cmd) *serveManifest {
	t.Helper()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	})
	var m serveManifest
	if err := json.NewDecoder(bufio.NewReader(out)).Decode(&m); err != nil {
		t.Fatalf("udsls --serve manifest: %v", err)
	}
	return &m
}

// hugeProcNetUnix writes /proc/net/unix records until size bytes: stream,
// datagram and seqpacket sockets, listening, connected and unconnected,
// unnamed, abstract, and a few names holding a newline. It returns the
// file and the name of each socket.
func hugeProcNetUnix(size int) ([]byte, []string) {
	var b bytes.Buffer
	b.WriteString(procNetUnixHeader + "\n")
	var paths []string
	for i := 1; b.Len() < size; i++ {
		typ, st, flags := []string{"0001", "0002", "0005"}[i%3], "01", "00000000"
		switch i % 4 {
		case 0:
			st = "03"
		case 1:
			if typ != "0002" {
				flags = "00010000"
			}
		}
		var path string
		switch {
		case i%10 == 0:
		case i%10 == 1:
			path = fmt.Sprintf("@/tmp/.X11-unix/X%d", i)
		case i%500 == 7:
			path = fmt.Sprintf("/run/app/nl-%d\n continued", i)
		default:
			path = fmt.Sprintf("/run/user/1000/app-%07d/some-service.sock", i)
		}
		fmt.Fprintf(&b, "0000000000000000: 00000002 00000000 %s %s %s %5d", flags, typ, st, i)
		if path != "" {
			b.WriteString(" " + path)
		}
		b.WriteByte('\n')
		paths = append(paths, path)
	}
	return b.Bytes(), paths
}

// procNetUnixHeader is the one header unix_seq_show has ever written.
const procNetUnixHeader = "Num       RefCount Protocol Flags    Type St Inode Path"
